/**
 * The retries a live run is waiting out: while a step's backoff runs, the
 * run is `running` but nothing executes, so a run's description says which
 * step is retried and when (from its `retry_scheduled` event).
 *
 * @module
 */

import type { RunEvent, RunState } from "../runtime/run_events.ts";

/** A retry whose backoff has not ended when the run is shown. */
export interface PendingRetry {
  /** The step. */
  readonly step: string;
  /** The attempt that failed. */
  readonly attempt: number;
  /** The whole wait, in ms. */
  readonly delay_ms: number;
  /** When the next attempt is due (ISO 8601, the runner's wall clock). */
  readonly retry_at: string;
  /** How long until then, in ms (0 once due). */
  readonly remaining_ms: number;
  /** Why it is retried and how the wait was computed. */
  readonly reason: string;
}

/**
 * Lists the steps whose latest attempt failed and was scheduled for a retry
 * that has not started yet.
 *
 * @param state The run's state.
 * @param events Its journal's events (for when each retry was scheduled).
 * @param now The current time.
 * @returns The pending retries, in journal order.
 */
export function pendingRetries(
  state: RunState,
  events: readonly RunEvent[],
  now: Date,
): PendingRetry[] {
  if (state.status !== "running") return [];
  const out: PendingRetry[] = [];
  for (const event of events) {
    if (event.type !== "retry_scheduled") continue;
    const last = state.steps[event.step]?.attempts.at(-1);
    if (last?.attempt !== event.attempt) continue;
    const due = Date.parse(event.at) + event.delay_ms;
    out.push({
      step: event.step,
      attempt: event.attempt,
      delay_ms: event.delay_ms,
      retry_at: new Date(due).toISOString(),
      remaining_ms: Math.max(0, due - now.getTime()),
      reason: event.reason,
    });
  }
  return out;
}
