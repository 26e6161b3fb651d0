/**
 * Writing every registered type out as a JSON Schema file, for editors,
 * other languages and review: one `<id>.schema.json` per type (a pack
 * namespace becomes a folder) and an `index.json` listing them.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { dirname, join } from "node:path";
import { KERNEL_VERSION } from "../core/version.ts";
import type { SchemaRegistry } from "./schema_registry.ts";

/** Options of {@linkcode exportSchemas}. */
export interface ExportSchemasOptions {
  /** The directory to write into; created when missing. */
  readonly dir: string;
}

/** One exported type, as listed in `index.json`. */
export interface ExportedSchema {
  /** The type id. */
  readonly id: string;
  /** `kernel` or the pack that registered it. */
  readonly origin: string;
  /** What values of this type are. */
  readonly description: string;
  /** Whether it was given as a zod schema or a JSON Schema document. */
  readonly kind: "zod" | "json_schema";
  /** The file, relative to the export directory. */
  readonly file: string;
}

/** The content of `index.json`. */
export interface SchemaIndex {
  /** The kernel version that wrote it. */
  readonly kernel_version: string;
  /** Every exported type, ordered by id. */
  readonly schemas: readonly ExportedSchema[];
}

/** The file name of a type's JSON Schema in an export. */
function schemaFile(id: string): string {
  return `${id}.schema.json`;
}

/**
 * Writes one `<id>.schema.json` per registered type and an `index.json`.
 * Files from an earlier export are overwritten.
 *
 * @param registry The schemas.
 * @param options Where to write.
 * @returns The index as written.
 * @throws {UsageError} When the directory cannot be created (e.g. it is a file).
 */
export async function exportSchemas(
  registry: SchemaRegistry,
  options: ExportSchemasOptions,
): Promise<SchemaIndex> {
  try {
    await Deno.mkdir(options.dir, { recursive: true });
  } catch (err) {
    throw new UsageError(
      `Cannot export schemas to ${options.dir}: ${(err as Error).message}; expected a directory`,
      { cause: err },
    );
  }
  const schemas: ExportedSchema[] = [];
  for (const schema of registry.list()) {
    const file = schemaFile(schema.id);
    const path = join(options.dir, file);
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(path, JSON.stringify(schema.jsonSchema, null, 2) + "\n");
    const { id, origin, description, kind } = schema;
    schemas.push({ id, origin, description, kind, file });
  }
  const index: SchemaIndex = { kernel_version: KERNEL_VERSION, schemas };
  await Deno.mkdir(options.dir, { recursive: true });
  await Deno.writeTextFile(join(options.dir, "index.json"), JSON.stringify(index, null, 2) + "\n");
  return index;
}
