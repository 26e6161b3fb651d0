/**
 * Whether a run's journal agrees with the run's other files: a run whose
 * manifest or `run_state.json` says it started must have a journal that
 * begins with `run_started` (or, for a run stopped before it ran anything,
 * `run_finished`); a run still `created`, with an empty journal, whose lease
 * file or stored workflow shows that `run start` got past creating it, was
 * interrupted while starting (nothing ran). Also lists the artifacts a
 * journal names, so a lost index is found.
 *
 * @module
 */

import { IntegrityError, LilyError } from "../core/errors.ts";
import type { RunManifest } from "../store/run_manifest.ts";
import type { Store } from "../store/store.ts";
import type { RunEvent } from "./run_events.ts";
import { readJournal } from "./run_journal.ts";
import { withRunSession } from "./run_session.ts";

/** The artifact types a started run stores its workflow as. */
const WORKFLOW_TYPES = ["workflow.v1", "workflow_definition.v1"];

/** The `run_finished` reason recorded when an interrupted start is marked failed. */
export const INTERRUPTED_START_REASON =
  "interrupted while starting: nothing ran; start the workflow again with `lily run start`";

/** What is known about a run besides its journal's events. */
export interface RunStartEvidence {
  /** The manifest's status. */
  readonly status: RunManifest["status"];
  /** Whether `run_state.json` exists (only a started run's runner writes it). */
  readonly stateExported: boolean;
  /** Whether `runner.lock` exists (only a runner, or a cancel, creates it). */
  readonly leaseFile: boolean;
  /** Whether the index holds a stored workflow of this run. */
  readonly workflowStored: boolean;
  /** Whether a live process holds the run's lease. */
  readonly live: boolean;
}

/** What {@linkcode judgeRunJournal} decided. */
export type JournalVerdict =
  | { readonly kind: "sound" }
  | { readonly kind: "interrupted_start" }
  | { readonly kind: "lost"; readonly evidence: string };

/**
 * Decides whether a journal agrees with the rest of its run (pure).
 *
 * @param events The journal's events.
 * @param evidence What the run's other files show.
 * @returns `lost` (naming the evidence that the run started) when the
 * journal cannot be the run's record, `interrupted_start` for the trace of a
 * `run start` killed before it journaled `run_started`, else `sound`.
 */
export function judgeRunJournal(
  events: readonly RunEvent[],
  evidence: RunStartEvidence,
): JournalVerdict {
  const first = events[0];
  if (first !== undefined) {
    return first.type === "run_started" || first.type === "run_finished"
      ? { kind: "sound" }
      : { kind: "lost", evidence: `it begins with ${first.type} instead of run_started` };
  }
  if (evidence.status !== "created") {
    return { kind: "lost", evidence: `the manifest says the run is ${evidence.status}` };
  }
  if (evidence.stateExported) return { kind: "lost", evidence: "run_state.json exists" };
  if (!evidence.live && (evidence.leaseFile || evidence.workflowStored)) {
    return { kind: "interrupted_start" };
  }
  return { kind: "sound" };
}

/** A run's journal with the verdict on it. */
export interface RunJournalCheck {
  /** The journal's events. */
  readonly events: RunEvent[];
  /** Whether they agree with the run's other files. */
  readonly verdict: JournalVerdict;
  /** Whether a torn last line was skipped. */
  readonly tornTail: boolean;
}

/**
 * Reads a run's journal and judges it against the run's other files.
 *
 * @param store The open store.
 * @param runId The run.
 * @returns The events and the verdict.
 * @throws {NotFoundError} When the run does not exist.
 * @throws {IntegrityError} When the manifest or the journal is damaged.
 */
export async function checkRunJournal(store: Store, runId: string): Promise<RunJournalCheck> {
  const manifest = await store.runs.get(runId);
  const { events, tornTail } = await readJournal(store.events, runId);
  if (events.length > 0) {
    // Only the first event matters then; the other files need not be read.
    const rest = { stateExported: true, leaseFile: true, workflowStored: true, live: false };
    const verdict = judgeRunJournal(events, { status: manifest.status, ...rest });
    return { events, verdict, tornTail };
  }
  let workflowStored = false;
  try {
    workflowStored = (await store.index.query({ runId })).some((r) =>
      WORKFLOW_TYPES.includes(r.artifact_type)
    );
  } catch (err) {
    if (!(err instanceof LilyError)) throw err;
  }
  // An exported state that exists but cannot be read still shows the run started.
  const stateExported = await store.runs.readStateExport(runId).then(
    (text) => text !== undefined,
    () => true,
  );
  const verdict = judgeRunJournal(events, {
    status: manifest.status,
    stateExported,
    leaseFile: await store.leases.taken(runId),
    workflowStored,
    live: await store.leases.isLive(runId),
  });
  return { events, verdict, tornTail };
}

/**
 * The one-line error for a run whose journal is lost.
 *
 * @param store The open store.
 * @param runId The run.
 * @param evidence Why the run must have a journal.
 * @returns An error naming the journal and what to do.
 */
