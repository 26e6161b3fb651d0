/**
 * Whole-workspace verification: the store's checks (index, hashes, index ↔
 * files, manifests, partial creations, the lock files and the run files
 * beside each journal) plus every run's journal, which must parse event by
 * event, fold into a state, agree with the run's other files (see
 * `run_journal_check.ts`) and name only artifacts the index holds. A run
 * whose runner died before exporting its state gets it re-derived.
 *
 * @module
 */

import type { Store } from "../store/store.ts";
import type {
  JournalCheckContext,
  JournalFinding,
  VerifyOptions,
  VerifyReport,
} from "../store/verify.ts";
import { foldEvents } from "../runtime/run_events.ts";
import {
  checkRunJournal,
  interruptedStartMessage,
  journalArtifactRefs,
  lostJournalError,
  markInterruptedStarts,
} from "../runtime/run_journal_check.ts";
import { readJournal } from "../runtime/run_journal.ts";
import { readAccessJournal } from "../runtime/access_journal.ts";
import { LilyError } from "../core/errors.ts";
import { repairRunFiles } from "../runtime/run_state_file.ts";

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
    checkJournal: (runId, context) => checkJournal(store, runId, context),
  });
}

/** One run's journal findings; a damaged journal throws (an `invalid_journal` finding). */
async function checkJournal(
  store: Store,
  runId: string,
  context: JournalCheckContext,
): Promise<JournalFinding[]> {
  const findings: JournalFinding[] = [];
  // A damaged manifest is the store's finding; its journal is still read.
  const manifestReadable = await store.runs.get(runId).then(() => true, () => false);
  const { events, verdict, tornTail } = manifestReadable
    ? await checkRunJournal(store, runId)
    : { ...(await readJournal(store.events, runId)), verdict: { kind: "sound" } as const };
  if (verdict.kind === "lost") {
    findings.push({
      kind: "missing_journal",
      artifact_id: null,
      detail: lostJournalError(store, runId, verdict.evidence).message,
    });
  } else if (verdict.kind === "interrupted_start") {
    findings.push({
      kind: "interrupted_start",
      artifact_id: null,
      detail: interruptedStartMessage(runId),
    });
  }
  findings.push(...await accessJournalFindings(store, runId, tornTail));
  const state = foldEvents(runId, events);
  if (context.indexUsable) {
    for (const ref of journalArtifactRefs(events)) {
      if (await store.index.get(ref.artifact_id)) continue;
      findings.push({
        kind: "dangling_ref",
        artifact_id: ref.artifact_id,
        detail: `event ${ref.seq} (${ref.field}) names an artifact that is not in the index; ` +
          `the index ${store.index.location()} was lost or damaged: restore it from a backup`,
      });
    }
  }
  // Whoever finds a run whose runner died before exporting its state re-derives it.
  if (verdict.kind === "sound") await repairRunFiles(store, state);
  return findings;
}

/**
 * The torn tails of a run's two logs (not while a runner appends to them)
 * and the damage of its access journal, which, unlike the run's events,
 * nothing else reads.
 */
async function accessJournalFindings(
  store: Store,
  runId: string,
  eventsTorn: boolean,
): Promise<JournalFinding[]> {
  const findings: JournalFinding[] = [];
  let accessTorn = false;
  try {
    accessTorn = (await readAccessJournal(store.access, runId)).tornTail;
  } catch (err) {
    if (!(err instanceof LilyError)) throw err;
    findings.push({
      kind: "invalid_journal",
      log: "access",
      artifact_id: null,
      detail: err.message,
    });
  }
  if (!(eventsTorn || accessTorn) || await store.leases.isLive(runId)) return findings;
  const torn = (what: string) =>
    `${what} ends in a torn entry (the trace of a crash while it was written); readers skip ` +
    "it and the next runner cuts it off";
  if (eventsTorn) {
    findings.push({ kind: "torn_journal", artifact_id: null, detail: torn("The run journal") });
  }
  if (accessTorn) {
    findings.push({
      kind: "torn_journal",
      log: "access",
      artifact_id: null,
      detail: torn("The access journal"),
    });
  }
  return findings;
}

/** What {@linkcode cleanPartialRuns} did. */
export interface PartialRunsCleaned {
  /** The `.creating-<id>` (and earlier Lily's manifest-less) run dirs removed. */
  readonly removed: string[];
  /** Whether a run creation in progress made it remove nothing. */
  readonly busy: boolean;
  /** The runs interrupted while starting that were marked failed. */
  readonly marked: string[];
}

/**
 * Cleans what interrupted run starts left: removes partial run creations
 * (see `RunStore.cleanPartialCreations`) and marks runs interrupted while
 * starting as failed (see `markInterruptedStarts`).
 *
 * @param store The open store.
 * @returns What was removed and marked.
 * @throws {StorageError} When a trace cannot be removed or a run cannot be marked.
 */
export async function cleanPartialRuns(store: Store): Promise<PartialRunsCleaned> {
  const partial = await store.runs.cleanPartialCreations();
  return { ...partial, marked: await markInterruptedStarts(store) };
}
