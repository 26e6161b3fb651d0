/**
 * `run_state.json` and the manifest's status: exports of the journal's fold,
 * written when a runner stops, and re-derived by whoever finds them stale
 * (a runner killed after its last event and before writing them).
 *
 * @module
 */

import { writeFileAtomic } from "../store/durable_file.ts";
import type { Store } from "../store/store.ts";
import type { RunState } from "./run_events.ts";
import { isRunLive } from "./run_lease.ts";

/**
 * Writes `run_state.json` from the state, and the manifest's status when it
 * differs, so both agree with the journal.
 *
 * @param store The open store.
 * @param state The run state (folded from the whole journal).
 * @throws {StorageError} When the manifest or `run_state.json` cannot be
 * written, e.g. on a full disk (the message names the file).
 */
export async function exportRunState(store: Store, state: RunState): Promise<void> {
  const run = store.runs.paths(state.run_id);
  if (state.status !== "created") {
    const manifest = await store.runs.get(state.run_id);
    if (manifest.status !== state.status) {
      await store.runs.update(state.run_id, () => ({ status: state.status }));
    }
  }
  await writeFileAtomic(
    run.state,
    new TextEncoder().encode(JSON.stringify(state, null, 2) + "\n"),
  );
}

/**
 * Re-derives `run_state.json` and the manifest's status of a run whose
 * runner stopped after its last event and before writing them (a crash
 * window). Does nothing while a runner is live, for a run that is still
 * `running` or never started, or when both are up to date; failures to
 * write are ignored (the journal stays the truth).
 *
 * @param store The open store.
 * @param state The state folded from the run's journal.
 */
export async function repairRunFiles(store: Store, state: RunState): Promise<void> {
  if (state.status === "running" || state.status === "created") return;
  const run = store.runs.paths(state.run_id);
  try {
    if (await isRunLive(run)) return;
    let exported: { last_seq?: number } | undefined;
    try {
      exported = JSON.parse(await Deno.readTextFile(run.state));
    } catch {
      exported = undefined;
    }
    const manifest = await store.runs.get(state.run_id);
    if (exported?.last_seq === state.last_seq && manifest.status === state.status) return;
    await exportRunState(store, state);
  } catch {
    // Best effort: a reader still shows the state it folded.
  }
}
