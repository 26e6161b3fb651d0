/**
 * Envelopes: the typed wrapper for structured artifacts. An envelope is
 * `{schema_id, payload, meta}`; it is stored as a JSON artifact whose
 * `artifact_type` is its `schema_id`, so the index records the exact type the
 * payload was validated against. Provenance (producer, inputs, time) lives
 * in the artifact's reference; `meta` carries anything else worth keeping
 * with the payload (labels, notes, the tool's own version).
 *
 * A JSON artifact of a registered type may also hold the bare payload (a
 * work order put with `lily artifact put`, a report a tool wrote); reading
 * it as an envelope presents it with empty `meta`.
 *
 * @example Store a gate result and read it back, validated
 * ```ts
 * import { openContractStore } from "./contract_store.ts";
 *
 * const workspace = await Deno.makeTempDir();
 * const store = await openContractStore(workspace);
 * try {
 *   const { manifest } = await store.runs.create();
 *   const ref = await store.envelopes.put(manifest.run_id, {
 *     schema_id: "gate_result.v1",
 *     payload: {
 *       gate_id: "tests",
 *       step_id: "build",
 *       status: "pass",
 *       reasons: [],
 *       exit_code: 0,
 *       duration_ms: 1200,
 *       stdout_artifact_id: null,
 *       stderr_artifact_id: null,
 *     },
 *     meta: { runner: "command" },
 *   });
 *   console.assert(ref.artifact_type === "gate_result.v1");
 *   const { envelope } = await store.envelopes.get(ref);
 *   console.assert(envelope.meta.runner === "command");
 * } finally {
 *   store.close();
 *   await Deno.remove(workspace, { recursive: true });
 * }
 * ```
 *
 * @module
 */

import type { JsonValue } from "../core/canonical_json.ts";
import { NotFoundError, UsageError } from "../core/errors.ts";
import { issuesOf } from "../core/issue.ts";
import type { ArtifactRef } from "../store/artifact_ref.ts";
import type { ArtifactStore, PutOptions } from "../store/artifact_store.ts";
import { describeFound } from "./_issues.ts";
import type { SchemaRegistry } from "./schema_registry.ts";
import { validationError, type ValidationIssue } from "./validation.ts";

/** Free-form JSON metadata stored with a payload. */
export type EnvelopeMeta = { readonly [key: string]: JsonValue };

/** A typed payload as stored: its schema id, the payload and metadata. */
export interface Envelope<P = unknown> {
  /** The type id the payload is validated against, e.g. `gate_result.v1`. */
  readonly schema_id: string;
  /** The payload. */
  readonly payload: P;
  /** Metadata kept with the payload; `{}` when there is none. */
  readonly meta: EnvelopeMeta;
}

/** What {@linkcode EnvelopeStore.put} takes: `meta` may be left out. */
export interface EnvelopeInput<P = unknown> {
  /** The type id, which becomes the artifact type. */
  readonly schema_id: string;
  /** The payload. */
  readonly payload: P;
  /**
   * Metadata kept with the payload.
   * @default {{}}
   */
  readonly meta?: EnvelopeMeta;
}

/** An envelope read back from the store, with its artifact reference. */
export interface StoredEnvelope<P = unknown> {
  /** The artifact's reference from the index. */
  readonly ref: ArtifactRef;
  /** The envelope, validated against `ref.artifact_type`. */
  readonly envelope: Envelope<P>;
  /** `true` when the artifact held a bare payload, shown with empty `meta`. */
  readonly bare: boolean;
}

/** What {@linkcode EnvelopeStore.put} records besides the envelope. */
export type EnvelopePutOptions = Omit<PutOptions, "type">;

/** A JSON value stored as an artifact of a given type. */
export interface StoredValue {
  /** The artifact type. */
  readonly artifactType: string;
  /** The stored JSON value: an envelope of that type or a bare payload. */
  readonly value: unknown;
}

const ENVELOPE_KEYS = ["meta", "payload", "schema_id"];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Tells whether a value has the shape of an envelope: an object whose keys
 * are exactly `schema_id`, `payload` and `meta`.
 *
 * @param value Any value.
 * @returns `true` for an envelope-shaped object.
 */
export function isEnvelopeShaped(value: unknown): value is Envelope {
  return isPlainObject(value) && Object.keys(value).sort().join() === ENVELOPE_KEYS.join();
}

/**
 * Validates a value stored (or about to be stored) as an artifact of a
 * registered type. An envelope must name that type as its `schema_id`, keep
 * an object in `meta` and hold a valid payload (its issues are reported
 * under `$.payload`); any other value is validated as the bare payload.
 *
 * @param registry The schemas.
 * @param stored The artifact type and the value.
 * @returns Every issue; empty when the value is valid.
 * @throws {NotFoundError} When the type is not registered.
 */
