/**
 * The kernel's built-in artifact types: `work_order.v1`,
 * `environment_snapshot.v1`, `step_run_record.v1`, `gate_result.v1`,
 * `step_failure.v1`, `policy_violation.v1`, `artifact_replacement.v1`, and
 * `llm_request.v1` / `llm_reply.v1` (from `llm_exchange_schemas.ts`). Their fields are
 * written down in `docs/schemas.md`.
 *
 * Every object accepts fields it does not name (they are kept as given), so
 * a later kernel can add optional fields to a `.v1` type without breaking
 * artifacts or readers; removing or retyping a field needs a new version.
 *
 * @example Validate a work order
 * ```ts
 * import { kernelRegistry } from "./kernel_schemas.ts";
 * const registry = await kernelRegistry();
 * console.assert(registry.validate("work_order.v1", { goal: "Fix the flaky test" }).ok);
 * const result = registry.validate("work_order.v1", { title: "no goal" });
 * console.assert(!result.ok && result.issues[0].path === "$.goal");
 * ```
 *
 * @module
 */

import { z } from "zod";
import type { Immutable } from "../core/immutable.ts";
import type { AssertTrue, DeclaredFields, SameType } from "../core/same_type.ts";
import { type SchemaRegistration, SchemaRegistry } from "./schema_registry.ts";
import { LLM_EXCHANGE_SCHEMAS } from "./llm_exchange_schemas.ts";

const uuid = () =>
  z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
    error: "expected a lower-case UUID",
  });
const sha256 = () =>
  z.string().regex(/^[0-9a-f]{64}$/, { error: "expected a lower-case hex sha256 (64 digits)" });
const isoTime = () =>
  z.iso.datetime({
    offset: true,
    error: "expected an ISO-8601 time such as 2026-01-31T12:00:00Z",
  });
const text = () => z.string().min(1);
const count = () => z.int().min(0);

/** `work_order.v1`: what a run is asked to do. Only `goal` is required. */
export interface WorkOrderV1 {
  /** What the run must achieve, in words. */
  readonly goal: string;
  /** A short title. */
  readonly title?: string;
  /** Background the work needs: the situation, links, prior attempts. */
  readonly context?: string;
  /** Conditions the result must meet to count as done. */
  readonly acceptance_criteria?: readonly string[];
  /**
   * Limits the work must respect: rules in words (`["do not touch src/db"]`)
   * or named limits (`{ "max_iterations": 3 }`).
   */
  readonly constraints?: readonly string[] | { readonly [name: string]: unknown };
  /** Named input values for the workflow. */
  readonly inputs?: { readonly [name: string]: unknown };
  /** The workflow to run, as a path or id. */
  readonly workflow?: string;
}

/** The zod schema of `work_order.v1`. */
const WorkOrderV1Schema = z.looseObject({
  goal: text().describe("What the run must achieve, in words"),
  title: text().optional().describe("A short title"),
  context: z.string().optional().describe("Background the work needs"),
  acceptance_criteria: z.array(text()).optional()
    .describe("Conditions the result must meet to count as done"),
  constraints: z.union([z.array(text()), z.record(z.string(), z.unknown())]).optional()
    .describe("Limits the work must respect: rules in words, or named limits"),
  inputs: z.record(z.string(), z.unknown()).optional()
    .describe("Named input values for the workflow"),
  workflow: text().optional().describe("The workflow to run, as a path or id"),
});

/** Where a snapshot was taken: operating system and CPU. */
export interface PlatformV1 {
  /** The operating system, as `Deno.build.os` names it (`linux`, `darwin`…). */
  readonly os: string;
  /** The CPU architecture, as `Deno.build.arch` names it (`x86_64`, `aarch64`). */
  readonly arch: string;
  /** The full target triple, as `Deno.build.target`. */
  readonly target?: string;
}

/** `environment_snapshot.v1`: what a run ran on, taken once at its start. */
export interface EnvironmentSnapshotV1 {
  /** When the snapshot was taken (ISO-8601). */
  readonly captured_at: string;
  /** The Lily kernel version. */
  readonly kernel_version: string;
  /** `Deno.version.deno`. */
  readonly deno_version: string;
  /** `Deno.version.v8`. */
  readonly v8_version: string;
  /** `Deno.version.typescript`. */
  readonly typescript_version: string;
  /** Operating system and CPU. */
  readonly platform: PlatformV1;
  /** The OS kernel's release (`Deno.osRelease()`, e.g. `6.1.0-18-amd64`); `null` when unreadable. */
  readonly os_release: string | null;
  /** sha256 of the workspace's `deno.lock`; `null` when there is none. */
  readonly deno_lock_sha256: string | null;
  /** First line of `bwrap --version` when the run is sandboxed and bubblewrap is found; else `null`. */
  readonly bubblewrap_version: string | null;
  /** The workspace's git state; absent when the workspace is not in a git work tree or git is missing. */
  readonly git?: GitStateV1;
}

