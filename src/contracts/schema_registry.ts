/**
 * The schema registry: artifact types by id, each a zod schema or a plain
 * JSON Schema document, with a description and the origin that registered
 * it (`kernel` or a pack name).
 *
 * A type id is `name.vN`, optionally namespaced by its pack
 * (`agent/patch.v1`). The version is part of the identity: `x.v1` and
 * `x.v2` are two types that coexist, and an id, once registered, can never
 * be registered again, from the same origin or another.
 *
 * @example Register a type and validate values against it
 * ```ts
 * import { z } from "zod";
 * import { SchemaRegistry } from "./schema_registry.ts";
 *
 * const registry = new SchemaRegistry();
 * await registry.register({
 *   id: "note.v1",
 *   schema: z.object({ text: z.string() }),
 *   description: "A short note",
 *   origin: "example",
 * });
 * console.assert(registry.validate("note.v1", { text: "hi" }).ok);
 * const result = registry.validate("note.v1", { text: 3 });
 * console.assert(!result.ok && result.issues[0].path === "$.text");
 * ```
 *
 * @module
 */

import type { ValidateFunction } from "ajv";
import type { JsonSchemaCompiler } from "./_json_schema.ts";
import { z } from "zod";
import { jsonIssues } from "../core/canonical_json.ts";
import { NotFoundError, UsageError } from "../core/errors.ts";
import { failure, success } from "../core/issue.ts";
import { Registry } from "../core/registry.ts";
import type { PayloadCheck } from "../store/artifact_store.ts";
import { fromAjvErrors, fromZodIssues } from "./_issues.ts";
import { storedValueIssues } from "./envelope.ts";
import { validationError, type ValidationIssue, type ValidationResult } from "./validation.ts";

/** A JSON Schema document, as parsed JSON. */
export type JsonSchemaDocument = { readonly [keyword: string]: unknown };

/**
 * A zod 4 schema such as `z.object({ … })` (classic or mini). Typed by the
 * one property every zod 4 schema has, so the public API does not expose
 * zod's own types.
 */
export interface ZodSchema {
  /** zod's internals. */
  readonly _zod: unknown;
}

/** What a type can be defined by: a zod schema or a JSON Schema document. */
export type SchemaSource = ZodSchema | JsonSchemaDocument;

/** What {@linkcode SchemaRegistry.register} takes. */
export interface SchemaRegistration {
  /** The type id, `name.vN`, e.g. `gate_result.v1` or `agent/patch.v1`. */
  readonly id: string;
  /** The zod schema or JSON Schema document values of this type must match. */
  readonly schema: SchemaSource;
  /** One line saying what values of this type are. */
  readonly description: string;
  /** Who registers it: `kernel`, or the name of a pack. */
  readonly origin: string;
}

/** A registered type, as the registry reports it. */
export interface RegisteredSchema {
  /** The type id, e.g. `gate_result.v1`. */
  readonly id: string;
  /** The id without its version, e.g. `gate_result`. */
  readonly name: string;
  /** The version number, e.g. `1`. */
  readonly version: number;
  /** One line saying what values of this type are. */
  readonly description: string;
  /** `kernel` or the pack that registered it. */
  readonly origin: string;
  /** Whether it was given as a zod schema or as a JSON Schema document. */
  readonly kind: "zod" | "json_schema";
  /** The type as a JSON Schema document (draft 2020-12 for zod schemas); frozen. */
  readonly jsonSchema: JsonSchemaDocument;
}

/** Options of {@linkcode SchemaRegistry.assertValid}. */
export interface AssertValidOptions {
  /**
   * What is being validated, for the error message.
   * @default {"Value"}
   */
  subject?: string;
}

/** A type id split into its parts. */
export interface SchemaIdParts {
  /** The id without its version, e.g. `agent/patch`. */
  readonly name: string;
  /** The version number, at least 1. */
  readonly version: number;
}

const SCHEMA_ID =
  /^((?:[a-z0-9][a-z0-9_-]*\/)?[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)*)\.v([1-9][0-9]{0,8})$/;
const MAX_ID_LENGTH = 200;
const KNOWN_IDS_SHOWN = 12;

