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
import type { GateSpec, RetrySpec } from "../graph/workflow.ts";
import type { AttemptState, GateRecord, RunEndStatus, StepState } from "./run_events.ts";

/** Where a step picks up when the runner (re)starts it. */
export type StepStart =
  /** It waits on a person: evaluate its last attempt's gates again. */
  | { readonly kind: "await_decision"; readonly attempt: AttemptState }
  /**
   * Its last attempt succeeded but its gates did not all finish (a crash or
   * a cancel while they ran): run its undecided gates, not the step.
   */
  | { readonly kind: "finish_gates"; readonly attempt: AttemptState }
  /** Start a new attempt with this number. */
  | { readonly kind: "new_attempt"; readonly attempt: number };

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
  return { kind: "new_attempt", attempt: (last?.attempt ?? 0) + 1 };
}

/** What follows an attempt (or its gates) that did not succeed. */
export type AfterFailure =
  | { readonly kind: "finish"; readonly status: "failed" | "cancelled" }
  | { readonly kind: "retry"; readonly delayMs: number };

/**
 * Decides what follows a failed or timed-out attempt.
 *
 * @param retry The step's retry settings.
 * @param failure How it ended, how many attempts failed so far (this one
 * included), and whether the run is being cancelled.
 * @returns Finish the step (failed, or cancelled when the failure came with
 * a cancel), or retry after a delay.
 */
export function afterFailure(
  retry: RetrySpec,
  failure: {
    readonly outcome: "failed" | "timeout";
    readonly failures: number;
    readonly cancelled: boolean;
  },
): AfterFailure {
  // A failure caused by the cancel itself (e.g. a gate stopped midway) is a cancel.
  if (failure.cancelled) return { kind: "finish", status: "cancelled" };
  const retryable = retry.on.includes(failure.outcome === "timeout" ? "timeout" : "failure");
  if (!retryable || failure.failures >= retry.maxAttempts) {
    return { kind: "finish", status: "failed" };
  }
  return { kind: "retry", delayMs: retryDelayMs(retry, failure.failures) };
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
 * @returns One line: the step, the attempt and the attempt's message or its blocking gates.
 */
export function failureReason(stepId: string, last: AttemptState | undefined): string {
  const gates = Object.values(last?.gates ?? {}).filter(blocks);
  const why = last?.message ??
    (gates.length > 0
      ? gates.map((g) => `required gate ${g.gate_id}: ${g.status}`).join(", ")
      : "unknown reason");
  return `step ${stepId} failed (attempt ${last?.attempt ?? 0}): ${why}`;
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
