/**
 * Cancelling a run. A live runner is asked through a `cancel_requested`
 * file it watches; it kills its children, records the cancellation and
 * releases its lease. A run with no live runner is marked cancelled at once.
 *
 * @module
 */

import { sleep } from "../core/delay.ts";
import { ConflictError } from "../core/errors.ts";
import { writeFileAtomic } from "../store/durable_file.ts";
import type { Store } from "../store/store.ts";
import { foldEvents, type RunState } from "./run_events.ts";
import { readJournal, RunJournal } from "./run_journal.ts";
import { acquireRunLease, isRunLive } from "./run_lease.ts";

/** Options of {@linkcode cancelRun}. */
export interface CancelRunOptions {
  /**
   * How long to wait for a live runner to stop, in ms.
   * @default {30000}
   */
  readonly waitMs?: number;
  /**
   * The clock.
   * @default {() => new Date()}
   */
  readonly now?: () => Date;
}

/**
 * Cancels a run that has not finished.
 *
 * @param store The open store.
 * @param runId The run.
 * @param options How long to wait for a live runner.
 * @returns The run's state afterwards.
 * @throws {ConflictError} When the run already succeeded or was cancelled, or
 * a live runner did not stop in time.
 */
export async function cancelRun(
  store: Store,
  runId: string,
  options: CancelRunOptions = {},
): Promise<RunState> {
  const run = store.runs.paths(runId);
  const manifest = await store.runs.get(runId);
  if (manifest.status === "succeeded" || manifest.status === "cancelled") {
    throw new ConflictError(`Run ${runId} is already ${manifest.status}; nothing to cancel`);
  }
  if (await isRunLive(run)) {
    await writeFileAtomic(run.cancelRequest, new TextEncoder().encode(`${Deno.pid}\n`));
    const deadline = Date.now() + (options.waitMs ?? 30_000);
    while (await isRunLive(run)) {
      if (Date.now() > deadline) {
        throw new ConflictError(
          `Run ${runId}'s runner did not stop within ${options.waitMs ?? 30_000} ms; ` +
            "it will cancel when it next checks",
        );
      }
      await sleep(50);
    }
    return foldEvents(runId, (await readJournal(run.events)).events);
  }
  const lease = await acquireRunLease(run, runId, { now: options.now });
  try {
    const { journal, events } = await RunJournal.open(run.events, { now: options.now });
    try {
      const finished = await journal.append({
        type: "run_finished",
        status: "cancelled",
        reason: "cancelled on request",
      });
      await store.runs.update(runId, () => ({ status: "cancelled" }));
      return foldEvents(runId, [...events, finished]);
    } finally {
      journal.close();
    }
  } finally {
    lease.release();
  }
}