/** A git work tree's state. */
export interface GitStateV1 {
  /** `HEAD`'s commit; `null` before the first commit. */
  readonly commit: string | null;
  /** Whether tracked files differ from `HEAD` (untracked files do not count). */
  readonly dirty: boolean;
}

/** The zod schema of `environment_snapshot.v1`. */
const EnvironmentSnapshotV1Schema = z.looseObject({
  captured_at: isoTime().describe("When the snapshot was taken"),
  kernel_version: text().describe("The Lily kernel version"),
  deno_version: text().describe("Deno.version.deno"),
  v8_version: text().describe("Deno.version.v8"),
  typescript_version: text().describe("Deno.version.typescript"),
  platform: z.looseObject({
    os: text().describe("Deno.build.os"),
    arch: text().describe("Deno.build.arch"),
    target: text().optional().describe("Deno.build.target"),
  }).describe("Operating system and CPU"),
  os_release: text().nullable().describe("Deno.osRelease(): the OS kernel's release"),
  deno_lock_sha256: sha256().nullable()
    .describe("sha256 of the workspace's deno.lock; null when there is none"),
  bubblewrap_version: text().nullable()
    .describe("First line of bwrap --version when the run is sandboxed; else null"),
  git: z.looseObject({
    commit: z.string().regex(/^[0-9a-f]{40,64}$/).nullable()
      .describe("HEAD's commit; null before the first commit"),
    dirty: z.boolean().describe("Whether tracked files differ from HEAD"),
  }).optional().describe("The workspace's git state; absent outside a git work tree"),
});

/** An artifact an attempt read or wrote, with the hash it had. */
export interface ArtifactDigestV1 {
  /** The step's name for this input or output (`stdout`/`stderr` for logs). */
  readonly name: string;
  /** The artifact id. */
  readonly artifact_id: string;
  /** The artifact's sha256 as recorded in the index at production (`null`: an input the index lacked). */
  readonly sha256: string | null;
}

/** How an attempt was executed, with secrets redacted. */
export interface ExecutorSummaryV1 {
  /** The executor kind: `command`, `deno`, `fn`, `llm`, or a pack's. */
  readonly kind: string;
  /** The program and its arguments, for process executors. */
  readonly argv?: readonly string[];
  /** The working directory. */
  readonly cwd?: string;
  /** The attempt's environment by name, secret values replaced by `[REDACTED:NAME]`. */
  readonly env?: { readonly [name: string]: string };
  /** The rest of the executor's own summary (sandbox, module, flags, …), redacted. */
  readonly details?: { readonly [key: string]: unknown };
}

/** Why an attempt started. */
export type AttemptCauseV1 =
  | "first"
  | "retry"
  | "resume"
  | "route"
  | "rerun"
  | "replace"
  | "cached";

/** `step_run_record.v1`: one attempt of one step, written once when the attempt is settled. */
export interface StepRunRecordV1 {
  /** The run. */
  readonly run_id: string;
  /** The step id. */
  readonly step_id: string;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /** Why it started; `null` for journals older than causes. */
  readonly cause: AttemptCauseV1 | null;
  /** The attempt it supersedes (a rerun or replacement), or `null`. */
  readonly supersedes: number | null;
  /**
   * The attempt whose outputs a cached attempt reused (cause `cached`): its
   * run, step and attempt number.
   */
  readonly cached_from?: { readonly run: string; readonly step: string; readonly attempt: number };
  /** How the attempt ended, named as the journal's `attempt_finished` names it. */
  readonly status: "succeeded" | "failed" | "timeout" | "cancelled" | "interrupted";
  /** When it started (ISO-8601). */
  readonly started_at: string;
  /** When it ended (ISO-8601). */
  readonly ended_at: string;
  /** How long it ran, in milliseconds, on the monotonic clock. */
  readonly duration_ms: number;
  /** How it was executed. */
  readonly executor: ExecutorSummaryV1;
  /** The artifacts it read, with their hashes. */
  readonly inputs: readonly ArtifactDigestV1[];
  /** The artifacts it committed, with their hashes. */
  readonly outputs: readonly ArtifactDigestV1[];
  /** Its captured stdout and stderr, with their hashes. */
  readonly logs: readonly ArtifactDigestV1[];
  /** Ids of the `gate_result.v1` artifacts that judged it. */
  readonly gate_result_ids: readonly string[];
  /** Ids of the `policy_violation.v1` artifacts it caused. */
  readonly policy_violation_ids: readonly string[];
  /** The process exit code; `null` when there was no process or it was killed. */
  readonly exit_code: number | null;
  /** How many retries in a row led to this attempt (0 when it did not start as a retry). */
  readonly retry_count: number;
  /** Id of the run's `environment_snapshot.v1` artifact, when there is one. */
  readonly environment_snapshot_id: string | null;
  /** Why the attempt failed, when it did (secrets redacted). */
  readonly error?: string;
  /** Token usage of an `llm` attempt. */
  readonly usage?: { readonly input_tokens: number; readonly output_tokens: number };
}

