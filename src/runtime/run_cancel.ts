/**
 * Cancelling a run. A live runner is asked through the store's run control
 * (a cancel request it watches); it kills its children, records the cancellation and
 * releases its lease. A run with no live runner is marked cancelled at once.
 *
 * @module
 */

import { type Clock, systemClock } from "../core/clock.ts";
import { sleep } from "../core/delay.ts";
import { ConflictError } from "../core/errors.ts";
import type { Store } from "../store/store.ts";
import { foldEvents, type RunState } from "./run_events.ts";
import { readJournal } from "./run_journal.ts";
import { checkRunJournal, lostJournalError } from "./run_journal_check.ts";
import { withRunSession } from "./run_session.ts";

/** Options of {@linkcode cancelRun}. */
export interface CancelRunOptions {
  /**
   * How long to wait for a live runner to stop, in ms.
   * @default {30000}
   */
  readonly waitMs?: number;
  /**
   * The clock: the wait is measured on its monotonic reading.
   * @default {systemClock}
   */
  readonly clock?: Clock;
}

/**
 * Cancels a run that has not finished. A live runner is asked (a request
 * naming this process and a fresh nonce, so a runner that takes the lease
 * later tells it from a request left for a runner before it) and awaited;
 * when it stops without cancelling — it crashed, or it stopped at a human
 * gate or on a failure — the run is cancelled here, as an idle run is.
 *
 * @param store The open store.
 * @param runId The run.
 * @param options How long to wait for a live runner.
 * @returns The run's state afterwards.
 * @throws {ConflictError} When the run already succeeded or was cancelled
 * (also when its runner finished it before it saw the request), or a live
 * runner did not stop in time.
 * @throws {IntegrityError} When the run's journal is lost or damaged.
 */
export async function cancelRun(
  store: Store,
  runId: string,
  options: CancelRunOptions = {},
): Promise<RunState> {
  const clock = options.clock ?? systemClock;
  const waitMs = options.waitMs ?? 30_000;
  const deadline = clock.monotonicMs() + waitMs;
  for (;;) {
    const manifest = await store.runs.get(runId);
    if (manifest.status === "succeeded" || manifest.status === "cancelled") {
      throw new ConflictError(`Run ${runId} is already ${manifest.status}; nothing to cancel`);
    }
    // A lost journal is not cancelled over: the appended event would hide the loss.
    const { verdict } = await checkRunJournal(store, runId);
    if (verdict.kind === "lost") throw lostJournalError(store, runId, verdict.evidence);
    if (await store.leases.isLive(runId)) {
      await store.control.requestCancel(runId);
      while (await store.leases.isLive(runId)) {
        if (clock.monotonicMs() > deadline) {
          throw new ConflictError(
            `Run ${runId}'s runner did not stop within ${waitMs} ms; ` +
              "it will cancel when it next checks",
          );
        }
        await sleep(50);
      }
      const state = foldEvents(runId, (await readJournal(store.events, runId)).events);
      if (state.status === "cancelled") return state;
      if (state.status === "succeeded") {
        throw new ConflictError(
          `Run ${runId} succeeded before its runner saw the cancel; nothing to cancel`,
        );
      }
      continue;
    }
    try {
      return await cancelIdleRun(store, runId, clock);
    } catch (err) {
      // A runner took the lease between the liveness check and ours: ask it instead.
      if (err instanceof ConflictError && await store.leases.isLive(runId)) continue;
      throw err;
    }
  }
}

/** Marks a run with no live runner cancelled, holding its lease. */
async function cancelIdleRun(store: Store, runId: string, clock: Clock): Promise<RunState> {
  return await withRunSession(store, runId, async ({ journal, events }) => {
    // The journal, not the manifest, has the last word: a runner may have died before updating it.
    const status = foldEvents(runId, events).status;
    if (status === "succeeded" || status === "cancelled") {
      throw new ConflictError(`Run ${runId} is already ${status}; nothing to cancel`);
    }
    await store.control.clearCancel(runId).catch(() => {});
    const finished = await journal.append({
      type: "run_finished",
      status: "cancelled",
      reason: "cancelled on request",
    });
    await store.runs.update(runId, () => ({ status: "cancelled" }));
    return foldEvents(runId, [...events, finished]);
  }, { clock });
}
