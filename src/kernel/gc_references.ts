/**
 * The artifacts a run names as inputs, which gc keeps while that run is
 * kept (`planGc` in `gc_plan.ts`): its run inputs and its attempts' inputs
 * (from its journal), the replacements it took, and every `@ARTIFACT_ID`
 * source its workflow names, including those of steps that have not
 * started yet (read from the stored workflow's text, so a run started from
 * the TS API is covered too; any `@<uuid>` in it counts, which can only
 * keep more).
 *
 * @module
 */

import { IntegrityError, LilyError } from "../core/errors.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import { readJournal } from "../runtime/run_journal.ts";
import type { ArtifactReference } from "./gc_plan.ts";

const AT_UUID = /@([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/gi;

/**
 * Lists the artifacts a run names as inputs.
 *
 * @param store The open store.
 * @param runId The run.
 * @returns One reference per named artifact (ids lower-cased).
 * @throws {IntegrityError} When the run's journal cannot be read (gc then
 * cannot know what the run still needs).
 */
export async function runReferences(
  store: ContractStore,
  runId: string,
): Promise<ArtifactReference[]> {
  const named = new Set<string>();
  try {
    const { events } = await readJournal(store.events, runId);
    for (const e of events) {
      if (e.type === "run_started") {
        for (const id of Object.values(e.inputs)) named.add(id);
        for (const id of await workflowSources(store, e.workflow_ref)) named.add(id);
      } else if (e.type === "attempt_started") {
        for (const input of Object.values(e.inputs ?? {})) named.add(input.artifact_id);
      } else if (e.type === "artifact_replaced") named.add(e.replacement);
    }
  } catch (err) {
    if (!(err instanceof LilyError)) throw err;
    throw new IntegrityError(
      `Cannot gc: the journal of run ${runId}, which names the inputs it reads, cannot be read (${err.message}); ` +
        "run lily verify and repair the run first",
      { cause: err },
    );
  }
  return [...named].map((artifact_id) => ({ run_id: runId, artifact_id }));
}

/**
 * The `@<uuid>` sources a stored workflow names; none when it is damaged or
 * gone (`lily verify` reports that): such a run can neither go on nor be
 * resumed or rerun, so it reads no more inputs.
 */
async function workflowSources(store: ContractStore, workflowRef: string): Promise<string[]> {
  try {
    const ref = await store.artifacts.ref(workflowRef);
    const text = new TextDecoder().decode((await store.artifacts.readBytes(ref)).bytes);
    return [...text.matchAll(AT_UUID)].map((m) => m[0].slice(1).toLowerCase());
  } catch (err) {
    if (err instanceof LilyError) return [];
    throw err;
  }
}
