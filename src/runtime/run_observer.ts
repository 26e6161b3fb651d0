/**
 * What a runner tells an observer (tracing, in `src/observe/`): every event
 * once it is durable, with the state it folds to, and when the runner stops.
 * Defined here so the run loop needs nothing above it; the kernel wires an
 * implementation in.
 *
 * @module
 */

import type { RunEvent, RunState } from "./run_events.ts";

/** Watches one runner of a run. */
export interface RunObserver {
  /**
   * Told about every event once it is durable, in journal order. Must not
   * throw; slow work is done off the runner's path.
   *
   * @param event The event.
   * @param state The run state after it.
   */
  observe(event: RunEvent, state: RunState): void;
  /**
   * Told that the runner stopped (its run finished, waits, or it failed);
   * resolves once everything observed is handed on. Must not throw.
   */
  close(): Promise<void>;
}
