/**
 * A run's history as `lily run show --history` prints it: every attempt of
 * every step, the current one and those a rerun or a replacement
 * superseded, with the outputs each committed. Built from the run state
 * alone (nothing is deleted, so every output is still in the store).
 *
 * @module
 */

import type { AttemptCause, AttemptState, RunEvent, RunState } from "../runtime/run_events.ts";

/** One attempt in a run's history. */
export interface AttemptHistoryEntry {
  /** The step. */
  readonly step: string;
  /** The attempt number. */
  readonly attempt: number;
  /** Why it started (`null` in journals older than causes). */
  readonly cause: AttemptCause | null;
  /** How it ended, or `running`. */
  readonly status: AttemptState["status"];
  /** When it started (ISO 8601). */
  readonly started_at: string;
  /** The outputs it committed: name → artifact id (as committed, before any replacement). */
  readonly outputs: Readonly<Record<string, string>>;
  /** Its outputs replaced since (`lily artifact replace`): name → the artifact in their place. */
  readonly replaced: Readonly<Record<string, string>>;
  /** The attempt of the same step it supersedes, or null. */
  readonly supersedes: number | null;
  /** The later attempt that supersedes it, or null. */
  readonly superseded_by: number | null;
  /** Whether its outputs are the step's current ones (possibly replaced since). */
  readonly current: boolean;
}

/** A replay the run took: its `rerun_requested` or `artifact_replaced` event. */
export type ReplayEvent = Extract<RunEvent, { type: "rerun_requested" | "artifact_replaced" }>;

/**
 * Lists every attempt of a run, step by step in declaration order.
 *
 * @param state The run state.
 * @returns One entry per attempt, oldest first within each step.
 */
export function attemptHistory(state: RunState): AttemptHistoryEntry[] {
  return Object.entries(state.steps).flatMap(([step, s]) => {
    // The current attempt: the one whose committed outputs the step shows (or replaced since).
    const current = s.status === "succeeded"
      ? s.attempts.findLast((a) => a.status === "succeeded")?.attempt ?? null
      : null;
    return s.attempts.map((a) => ({
      step,
      attempt: a.attempt,
      cause: a.cause,
      status: a.status,
      started_at: a.started_at,
      outputs: a.outputs,
      replaced: Object.fromEntries(
        Object.entries(a.outputs).flatMap(([name, id]) =>
          state.replacements[id] === undefined ? [] : [[name, state.replacements[id]]]
        ),
      ),
      supersedes: a.supersedes ?? null,
      superseded_by: s.attempts.find((b) => b.supersedes === a.attempt)?.attempt ?? null,
      current: a.attempt === current,
    }));
  });
}
