/**
 * The run loop's decisions, as pure functions of data: where a step resumes,
 * whether a failed attempt is retried and after how long, whether a step's
 * gates let it succeed, the warnings of its optional gates, why it failed,
 * and how the run ends. The run loop asks, journals, and acts; nothing here
 * reads a clock, a file or the environment, so every rule is tested as a
 * table without a disk.
 *
 * @module
 */

import { retryDelayMs } from "../graph/retry_delay.ts";
import { jitteredDelayMs, type JitterSeed } from "../policy/retry_jitter.ts";
import type { GateSpec, RetrySpec } from "../graph/workflow.ts";
import type {
  AttemptCause,
  AttemptState,
  GateRecord,
  RunEndStatus,
  StepState,
} from "./run_events.ts";

/** Where a step picks up when the runner (re)starts it. */
export type StepStart =
  /** It waits on a person: evaluate its last attempt's gates again. */
  | { readonly kind: "await_decision"; readonly attempt: AttemptState }
  /**
   * Its last attempt succeeded but its gates did not all finish (a crash or
   * a cancel while they ran): run its undecided gates, not the step.
   */
  | { readonly kind: "finish_gates"; readonly attempt: AttemptState }
  /**
   * Its last attempt failed and the runner died before deciding what
   * follows (a retry, a route or the step's failure): decide that now, from
   * the folded counters.
   */
  | { readonly kind: "decide_failure"; readonly attempt: AttemptState }
  /** Start a new attempt with this number, for this cause. */
  | { readonly kind: "new_attempt"; readonly attempt: number; readonly cause: AttemptCause };

/**
 * Decides where a ready step starts.
 *
 * @param step The step's state.
 * @returns What to do first.
 */
export function stepStart(step: StepState): StepStart {
  const last = step.attempts.at(-1);
  if (step.status === "waiting" && last) return { kind: "await_decision", attempt: last };
  if ((step.status === "running" || step.status === "cancelled") && last?.status === "succeeded") {
    return { kind: "finish_gates", attempt: last };
  }
  if (step.status === "running" && (last?.status === "failed" || last?.status === "timeout")) {
    return { kind: "decide_failure", attempt: last };
  }
  const cause = last === undefined
    ? "first"
    : step.reset_cause ?? (step.routed ? "route" : "resume");
  return { kind: "new_attempt", attempt: (last?.attempt ?? 0) + 1, cause };
}

/**
 * How many attempts of a step count against its retry budget: those since
 * its budget began (`retry_from`) that failed, timed out, or succeeded with
 * a required gate that did not pass. Interrupted and cancelled attempts do
 * not count. Folded from the journal, so a resume continues the count.
 *
 * @param step The step's state.
 * @returns The number of failures.
 */
export function failuresSoFar(step: StepState): number {
  return step.attempts.filter((a) =>
    a.attempt >= step.retry_from &&
    (a.status === "failed" || a.status === "timeout" ||
      (a.status === "succeeded" && Object.values(a.gates).some(blocks)))
  ).length;
}

/** What follows an attempt (or its gates) that did not succeed. */
export type AfterFailure =
  | { readonly kind: "finish"; readonly status: "cancelled" }
  /** `reason`: why the retry rules did not retry it, when they had a say. */
  | { readonly kind: "finish"; readonly status: "failed"; readonly reason: string | null }
  | { readonly kind: "retry"; readonly delayMs: number; readonly reason: string };

/** A failed attempt, as the retry rules see it. */
export interface FailedAttempt {
  /** How it ended. */
  readonly outcome: "failed" | "timeout";
  /** How many attempts count against the budget so far, this one included. */
  readonly failures: number;
  /** Whether the run is being cancelled. */
  readonly cancelled: boolean;
  /** The step's exit code (`null`: no process exit, e.g. a spawn failure). */
  readonly exitCode: number | null;
  /** Whether a required gate failed it (the step's process itself succeeded). */
  readonly byGate: boolean;
  /** Seeds the jitter: the run, the step and the attempt the wait would come before. */
  readonly seed: JitterSeed;
}

/** Why the retry rules refuse a failure, or null when they accept it. */
function notRetried(retry: RetrySpec, failure: FailedAttempt): string | null {
  const on = failure.outcome === "timeout" ? "timeout" : "failure";
  if (!retry.on.includes(on)) return `a ${on} is not retried (retry.on: ${retry.on.join(", ")})`;
  if (on === "failure" && retry.exitCodes.length > 0) {
    const codes = `retry.exit_codes [${retry.exitCodes.join(", ")}]`;
    if (failure.byGate) return `a failed gate is not retried when ${codes} is given`;
    if (failure.exitCode === null || !retry.exitCodes.includes(failure.exitCode)) {
      return `${failure.exitCode === null ? "no exit code" : `exit code ${failure.exitCode}`} ` +
        `is not in ${codes}`;
    }
  }
  if (failure.failures >= retry.maxAttempts) {
    return retry.maxAttempts > 1 ? `attempts used up (${retry.maxAttempts})` : null;
  }
  return null;
}