const artifactDigest = () =>
  z.looseObject({
    name: text().describe("The step's name for this input or output"),
    artifact_id: uuid().describe("The artifact id"),
    sha256: sha256().nullable().describe("The artifact's sha256 as indexed at production"),
  });

/** The zod schema of `step_run_record.v1`. */
const StepRunRecordV1Schema = z.looseObject({
  run_id: uuid().describe("The run"),
  step_id: text().describe("The step id"),
  attempt: z.int().min(1).describe("The attempt number, from 1"),
  cause: z.enum(["first", "retry", "resume", "route", "rerun", "replace", "cached"]).nullable()
    .describe("Why it started"),
  supersedes: z.int().min(1).nullable().describe("The attempt it supersedes"),
  cached_from: z.strictObject({
    run: z.string().describe("The run of the attempt reused"),
    step: z.string().describe("Its step"),
    attempt: z.int().min(1).describe("Its attempt number"),
  }).optional().describe("The attempt whose outputs a cached attempt reused"),
  status: z.enum(["succeeded", "failed", "timeout", "cancelled", "interrupted"])
    .describe("How the attempt ended"),
  started_at: isoTime().describe("When it started"),
  ended_at: isoTime().describe("When it ended"),
  duration_ms: z.number().min(0).describe("How long it ran, in ms, on the monotonic clock"),
  executor: z.looseObject({
    kind: text().describe("command, deno, fn, llm, or a pack's executor"),
    argv: z.array(z.string()).optional().describe("The program and its arguments"),
    cwd: z.string().optional().describe("The working directory"),
    env: z.record(z.string(), z.string()).optional()
      .describe("The environment by name, secrets redacted"),
    details: z.record(z.string(), z.unknown()).optional()
      .describe("The rest of the executor's summary"),
  }).describe("How it was executed"),
  inputs: z.array(artifactDigest()).describe("The artifacts it read, with their hashes"),
  outputs: z.array(artifactDigest()).describe("The artifacts it committed, with their hashes"),
  logs: z.array(artifactDigest()).describe("Its captured stdout and stderr, with their hashes"),
  gate_result_ids: z.array(uuid()).describe("Ids of the gate_result.v1 artifacts that judged it"),
  policy_violation_ids: z.array(uuid())
    .describe("Ids of the policy_violation.v1 artifacts it caused"),
  exit_code: z.int().nullable()
    .describe("The process exit code; null when there was no process or it was killed"),
  retry_count: count().describe("How many retries in a row led to this attempt"),
  environment_snapshot_id: uuid().nullable()
    .describe("Id of the run's environment_snapshot.v1 artifact"),
  error: text().optional().describe("Why the attempt failed, when it did"),
  usage: z.looseObject({
    input_tokens: count().describe("Prompt tokens"),
    output_tokens: count().describe("Completion tokens"),
  }).optional().describe("Token usage of an llm attempt"),
});

/** `gate_result.v1`: one gate's verdict on one step. */
export interface GateResultV1 {
  /** The gate id. */
  readonly gate_id: string;
  /** The step the gate judged. */
  readonly step_id: string;
  /** The verdict (`cancelled`: the run was cancelled while the gate ran). */
  readonly status: "pass" | "fail" | "error" | "skipped" | "cancelled";
  /** Whether the step needs this gate to pass (`false`: a warning only). */
  readonly required?: boolean;
  /** Why, in words; empty when there is nothing to say. */
  readonly reasons: readonly string[];
  /** The runner's exit code; `null` when it did not exit by itself. */
  readonly exit_code: number | null;
  /** How long the gate ran, in milliseconds. */
  readonly duration_ms: number;
  /** Id of the artifact holding the captured stdout. */
  readonly stdout_artifact_id: string | null;
  /** Id of the artifact holding the captured stderr. */
  readonly stderr_artifact_id: string | null;
  /**
   * `gates_only`: a dry run of the gates (`lily run rerun --gates-only`),
   * which decided nothing in the run; absent for the run's own gate runs.
   */
  readonly evaluation?: "gates_only";
}

