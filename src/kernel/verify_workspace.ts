/**
 * Whole-workspace verification: the store's checks (index, hashes, index ↔
 * files, manifests, partial creations, the run files beside each journal)
 * plus every run's journal, which must parse event by event and fold into a
 * state.
 *
 * @module
 */

import type { Store } from "../store/store.ts";
import type { VerifyOptions, VerifyReport } from "../store/verify.ts";
import { foldEvents } from "../runtime/run_events.ts";
import { readJournal } from "../runtime/run_journal.ts";

/**
 * Verifies the store and every run's journal.
 *
 * @param store The open store.
 * @param options Restrict to one run.
 * @returns The store's report, journal findings included.
 * @throws {NotFoundError} When the run asked for does not exist.
 */
export async function verifyWorkspace(
  store: Store,
  options: Pick<VerifyOptions, "runId"> = {},
): Promise<VerifyReport> {
  return await store.verify({
    ...options,
    checkJournal: async (runId) => {
      foldEvents(runId, (await readJournal(store.events, runId)).events);
    },
  });
}
