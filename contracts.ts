/**
 * Lily's contracts: artifact types as versioned schemas (zod or JSON
 * Schema) in a registry, validation that returns issues or throws them,
 * RFC 8785 canonical JSON and its SHA-256 hash, and envelopes (a typed
 * payload with its schema id and meta) put and read with validation.
 *
 * @example Validate a work order against the kernel's schemas
 * ```ts
 * import { canonicalHash, kernelRegistry } from "@lily/cli/contracts";
 *
 * const registry = await kernelRegistry();
 * const bad = registry.validate("work_order.v1", { goal: 42 });
 * console.assert(!bad.ok && bad.issues[0].path === "$.goal");
 * console.assert(canonicalHash({ b: 1, a: 2 }) === canonicalHash({ a: 2, b: 1 }));
 * ```
 *
 * @module
 */

export {
  type AssertValidOptions,
  type JsonSchemaDocument,
  parseSchemaId,
  type RegisteredSchema,
  type SchemaIdParts,
  type SchemaRegistration,
  SchemaRegistry,
  type SchemaSource,
  type ZodSchema,
} from "./src/contracts/schema_registry.ts";
export {
  type AccessKindV1,
  type ArtifactDigestV1,
  type ArtifactReplacementV1,
  type AttemptCauseV1,
  type EnvironmentSnapshotV1,
  type ExecutorSummaryV1,
  type GateResultV1,
  type GitStateV1,
  KERNEL_SCHEMAS,
  kernelRegistry,
  type PlatformV1,
  type PolicyViolationV1,
  type StepFailureV1,
  type StepRunRecordV1,
  type WorkOrderV1,
} from "./src/contracts/kernel_schemas.ts";
export {
  type JsonFileInput,
  type JsonTextInput,
  validateJsonFile,
  validateJsonText,
  type ValidationIssue,
  type ValidationResult,
} from "./src/contracts/validation.ts";
export { formatIssuePath, type IssuePath, issuesOf } from "./src/core/issue.ts";
export {
  canonicalBytes,
  canonicalHash,
  canonicalJson,
  type JsonValue,
  sha256Hex,
} from "./src/core/canonical_json.ts";
export { type CanonicalForm, canonicalForm } from "./src/contracts/canonical.ts";
export {
  type Envelope,
  type EnvelopeInput,
  type EnvelopeMeta,
  type EnvelopePutOptions,
  EnvelopeStore,
  isEnvelopeShaped,
  type StoredEnvelope,
  type StoredValue,
} from "./src/contracts/envelope.ts";
export {
  type ExportedSchema,
  exportSchemas,
  type ExportSchemasOptions,
  type SchemaIndex,
} from "./src/contracts/schema_export.ts";