export function lostJournalError(store: Store, runId: string, evidence: string): IntegrityError {
  const path = store.events.location(runId);
  return new IntegrityError(
    `Run ${runId}'s journal ${path} is missing, empty or damaged although ${evidence}: ` +
      "the run's record is lost; restore the file from a backup (its artifacts stay " +
      `readable with \`lily artifact list --run ${runId}\`)`,
  );
}

/**
 * The one-line message for a run interrupted while starting.
 *
 * @param runId The run.
 * @returns What happened and what to do.
 */
export function interruptedStartMessage(runId: string): string {
  return `Run ${runId} was interrupted while starting: nothing ran; start the workflow again ` +
    "with `lily run start`, and mark this run failed with `lily verify --clean-partial`";
}

/**
 * Marks every run interrupted while starting as failed: under the run's
 * lease (so never a start still in progress), it journals `run_finished`
 * (failed, {@linkcode INTERRUPTED_START_REASON}) and updates the manifest.
 * A run's artifacts stay, as index rows are never deleted.
 *
 * @param store The open store.
 * @returns The runs marked.
 * @throws {StorageError} When a journal or manifest cannot be written.
 */
export async function markInterruptedStarts(store: Store): Promise<string[]> {
  const marked: string[] = [];
  for (const listing of await store.runs.list()) {
    if (!("manifest" in listing) || listing.manifest.status !== "created") continue;
    const runId = listing.run_id;
    let check: RunJournalCheck;
    try {
      check = await checkRunJournal(store, runId);
    } catch (err) {
      if (!(err instanceof LilyError)) throw err;
      continue;
    }
    if (check.verdict.kind !== "interrupted_start") continue;
    const done = await withRunSession(store, runId, async ({ journal, events }) => {
      if (events.length > 0) return false;
      await journal.append({
        type: "run_finished",
        status: "failed",
        reason: INTERRUPTED_START_REASON,
      });
      await store.runs.update(runId, () => ({ status: "failed" }));
      return true;
    }).catch((err) => {
      if (err instanceof LilyError) return false;
      throw err;
    });
    if (done) marked.push(runId);
  }
  return marked;
}

/** An artifact a journal names. */
export interface JournalArtifactRef {
  /** The artifact id. */
  readonly artifact_id: string;
  /** The event's sequence number. */
  readonly seq: number;
  /** What the event names it as, e.g. `run_started.workflow_ref`. */
  readonly field: string;
}

/**
 * Lists the artifacts a journal's events name: the workflow, the inputs,
 * each attempt's outputs and logs, gate results and route feedback.
 *
 * @param events The journal's events.
 * @returns One entry per reference, in journal order.
 */
export function journalArtifactRefs(events: readonly RunEvent[]): JournalArtifactRef[] {
  const out: JournalArtifactRef[] = [];
  const add = (seq: number, field: string, ids: Iterable<string>) => {
    for (const artifact_id of ids) out.push({ artifact_id, seq, field });
  };
  for (const e of events) {
    if (e.type === "run_started") {
      add(e.seq, "run_started.workflow_ref", [e.workflow_ref]);
      add(e.seq, "run_started.inputs", Object.values(e.inputs));
    } else if (e.type === "attempt_finished") {
      add(e.seq, "attempt_finished.outputs", Object.values(e.outputs));
      add(e.seq, "attempt_finished.logs", Object.values(e.logs));
    } else if (e.type === "gate_finished") {
      add(e.seq, "gate_finished.gate.result_id", [e.gate.result_id]);
    } else if (e.type === "route_taken") add(e.seq, "route_taken.feedback", [e.feedback]);
    else if (e.type === "artifact_replaced") {
      add(e.seq, "artifact_replaced.original", [e.original]);
      add(e.seq, "artifact_replaced.replacement", [e.replacement]);
      add(e.seq, "artifact_replaced.record", [e.record]);
    }
  }
  return out;
}

/**
 * Checks that the index holds every artifact a run's journal names; a
 * journal written before the index was lost or truncated names artifacts
 * the index no longer has.
 *
 * @param store The open store.
 * @param runId The run.
 * @param events The run's journal events.
 * @throws {IntegrityError} Naming the run, the missing artifacts and the index.
 */
export async function assertJournalArtifactsIndexed(
  store: Store,
  runId: string,
  events: readonly RunEvent[],
): Promise<void> {
  const missing: string[] = [];
  for (const id of new Set(journalArtifactRefs(events).map((r) => r.artifact_id))) {
    if (!(await store.index.get(id))) missing.push(id);
  }
  if (missing.length === 0) return;
  const more = missing.length > 3 ? ` and ${missing.length - 3} more` : "";
  throw new IntegrityError(
    `Run ${runId}'s journal names artifacts that are not in the index ` +
      `(${missing.slice(0, 3).join(", ")}${more}): the index ${store.index.location()} was ` +
      "lost or damaged; restore it from a backup (lily verify lists every missing artifact)",
  );
}