/** The zod schema of `gate_result.v1`. */
const GateResultV1Schema = z.looseObject({
  gate_id: text().describe("The gate id"),
  step_id: text().describe("The step the gate judged"),
  status: z.enum(["pass", "fail", "error", "skipped", "cancelled"]).describe("The verdict"),
  required: z.boolean().optional().describe("Whether the step needs this gate to pass"),
  reasons: z.array(z.string()).describe("Why, in words"),
  exit_code: z.int().nullable().describe("The runner's exit code"),
  duration_ms: count().describe("How long the gate ran, in milliseconds"),
  stdout_artifact_id: uuid().nullable().describe("Id of the captured stdout artifact"),
  stderr_artifact_id: uuid().nullable().describe("Id of the captured stderr artifact"),
  evaluation: z.literal("gates_only").optional().describe(
    "gates_only: a dry run of the gates that decided nothing in the run",
  ),
});

/** The kinds of access a policy governs, named as Deno's permissions. */
export type AccessKindV1 =
  | "read"
  | "write"
  | "net"
  | "env"
  | "run"
  | "path"
  | "sys"
  | "ffi"
  | "import";

/** `policy_violation.v1`: an access a step attempted and was not allowed. */
export interface PolicyViolationV1 {
  /** The run. */
  readonly run_id: string;
  /** The step that attempted it (for a gate, the step the gate judged). */
  readonly step_id: string;
  /** The gate that attempted it, when a gate did. */
  readonly gate_id?: string;
  /** The attempt, from 1. */
  readonly attempt: number;
  /** What kind of access it was. */
  readonly kind: AccessKindV1;
  /** The path, host, program or variable it was for. */
  readonly target: string;
  /** Who refused it. */
  readonly decided_by: "flags" | "broker" | "sandbox" | "proxy" | "kernel";
  /** What happened, in words. */
  readonly message: string;
  /** When it happened (ISO-8601). */
  readonly occurred_at: string;
}

/** The zod schema of `policy_violation.v1`. */
const PolicyViolationV1Schema = z.looseObject({
  run_id: uuid().describe("The run"),
  step_id: text().describe("The step that attempted it (for a gate, the step it judged)"),
  gate_id: text().optional().describe("The gate that attempted it, when a gate did"),
  attempt: z.int().min(1).describe("The attempt, from 1"),
  kind: z.enum(["read", "write", "net", "env", "run", "path", "sys", "ffi", "import"])
    .describe("What kind of access it was"),
  target: text().describe("The path, host, program or variable it was for"),
  decided_by: z.enum(["flags", "broker", "sandbox", "proxy", "kernel"]).describe(
    "Who refused it",
  ),
  message: text().describe("What happened, in words"),
  occurred_at: isoTime().describe("When it happened"),
});

/** `artifact_replacement.v1`: an artifact swapped for another in a run. */
export interface ArtifactReplacementV1 {
  /** The artifact that was replaced (it stays in the store). */
  readonly original_artifact_id: string;
  /** The artifact that takes its place downstream. */
  readonly replacement_artifact_id: string;
  /** Why, in words. */
  readonly reason: string;
  /** When (ISO-8601). */
  readonly replaced_at: string;
  /** Who replaced it. */
  readonly replaced_by?: string;
  /** The run the replacement applies to. */
  readonly run_id?: string;
  /** The steps it reset: those that read the original and everything downstream. */
  readonly reset_steps?: readonly string[];
}

/** The zod schema of `artifact_replacement.v1`. */
const ArtifactReplacementV1Schema = z.looseObject({
  original_artifact_id: uuid().describe("The artifact that was replaced"),
  replacement_artifact_id: uuid().describe("The artifact that takes its place downstream"),
  reason: text().describe("Why, in words"),
  replaced_at: isoTime().describe("When"),
  replaced_by: text().optional().describe("Who replaced it"),
  run_id: uuid().optional().describe("The run the replacement applies to"),
  reset_steps: z.array(text()).optional().describe(
    "The steps it reset: those that read the original and everything downstream",
  ),
});

