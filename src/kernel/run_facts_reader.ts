/**
 * Gathers a run's {@linkcode RunFacts} from the store without writing: its
 * journal (each step's last attempt, its recorded inputs with their hashes,
 * its outputs and executor summary), the index (output and run-input
 * hashes) and its environment snapshot when it has one.
 *
 * @module
 */

import { LilyError } from "../core/errors.ts";
import type { HashedArtifact, RunFacts, StepFacts } from "../observe/run_facts.ts";
import { flattenFacts } from "../observe/run_facts.ts";
import { foldEvents, type InputRecord, type RunEvent } from "../runtime/run_events.ts";
import { checkRunJournal, lostJournalError } from "../runtime/run_journal_check.ts";
import type { Store } from "../store/store.ts";

/** The sha256 the index has for an artifact, or null when it has none. */
async function hashed(store: Store, artifactId: string): Promise<HashedArtifact> {
  try {
    return { artifact_id: artifactId, sha256: (await store.artifacts.ref(artifactId)).sha256 };
  } catch (err) {
    if (err instanceof LilyError) return { artifact_id: artifactId, sha256: null };
    throw err;
  }
}

async function hashedAll(
  store: Store,
  ids: Readonly<Record<string, string>>,
): Promise<Record<string, HashedArtifact>> {
  const entries = await Promise.all(
    Object.entries(ids).map(async ([name, id]) => [name, await hashed(store, id)] as const),
  );
  return Object.fromEntries(entries);
}

/** The inputs each attempt started with, by `step#attempt`. */
function attemptInputs(
  events: readonly RunEvent[],
): Map<string, Readonly<Record<string, InputRecord>>> {
  const out = new Map<string, Readonly<Record<string, InputRecord>>>();
  for (const e of events) {
    if (e.type === "attempt_started" && e.inputs) out.set(`${e.step}#${e.attempt}`, e.inputs);
  }
  return out;
}

/** A run's environment snapshot, flattened, when its journal names one that can be read. */
async function environmentOf(
  store: Store,
  events: readonly RunEvent[],
): Promise<Record<string, unknown> | null> {
  const start = events.find((e) => e.type === "run_started") as
    | { readonly environment_snapshot?: string }
    | undefined;
  const id = start?.environment_snapshot;
  if (id === undefined) return null;
  const { value } = await store.artifacts.get(id);
  return flattenFacts(value);
}

/**
 * Reads what `run diff` and `replay --reapply` compare about a run.
 *
 * @param store The open store.
 * @param runId The run.
 * @returns The run's facts.
 * @throws {NotFoundError} When there is no such run.
 * @throws {IntegrityError} When its journal is lost or damaged.
 */
export async function readRunFacts(store: Store, runId: string): Promise<RunFacts> {
  const { events, verdict } = await checkRunJournal(store, runId);
  if (verdict.kind === "lost") throw lostJournalError(store, runId, verdict.evidence);
  const state = foldEvents(runId, events);
  const inputsOf = attemptInputs(events);
  const steps: Record<string, StepFacts> = {};
  for (const [id, step] of Object.entries(state.steps)) {
    const last = step.attempts.at(-1);
    const recorded = last ? inputsOf.get(`${id}#${last.attempt}`) ?? {} : {};
    steps[id] = {
      status: step.status,
      attempts: step.attempts.length,
      last_attempt: last?.attempt ?? null,
      cause: last?.cause ?? null,
      inputs: Object.fromEntries(
        Object.entries(recorded).map(([name, r]) => [name, { ...r }]),
      ),
      outputs: await hashedAll(store, step.status === "succeeded" ? step.outputs : {}),
      executor: last?.executor ?? {},
    };
  }
  return {
    run_id: runId,
    status: state.status,
    workflow: { name: state.workflow_name, sha256: state.workflow_sha256 },
    inputs: await hashedAll(store, state.inputs),
    step_order: Object.keys(state.steps),
    steps,
    environment: await environmentOf(store, events),
  };
}
