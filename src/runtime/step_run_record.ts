/**
 * The `step_run_record.v1` of an attempt, shaped from the folded run state
 * (pure): when an attempt is settled enough to be recorded, and what its
 * record says. `attempt_recorder.ts` stores it.
 *
 * @module
 */

import type { StepRunRecordV1 } from "../contracts/kernel_schemas.ts";
import type { Redactor } from "../core/redaction.ts";
import type { AttemptState, RunState, StepState } from "./run_events.ts";

/** The artifact type of an attempt's record. */
export const STEP_RUN_RECORD_TYPE = "step_run_record.v1";

/**
 * Whether an attempt is settled and still lacks its record: it ended, and —
 * when it succeeded and its step has gates — its gates are decided (the step
 * finished, a route or retry followed, a later attempt started, or every gate
 * has a result that no cancel stopped and none waits for a person).
 *
 * @param step The step's state.
 * @param attempt One of its attempts.
 * @param gateIds The ids of the step's gates.
 * @returns `true` when the record should be written now.
 */
export function recordDue(
  step: StepState,
  attempt: AttemptState,
  gateIds: readonly string[],
): boolean {
  if (attempt.record !== null || attempt.status === "running") return false;
  if (attempt.status !== "succeeded" || gateIds.length === 0) return true;
  if (step.attempts.at(-1) !== attempt || attempt.retry !== undefined || step.routed) return true;
  if (step.status === "succeeded" || step.status === "failed") return true;
  return attempt.waiting_on === null &&
    gateIds.every((id) =>
      attempt.gates[id] !== undefined && attempt.gates[id].status !== "cancelled"
    );
}

/** How many retries in a row led to this attempt (resumes neither count nor break the run of retries). */
function retryCount(step: StepState, attempt: AttemptState): number {
  let count = 0;
  for (const a of step.attempts.filter((a) => a.attempt <= attempt.attempt).reverse()) {
    if (a.cause === "retry") count++;
    else if (a.cause !== "resume") break;
  }
  return count;
}

/** What an attempt supersedes (a rerun or a replacement) and, when cached, whose outputs it reused. */
function lineage(attempt: AttemptState): Pick<StepRunRecordV1, "supersedes" | "cached_from"> {
  return {
    supersedes: attempt.supersedes ?? null,
    ...(attempt.cached_from ? { cached_from: { ...attempt.cached_from } } : {}),
  };
}

/** The executor summary of a record: kind, argv, cwd, env (redacted), the rest as details. */
function executorSummary(
  summary: Readonly<Record<string, unknown>>,
  kind: string,
  redactor: Redactor,
): StepRunRecordV1["executor"] {
  const { executor, argv, cwd, env, ...details } = summary;
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  return {
    kind: typeof executor === "string" && executor !== "" ? executor : kind,
    ...(strings(argv) ? { argv: redactor.value(argv as string[]) } : {}),
    ...(typeof cwd === "string" ? { cwd: redactor.text(cwd) } : {}),
    ...(env !== null && typeof env === "object"
      ? { env: redactor.env(env as Record<string, string>) }
      : {}),
    ...(Object.keys(details).length > 0 ? { details: redactor.value(details) } : {}),
  };
}

/** What the shell looked up for a record: the indexed sha256 of each artifact id. */
export type DigestLookup = (artifactId: string) => string | null;

/**
 * Shapes an attempt's `step_run_record.v1`.
 *
 * @param state The run state (the attempt has ended).
 * @param where The step and attempt, the executor kind its spec names, the
 *   indexed hashes of its outputs and logs, and the run's redactor.
 * @returns The record.
 */
export function stepRunRecord(
  state: RunState,
  where: {
    readonly step: string;
    readonly attempt: number;
    readonly kind: string;
    readonly sha256Of: DigestLookup;
    readonly redactor: Redactor;
  },
): StepRunRecordV1 {
  const step = state.steps[where.step];
  const attempt = step.attempts.find((a) => a.attempt === where.attempt)!;
  const digests = (ids: Readonly<Record<string, string>>) =>
    Object.entries(ids).map(([name, id]) => ({
      name,
      artifact_id: id,
      sha256: where.sha256Of(id),
    }));
  return {
    run_id: state.run_id,
    step_id: where.step,
    attempt: attempt.attempt,
    cause: attempt.cause,
    ...lineage(attempt),
    status: attempt.status === "running" ? "interrupted" : attempt.status,
    started_at: attempt.started_at,
    ended_at: attempt.ended_at ?? attempt.started_at,
    duration_ms: attempt.duration_ms ?? 0,
    executor: executorSummary(attempt.executor, where.kind, where.redactor),
    inputs: Object.entries(attempt.inputs).map(([name, input]) => ({
      name,
      artifact_id: input.artifact_id,
      sha256: input.sha256,
    })),
    outputs: digests(attempt.outputs),
    logs: digests(attempt.logs),
    gate_result_ids: Object.values(attempt.gates).map((g) => g.result_id),
    policy_violation_ids: [...(attempt.violations ?? [])],
    exit_code: attempt.exit_code,
    retry_count: retryCount(step, attempt),
    environment_snapshot_id: state.environment_snapshot,
    ...(attempt.message ? { error: where.redactor.text(attempt.message) } : {}),
    ...(attempt.usage ? { usage: { ...attempt.usage } } : {}),
  };
}