export function storedValueIssues(
  registry: SchemaRegistry,
  stored: StoredValue,
): ValidationIssue[] {
  const { artifactType, value } = stored;
  if (!isEnvelopeShaped(value)) return [...issuesOf(registry.validate(artifactType, value))];
  const issues: ValidationIssue[] = [];
  if (value.schema_id !== artifactType) {
    issues.push({
      code: "schema_id_mismatch",
      path: "$.schema_id",
      message: `expected the artifact type ${JSON.stringify(artifactType)}, got ${
        describeFound(value.schema_id)
      }`,
      expected: JSON.stringify(artifactType),
      found: describeFound(value.schema_id),
    });
  }
  if (!isPlainObject(value.meta)) {
    issues.push({
      code: "invalid_type",
      path: "$.meta",
      message: `expected object, got ${describeFound(value.meta)}`,
      expected: "object",
      found: describeFound(value.meta),
    });
  }
  for (const issue of issuesOf(registry.validate(artifactType, value.payload))) {
    issues.push({ ...issue, path: `$.payload${issue.path.slice(1)}` });
  }
  return issues;
}

/** Puts and gets envelopes in a run store, validating both ways. */
export class EnvelopeStore {
  #artifacts: ArtifactStore;
  #registry: SchemaRegistry;

  /**
   * Creates an envelope store.
   *
   * @param artifacts The artifact store envelopes are kept in.
   * @param registry The schemas envelopes are validated against.
   */
  constructor(artifacts: ArtifactStore, registry: SchemaRegistry) {
    this.#artifacts = artifacts;
    this.#registry = registry;
  }

  /**
   * Validates an envelope and stores it as a JSON artifact whose
   * `artifact_type` is its `schema_id`. Nothing is written when it is
   * invalid.
   *
   * @param runId The run to store it in.
   * @param input The schema id, payload and optional meta.
   * @param options Name, producer and inputs, as for `putJson`.
   * @returns The new artifact's reference.
   * @throws {NotFoundError} When the schema id is not registered.
   * @throws {ValidationError} When the payload or meta is invalid.
   */
  async put<P>(
    runId: string,
    input: EnvelopeInput<P>,
    options: EnvelopePutOptions = {},
  ): Promise<ArtifactRef> {
    const schema = this.#registry.require(input.schema_id);
    const envelope: Envelope<P> = {
      schema_id: input.schema_id,
      payload: input.payload,
      meta: input.meta ?? {},
    };
    const issues = storedValueIssues(this.#registry, { artifactType: schema.id, value: envelope });
    if (issues.length > 0) {
      throw validationError({
        subject: `Envelope of type ${schema.id}`,
        schemaId: schema.id,
        origin: schema.origin,
        issues,
      });
    }
    return await this.#artifacts.putJson(runId, envelope, { ...options, type: schema.id });
  }

  /**
   * Reads a JSON artifact of a registered type as an envelope and validates
   * it against its `artifact_type`.
   *
   * @param ref An artifact id or reference.
   * @returns The reference, the envelope and whether it was stored bare.
   * @throws {UsageError} When the artifact is not a JSON artifact.
   * @throws {NotFoundError} When the artifact, or a schema for its type, does
   * not exist.
   * @throws {ValidationError} When the stored value does not match its type.
   * @throws {IntegrityError} When the stored bytes do not match their hash.
   */
  async get<P = unknown>(ref: ArtifactRef | string): Promise<StoredEnvelope<P>> {
    const stored = await this.#artifacts.get(ref);
    const { artifact_id: id, artifact_type: type, storage_kind: kind } = stored.ref;
    if (kind !== "json") {
      throw new UsageError(
        `Artifact ${id} is a ${kind} artifact; envelopes are stored as json artifacts`,
      );
    }
    const schema = this.#registry.get(type);
    if (!schema) {
      throw new NotFoundError(
        `Artifact ${id} has type ${type}, which no registered schema describes ` +
          "(see lily schema list)",
      );
    }
    const issues = storedValueIssues(this.#registry, { artifactType: type, value: stored.value });
    if (issues.length > 0) {
      throw validationError({
        subject: `Stored artifact ${id}`,
        schemaId: type,
        origin: schema.origin,
        issues,
      });
    }
    const bare = !isEnvelopeShaped(stored.value);
    const envelope = bare ? { schema_id: type, payload: stored.value, meta: {} } : stored.value;
    return { ref: stored.ref, envelope: envelope as Envelope<P>, bare };
  }
}