/**
 * Decides what follows a failed or timed-out attempt: retry when `on` covers
 * how it ended, `exit_codes` (when given) lists its exit code, and attempts
 * are left; the wait is the capped exponential backoff, spread by the
 * deterministic jitter when `jitter` is set. `exit_codes` restricts only
 * failures: a timeout is retried as `on` says.
 *
 * @param retry The step's retry settings.
 * @param failure How it ended, the failures so far, its exit code, the cancel and the jitter seed.
 * @returns Finish the step (failed, or cancelled when the failure came with
 * a cancel), or retry after a delay, with the reason in words.
 */
export function afterFailure(retry: RetrySpec, failure: FailedAttempt): AfterFailure {
  // A failure caused by the cancel itself (e.g. a gate stopped midway) is a cancel.
  if (failure.cancelled) return { kind: "finish", status: "cancelled" };
  const refused = notRetried(retry, failure);
  if (refused !== null || failure.failures >= retry.maxAttempts) {
    return { kind: "finish", status: "failed", reason: refused };
  }
  const base = retryDelayMs(retry, failure.failures);
  const delayMs = retry.jitter ? jitteredDelayMs(base, failure.seed) : base;
  const why = failure.outcome === "timeout"
    ? "timed out"
    : failure.exitCode !== null && retry.exitCodes.includes(failure.exitCode)
    ? `exit code ${failure.exitCode} is in retry.exit_codes`
    : failure.byGate
    ? "a required gate failed"
    : "failed";
  const wait = retry.jitter ? `wait ${base} ms jittered to ${delayMs} ms` : `wait ${delayMs} ms`;
  return {
    kind: "retry",
    delayMs,
    reason: `${why}; failure ${failure.failures} of ${retry.maxAttempts} attempts; ${wait}`,
  };
}

/**
 * Whether a gate result stops a step: a required gate that neither passed
 * nor was skipped (a cancelled gate is unfinished, not failed).
 */
function blocks(gate: GateRecord): boolean {
  return gate.required && gate.status !== "pass" && gate.status !== "skipped" &&
    gate.status !== "cancelled";
}

/**
 * Aggregates a step's gate results for one attempt.
 *
 * @param gates The step's gates, in declaration order.
 * @param results The attempt's gate results by gate id.
 * @param state The gate a person is asked to decide (or null) and whether the run is being cancelled.
 * @returns `failed` when a required gate blocks; `cancelled` when the run is
 * cancelled and a gate is unfinished; `waiting` when a person must decide;
 * else `succeeded`.
 */
export function gatesVerdict(
  gates: readonly GateSpec[],
  results: Readonly<Record<string, GateRecord>>,
  state: { readonly waitingOn: string | null; readonly cancelled: boolean },
): "succeeded" | "waiting" | "failed" | "cancelled" {
  const unfinished = gates.some((g) =>
    results[g.id] === undefined || results[g.id].status === "cancelled"
  );
  if (unfinished && state.waitingOn === null && state.cancelled) return "cancelled";
  if (Object.values(results).some(blocks)) return "failed";
  return state.waitingOn !== null ? "waiting" : "succeeded";
}

/**
 * The gate results a resumed evaluation counts as decided: a gate a cancel
 * stopped runs again, as after a crash.
 *
 * @param results The attempt's gate results by gate id.
 * @returns The results without cancelled gates.
 */
export function decidedGates(
  results: Readonly<Record<string, GateRecord>>,
): Record<string, GateRecord> {
  return Object.fromEntries(Object.entries(results).filter(([, g]) => g.status !== "cancelled"));
}

/**
 * The warnings a finished step carries: its optional gates that did not pass.
 *
 * @param results The attempt's gate results by gate id.
 * @returns One line per optional gate that did not pass.
 */
export function optionalGateWarnings(results: Readonly<Record<string, GateRecord>>): string[] {
  return Object.values(results).filter((g) => !g.required && g.status !== "pass").map((g) =>
    `optional gate ${g.gate_id}: ${g.status}`
  );
}

/**
 * Why a step failed, from its last attempt.
 *
 * @param stepId The step.
 * @param last Its last attempt, if any.
 * @param rule Why the decider let it fail (a retry rule, a route's bound), if it said.
 * @returns One line: the step, the attempt, the attempt's message or its
 * blocking gates, and the rule.
 */
export function failureReason(
  stepId: string,
  last: AttemptState | undefined,
  rule: string | null = null,
): string {
  const gates = Object.values(last?.gates ?? {}).filter(blocks);
  const why = last?.message ??
    (gates.length > 0
      ? gates.map((g) => `required gate ${g.gate_id}: ${g.status}`).join(", ")
      : "unknown reason");
  return `step ${stepId} failed (attempt ${last?.attempt ?? 0}): ${why}${rule ? `; ${rule}` : ""}`;
}

/**
 * How a run ends once no step runs any more.
 *
 * @param outcome Whether it was cancelled, the first step failure's reason,
 * and how many steps wait on a person.
 * @returns The end status and its reason (null for success).
 */
export function runEnd(
  outcome: {
    readonly cancelled: boolean;
    readonly failure: string | null;
    readonly waiting: number;
  },
): { status: RunEndStatus; reason: string | null } {
  if (outcome.cancelled) return { status: "cancelled", reason: "cancelled on request" };
  if (outcome.failure !== null) return { status: "failed", reason: outcome.failure };
  if (outcome.waiting > 0) {
    return { status: "waiting", reason: "a gate waits for a person's decision" };
  }
  return { status: "succeeded", reason: null };
}