/**
 * Splits a type id into name and version.
 *
 * @example
 * ```ts
 * import { parseSchemaId } from "./schema_registry.ts";
 * const { name, version } = parseSchemaId("agent/test_report.v2");
 * console.assert(name === "agent/test_report" && version === 2);
 * ```
 *
 * @param id A type id such as `gate_result.v1`.
 * @returns Its name and version.
 * @throws {UsageError} When the id is not `name.vN`.
 */
export function parseSchemaId(id: string): SchemaIdParts {
  const match = id.length <= MAX_ID_LENGTH ? SCHEMA_ID.exec(id) : null;
  if (!match) {
    throw new UsageError(
      `Invalid schema id ${JSON.stringify(id.slice(0, 80))}: expected name.vN such as ` +
        "work_order.v1 or pack/name.v2 (lower-case letters, digits, _ and -, at most " +
        `${MAX_ID_LENGTH} characters)`,
    );
  }
  // The pattern has both groups, so a match always holds them.
  return { name: match[1]!, version: Number(match[2]) };
}

interface Compiled {
  readonly kind: RegisteredSchema["kind"];
  readonly jsonSchema: JsonSchemaDocument;
  readonly check: (value: unknown) => ValidationIssue[];
}

interface Entry {
  readonly info: RegisteredSchema;
  readonly check: (value: unknown) => ValidationIssue[];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

function isZodSchema(source: SchemaSource): source is ZodSchema {
  return typeof source === "object" && source !== null && "_zod" in source;
}

/** Artifact types by id, and validation against them. */
export class SchemaRegistry {
  #entries: Registry<Entry> = new Registry<Entry>({
    what: "schema",
    collisionHint: (id) => {
      const { name } = parseSchemaId(id);
      const latest = Math.max(...this.list().filter((s) => s.name === name).map((s) => s.version));
      return `a changed type needs a new id such as ${name}.v${latest + 1}`;
    },
  });
  #compiler?: Promise<JsonSchemaCompiler>;

  /**
   * Registers a type. A zod schema must be exportable as JSON Schema; a JSON
   * Schema document must be plain JSON that Ajv compiles in strict mode.
   * Registering is async because the JSON Schema engine (Ajv) is loaded only
   * when the first JSON Schema document is registered; validating is not.
   *
   * @param registration The id, schema, description and origin.
   * @returns The registered type.
   * @throws {UsageError} When the id is malformed or already registered (the
   * message names both origins), or the schema is unusable.
   */
  async register(registration: SchemaRegistration): Promise<RegisteredSchema> {
    const { id, schema, description, origin } = registration;
    const { name, version } = parseSchemaId(id);
    for (const [field, value] of [["origin", origin], ["description", description]]) {
      if (typeof value !== "string" || value.trim() === "") {
        throw new UsageError(
          `Schema ${id}: expected a non-empty ${field}, got ${JSON.stringify(value)}`,
        );
      }
    }
    this.#entries.assertFree(id, origin);
    const where = `Schema ${id} from origin ${origin}`;
    const { kind, jsonSchema, check } = isZodSchema(schema)
      ? this.#compileZod(where, registration, schema)
      : await this.#compileJsonSchema(where, schema);
    this.#entries.assertFree(id, origin);
    const info: RegisteredSchema = Object.freeze({
      id,
      name,
      version,
      description,
      origin,
      kind,
      jsonSchema: deepFreeze(jsonSchema),
    });
    this.#entries.register(id, { info, check }, { origin });
    return info;
  }

  #compileZod(where: string, registration: SchemaRegistration, source: ZodSchema): Compiled {
    const schema = source as z.ZodType;
    let exported: JsonSchemaDocument;
    try {
      exported = z.toJSONSchema(schema, { io: "input" }) as JsonSchemaDocument;
    } catch (err) {
      throw new UsageError(
        `${where} cannot be exported as JSON Schema: ${(err as Error).message}; ` +
          "use only JSON-representable zod types",
        { cause: err },
      );
    }
    const { $schema, ...rest } = exported;
    const { id: title, description } = registration;
    return {
      kind: "zod",
      jsonSchema: { $schema, title, description, ...rest },
      check: (value) => {
        const result = z.safeParse(schema, value);
        return result.success ? [] : fromZodIssues(result.error.issues, value);
      },
    };
  }

  async #compileJsonSchema(where: string, document: JsonSchemaDocument): Promise<Compiled> {
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
      throw new UsageError(`${where}: expected a zod schema or a JSON Schema object`);
    }
    const [notJson] = jsonIssues(document);
    if (notJson !== undefined) {
      throw new UsageError(
        `${where} is not a plain JSON document: ${notJson.path}: ${notJson.message}`,
      );
    }
    const copy = structuredClone(document) as Record<string, unknown>;
    this.#compiler ??= import("./_json_schema.ts").then((m) => new m.JsonSchemaCompiler());
    const compiler = await this.#compiler;
    let validate: ValidateFunction;
    try {
      validate = compiler.compile(copy);
    } catch (err) {
      throw new UsageError(`${where} is not a valid JSON Schema: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return {
      kind: "json_schema",
      jsonSchema: copy,
      check: (value) => validate(value) ? [] : fromAjvErrors(validate.errors ?? [], value),
    };
  }

  /**
   * Tells whether a type id is registered.
   *
   * @param id The type id.
   * @returns `true` when it is.
   */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /**
   * Looks up a type.
   *
   * @param id The type id.
   * @returns The registered type, or `undefined`.
   */
  get(id: string): RegisteredSchema | undefined {
    return this.#entries.get(id)?.info;
  }

  /**
   * Looks up a type that must exist.
   *
   * @param id The type id.
   * @returns The registered type.
   * @throws {NotFoundError} When no type has that id; the message lists the
   * known ids.
   */
  require(id: string): RegisteredSchema {
    return this.#require(id).info;
  }

  #require(id: string): Entry {
    const entry = this.#entries.get(id);
    if (entry) return entry;
    const ids = this.#entries.ids().sort();
    const shown = ids.slice(0, KNOWN_IDS_SHOWN).join(", ") +
      (ids.length > KNOWN_IDS_SHOWN ? ` and ${ids.length - KNOWN_IDS_SHOWN} more` : "");
    throw new NotFoundError(
      `Unknown schema ${JSON.stringify(id)}: expected one of ${shown || "(none registered)"}` +
        " (see lily schema list)",
    );
  }

  /**
   * Lists every registered type, ordered by id.
   *
   * @returns The registered types.
   */
  list(): RegisteredSchema[] {
    return this.#entries.entries().map((e) => e.value.info).sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : 0
    );
  }

  /**
   * Validates a value against a type. A value JSON cannot represent exactly
   * (NaN, undefined, BigInt, cycles…) fails with those issues alone.
   *
   * @param id The type id.
   * @param value The value, e.g. a parsed payload.
   * @returns The value, or every issue with its JSON path.
   * @throws {NotFoundError} When no type has that id.
   */
  validate(id: string, value: unknown): ValidationResult {
    const entry = this.#require(id);
    const notJson = jsonIssues(value);
    const issues = notJson.length > 0 ? notJson : entry.check(value);
    return issues.length === 0 ? success(value) : failure(issues);
  }

  /**
   * Validates a value and throws when it is invalid.
   *
   * @param id The type id.
   * @param value The value.
   * @param options What to call the value in the error message.
   * @throws {NotFoundError} When no type has that id.
   * @throws {ValidationError} When the value is invalid; the message names
   * the subject, the schema and the JSON path, `issues` holds every issue.
   */
  assertValid(id: string, value: unknown, options: AssertValidOptions = {}): void {
    const result = this.validate(id, value);
    if (result.ok) return;
    const { origin } = this.require(id);
    throw validationError({
      subject: options.subject ?? "Value",
      schemaId: id,
      origin,
      issues: result.issues,
    });
  }

  /**
   * Makes the run store check that validates JSON puts of registered types
   * before anything is written. A stored value may be the bare payload or an
   * envelope (`{schema_id, payload, meta}`) of the same type; types this
   * registry does not know pass through.
   *
   * @returns The check, for `openStore({ checks })` or `addCheck`.
   */
  payloadCheck(): PayloadCheck {
    return (artifactType, value) => {
      const entry = this.#entries.get(artifactType);
      if (!entry) return;
      const issues = storedValueIssues(this, { artifactType, value });
      if (issues.length > 0) {
        throw validationError({
          subject: `Artifact of type ${artifactType}`,
          schemaId: artifactType,
          origin: entry.info.origin,
          issues,
        });
      }
    };
  }
}