/** `step_failure.v1`: a step's failed attempt, handed to a route's target as `feedback`. */
export interface StepFailureV1 {
  /** The step that failed. */
  readonly step_id: string;
  /** Its failed attempt. */
  readonly attempt: number;
  /** How the attempt ended (`succeeded` when only its required gates failed). */
  readonly status: "succeeded" | "failed" | "timeout";
  /** The process's exit code; `null` when there was none. */
  readonly exit_code: number | null;
  /** Why it failed, in words. */
  readonly message: string | null;
  /** Id of the artifact holding the captured stdout. */
  readonly stdout_artifact_id: string | null;
  /** Id of the artifact holding the captured stderr. */
  readonly stderr_artifact_id: string | null;
  /** Ids of the `gate_result.v1` artifacts that judged it. */
  readonly gate_result_ids: readonly string[];
}

/** The zod schema of `step_failure.v1`. */
const StepFailureV1Schema = z.looseObject({
  step_id: text().describe("The step that failed"),
  attempt: z.int().min(1).describe("Its failed attempt"),
  status: z.enum(["succeeded", "failed", "timeout"])
    .describe("How the attempt ended (succeeded: only its required gates failed)"),
  exit_code: z.int().nullable().describe("The process's exit code"),
  message: z.string().nullable().describe("Why it failed, in words"),
  stdout_artifact_id: uuid().nullable().describe("The artifact holding the captured stdout"),
  stderr_artifact_id: uuid().nullable().describe("The artifact holding the captured stderr"),
  gate_result_ids: z.array(uuid()).describe("Ids of the gate_result.v1 artifacts that judged it"),
});

// Each documented type is exactly the fields its schema declares: a field
// added, renamed or retyped in one and not the other fails type-checking.
type Schema<S extends z.ZodType> = Immutable<DeclaredFields<z.infer<S>>>;
type _TypesMatchSchemas = [
  AssertTrue<SameType<WorkOrderV1, Schema<typeof WorkOrderV1Schema>>>,
  AssertTrue<SameType<EnvironmentSnapshotV1, Schema<typeof EnvironmentSnapshotV1Schema>>>,
  AssertTrue<SameType<StepRunRecordV1, Schema<typeof StepRunRecordV1Schema>>>,
  AssertTrue<SameType<GateResultV1, Schema<typeof GateResultV1Schema>>>,
  AssertTrue<SameType<PolicyViolationV1, Schema<typeof PolicyViolationV1Schema>>>,
  AssertTrue<SameType<ArtifactReplacementV1, Schema<typeof ArtifactReplacementV1Schema>>>,
  AssertTrue<SameType<StepFailureV1, Schema<typeof StepFailureV1Schema>>>,
];

/** The kernel's built-in types, as registered by {@linkcode kernelRegistry}. */
export const KERNEL_SCHEMAS: readonly SchemaRegistration[] = [
  {
    id: "work_order.v1",
    schema: WorkOrderV1Schema,
    description: "What a run is asked to do: a goal, with optional context and criteria",
    origin: "kernel",
  },
  {
    id: "environment_snapshot.v1",
    schema: EnvironmentSnapshotV1Schema,
    description: "Deno, V8, TypeScript, platform, kernel version and deno.lock hash of a run",
    origin: "kernel",
  },
  {
    id: "step_run_record.v1",
    schema: StepRunRecordV1Schema,
    description: "One attempt of one step: timing, executor, inputs and outputs with hashes",
    origin: "kernel",
  },
  {
    id: "gate_result.v1",
    schema: GateResultV1Schema,
    description: "One gate's verdict on one step: status, reasons, exit code, captured output",
    origin: "kernel",
  },
  {
    id: "step_failure.v1",
    schema: StepFailureV1Schema,
    description: "A step's failed attempt, handed to a route's target as its input feedback",
    origin: "kernel",
  },
  {
    id: "policy_violation.v1",
    schema: PolicyViolationV1Schema,
    description: "An access a step attempted that its policy does not allow",
    origin: "kernel",
  },
  {
    id: "artifact_replacement.v1",
    schema: ArtifactReplacementV1Schema,
    description: "An artifact replaced by another in a run, with the reason and time",
    origin: "kernel",
  },
  ...LLM_EXCHANGE_SCHEMAS,
];

/**
 * Makes a registry holding the kernel's built-in types. Each call returns a
 * new registry, so packs can add theirs without affecting other users.
 *
 * @returns A registry with {@linkcode KERNEL_SCHEMAS} registered.
 */
export async function kernelRegistry(): Promise<SchemaRegistry> {
  const registry = new SchemaRegistry();
  for (const registration of KERNEL_SCHEMAS) await registry.register(registration);
  return registry;
}
