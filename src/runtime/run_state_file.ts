/**
 * `run_state.json` and the manifest's status: exports of the journal's fold,
 * written when a runner stops, and re-derived by whoever finds them stale
 * (a runner killed after its last event and before writing them).
 *
 * @module
 */

import type { Store } from "../store/store.ts";
import type { RunState } from "./run_events.ts";

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
  if (state.status !== "created") {
    const manifest = await store.runs.get(state.run_id);
    if (manifest.status !== state.status) {
      await store.runs.update(state.run_id, () => ({ status: state.status }));
    }
  }
  await store.runs.writeStateExport(state.run_id, JSON.stringify(state, null, 2) + "\n");
}

/**
 * What `run_state.json` holds: nothing, this run's export as of an event
 * sequence number, or something else (damaged; `lily verify` reports it).
 */
async function readExport(store: Store, runId: string): Promise<number | "missing" | "foreign"> {
  let text: string | undefined;
  try {
    text = await store.runs.readStateExport(runId);
  } catch {
    return "foreign";
  }
  if (text === undefined) return "missing";
  try {
    const exported = JSON.parse(text);
    return exported?.run_id === runId && Number.isInteger(exported.last_seq)
      ? exported.last_seq
      : "foreign";
  } catch {
    return "foreign";
  }
}

/**
 * Re-derives `run_state.json` and the manifest's status of a run whose
 * runner stopped after its last event and before writing them (a crash
 * window). Does nothing while a runner is live, for a run that is still
 * `running` or never started, or when both are up to date. A
 * `run_state.json` that is not this run's export is damaged: it is left as
 * it is for `lily verify` to report (only the manifest's status is
 * re-derived then). Failures to write are ignored (the journal stays the
 * truth).
 *
 * @param store The open store.
 * @param state The state folded from the run's journal.
 */
export async function repairRunFiles(store: Store, state: RunState): Promise<void> {
  if (state.status === "running" || state.status === "created") return;
  try {
    if (await store.leases.isLive(state.run_id)) return;
    const exported = await readExport(store, state.run_id);
    const manifest = await store.runs.get(state.run_id);
    if (exported === "foreign") {
      if (manifest.status !== state.status) {
        await store.runs.update(state.run_id, () => ({ status: state.status }));
      }
      return;
    }
    if (exported === state.last_seq && manifest.status === state.status) return;
    await exportRunState(store, state);
  } catch {
    // Best effort: a reader still shows the state it folded.
  }
}
