/**
 * Writing every registered type out as a JSON Schema file, for editors,
 * other languages and review: one `<id>.schema.json` per type (a pack
 * namespace becomes a folder) and an `index.json` listing them.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { storageError } from "../core/storage_error.ts";
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
 * @throws {UsageError} When `dir`, or a file in it Lily writes, is a file where a directory must be.
 * @throws {StorageError} When the file system refuses otherwise (a missing parent under `/proc`,
 * a denied permission, a full disk); the message names the path.
 */
export async function exportSchemas(
  registry: SchemaRegistry,
  options: ExportSchemasOptions,
): Promise<SchemaIndex> {
  await writeExported(options.dir, undefined);
  const schemas: ExportedSchema[] = [];
  for (const schema of registry.list()) {
    const file = schemaFile(schema.id);
    await writeExported(join(options.dir, file), JSON.stringify(schema.jsonSchema, null, 2) + "\n");
    const { id, origin, description, kind } = schema;
    schemas.push({ id, origin, description, kind, file });
  }
  const index: SchemaIndex = { kernel_version: KERNEL_VERSION, schemas };
  await writeExported(join(options.dir, "index.json"), JSON.stringify(index, null, 2) + "\n");
  return index;
}

/**
 * Creates a directory (`text` undefined) or writes a file with its parent
 * directories. A file in the way of a directory is the user's to move (a
 * usage error); any other refusal is the file system's (a storage error).
 */
async function writeExported(path: string, text: string | undefined): Promise<void> {
  const dir = text === undefined ? path : dirname(path);
  try {
    await Deno.mkdir(dir, { recursive: true });
    if (text !== undefined) await Deno.writeTextFile(path, text);
  } catch (err) {
    if (
      err instanceof Deno.errors.AlreadyExists || err instanceof Deno.errors.NotADirectory ||
      err instanceof Deno.errors.IsADirectory
    ) {
      throw new UsageError(
        `Cannot export schemas to ${path}: it, or a directory above it, is a file where a ` +
          "directory must be (or a directory where a file must be); give --out a directory",
        { cause: err },
      );
    }
    throw storageError(
      err,
      text === undefined ? dir : path,
      text === undefined ? "create" : "write",
    );
  }
}
