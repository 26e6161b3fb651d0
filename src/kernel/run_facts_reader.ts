/**
 * Gathers a run's {@linkcode RunFacts} from the store without writing: its
 * records (`step_run_record.v1` of each step's last attempt: its executor
 * summary with secrets redacted, its input and output hashes; and the run's
 * `environment_snapshot.v1`), falling back to the journal for runs recorded
 * before records existed (the inputs `attempt_started` recorded, the
 * outputs and executor summary of `attempt_finished`, hashes from the
 * index).
 *
 * @module
 */

import { LilyError } from "../core/errors.ts";
import type { HashedArtifact, RunFacts, StepFacts } from "../observe/run_facts.ts";
import { flattenFacts, withoutRunId } from "../observe/run_facts.ts";
import { foldEvents, type InputRecord, type RunEvent } from "../runtime/run_events.ts";
import {
  readRunRecords,
  type StoredEnvironmentSnapshot,
  type StoredStepRunRecord,
} from "../observe/run_records.ts";
import type { ArtifactDigestV1 } from "../contracts/kernel_schemas.ts";
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

/** A run's environment snapshot flattened, without its artifact id (which always differs). */
function environmentOf(snapshot: StoredEnvironmentSnapshot | null): Record<string, unknown> | null {
  if (snapshot === null) return null;
  const { artifact_id: _id, ...facts } = snapshot;
  return flattenFacts(facts);
}

/** Digests by name. */
function digests(list: readonly ArtifactDigestV1[]): Record<string, HashedArtifact> {
  return Object.fromEntries(
    list.map((d) => [d.name, { artifact_id: d.artifact_id, sha256: d.sha256 }]),
  );
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
  const records = await readRunRecords(store, state);
  const recordOf = new Map<string, StoredStepRunRecord>(
    records.records.map((r) => [r.record_id, r]),
  );
  const steps: Record<string, StepFacts> = {};
  for (const [id, step] of Object.entries(state.steps)) {
    const last = step.attempts.at(-1);
    const record = last?.record ? recordOf.get(last.record) : undefined;
    const journaled = last ? inputsOf.get(`${id}#${last.attempt}`) ?? {} : {};
    const succeeded = step.status === "succeeded";
    steps[id] = {
      status: step.status,
      attempts: step.attempts.length,
      last_attempt: last?.attempt ?? null,
      cause: last?.cause ?? null,
      inputs: record
        ? digests(record.inputs)
        : Object.fromEntries(Object.entries(journaled).map(([name, r]) => [name, { ...r }])),
      outputs: record && succeeded
        ? digests(record.outputs)
        : await hashedAll(store, succeeded ? step.outputs : {}),
      executor: withoutRunId(record ? record.executor : last?.executor ?? {}, runId) as Record<
        string,
        unknown
      >,
    };
  }
  return {
    run_id: runId,
    status: state.status,
    workflow: { name: state.workflow_name, sha256: state.workflow_sha256 },
    inputs: await hashedAll(store, state.inputs),
    step_order: Object.keys(state.steps),
    steps,
    environment: environmentOf(records.environment_snapshot),
  };
}
