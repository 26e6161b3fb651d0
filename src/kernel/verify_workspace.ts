/**
 * Whole-workspace verification: the store's checks (index, hashes, index ↔
 * files, manifests, partial creations) plus every run's runtime files: the
 * journal must parse event by event and fold into a state, and the lease
 * files and the exported run state must be what the runner writes. A
 * journal must agree with the run's other files (see
 * `run_journal_check.ts`), and every artifact it names must be in the index.
 * A run whose runner died before exporting its state gets it re-derived.
 *
 * @module
 */

import { LilyError } from "../core/errors.ts";
import type { RunLayout } from "../store/layout.ts";
import { creationLockPath } from "../store/run_store.ts";
import type { Store } from "../store/store.ts";
import {
  type Finding,
  type FindingKind,
  severityOf,
  type VerifyOptions,
  type VerifyReport,
  verifyStore,
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
import { repairRunFiles } from "../runtime/run_state_file.ts";

/**
 * Verifies the store and every run's journal, lease files and run state.
 *
 * @param store The open store.
 * @param options Restrict to one run.
 * @returns The store's report with the runtime files' findings added.
 * @throws {NotFoundError} When the run asked for does not exist.
 */
export async function verifyWorkspace(
  store: Store,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const report = await verifyStore(store, options);
  const findings: Finding[] = [...report.findings];
  const add = (kind: FindingKind, runId: string, path: string, detail: string) =>
    findings.push({
      kind,
      severity: severityOf(kind),
      run_id: runId,
      artifact_id: null,
      path,
      detail,
    });
  const runIds = options.runId !== undefined
    ? [options.runId]
    : (await store.runs.list()).map((r) => r.run_id);
  const indexUsable = store.index.damage === undefined &&
    !report.findings.some((f) => f.kind === "damaged_index");
  for (const runId of runIds.sort()) {
    const run = store.runs.paths(runId);
    try {
      // A damaged manifest is the store's finding; its journal is still read.
      const manifestReadable = await store.runs.get(runId).then(() => true, () => false);
      const { events, verdict } = manifestReadable
        ? await checkRunJournal(store, runId)
        : { events: (await readJournal(run.events)).events, verdict: { kind: "sound" } as const };
      if (verdict.kind === "lost") {
        add(
          "missing_journal",
          runId,
          run.events,
          lostJournalError(store, runId, verdict.evidence).message,
        );
      } else if (verdict.kind === "interrupted_start") {
        add("interrupted_start", runId, run.root, interruptedStartMessage(runId));
      }
      const state = foldEvents(runId, events);
      if (indexUsable) {
        for (const ref of journalArtifactRefs(events)) {
          if (store.index.get(ref.artifact_id)) continue;
          findings.push({
            kind: "dangling_ref",
            severity: severityOf("dangling_ref"),
            run_id: runId,
            artifact_id: ref.artifact_id,
            path: run.events,
            detail: `event ${ref.seq} (${ref.field}) names an artifact that is not in the index; ` +
              `the index ${store.layout.indexPath} was lost or damaged: restore it from a backup`,
          });
        }
      }
      // Whoever finds a run whose runner died before exporting its state re-derives it.
      if (verdict.kind === "sound") await repairRunFiles(store, state);
    } catch (err) {
      if (!(err instanceof LilyError)) throw err;
      add("invalid_journal", runId, run.events, err.message);
    }
    for (const [path, problem] of await runFileProblems(run, runId)) {
      add("damaged_file", runId, path, problem);
    }
  }
  if (options.runId === undefined) {
    const creationLock = creationLockPath(store.layout);
    const problem = await lockFileProblem(creationLock, "run creation lock");
    if (problem !== undefined) {
      findings.push({
        kind: "damaged_file",
        severity: severityOf("damaged_file"),
        run_id: null,
        artifact_id: null,
        path: creationLock,
        detail: problem,
      });
    }
  }
  return { ...report, ok: findings.every((f) => f.severity === "warning"), findings };
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

/** Checks the lease files and the exported state: each absent, or what the runner writes. */
async function runFileProblems(run: RunLayout, runId: string): Promise<[string, string][]> {
  const problems: [string, string][] = [];
  const locks: readonly (readonly [string, string])[] = [
    [run.lease, "runner lease"],
    [run.lock, "manifest lock"],
  ];
  for (const [path, what] of locks) {
    const problem = await lockFileProblem(path, what);
    if (problem !== undefined) problems.push([path, problem]);
  }
  const holder = await readJson(run.leaseInfo);
  if (
    holder !== undefined &&
    ("problem" in holder || !isObject(holder.value) || !Number.isInteger(holder.value.pid) ||
      typeof holder.value.since !== "string")
  ) {
    problems.push([
      run.leaseInfo,
      `${"problem" in holder ? holder.problem : "it holds other JSON"}, not the last ` +
      'runner\'s {"pid", "since"}; it only names the last runner, so removing it loses nothing',
    ]);
  }
  const state = await readJson(run.state);
  if (
    state !== undefined &&
    ("problem" in state || !isObject(state.value) || state.value.run_id !== runId)
  ) {
    problems.push([
      run.state,
      `${"problem" in state ? state.problem : "it holds other JSON"}, not this run's exported ` +
      "state; it is an export of the journal (events.jsonl), which keeps the run's record, so " +
      "removing it loses nothing",
    ]);
  }
  return problems;
}

/** What is wrong with a lock file (absent or a regular file is right). */
async function lockFileProblem(path: string, what: string): Promise<string | undefined> {
  const kind = await kindOf(path);
  return kind === "absent" || kind === "a regular file"
    ? undefined
    : `the ${what} file is ${kind}; it holds no data: remove it`;
}

async function kindOf(path: string): Promise<string> {
  try {
    const info = await Deno.lstat(path);
    return info.isFile ? "a regular file" : info.isSymlink ? "a symlink" : "not a regular file";
  } catch (err) {
    return err instanceof Deno.errors.NotFound
      ? "absent"
      : `unreadable (${(err as Error).message})`;
  }
}

/** The parsed file, `undefined` when absent, or what makes it unreadable. */
async function readJson(
  path: string,
): Promise<{ value: unknown } | { problem: string } | undefined> {
  const kind = await kindOf(path);
  if (kind === "absent") return undefined;
  if (kind !== "a regular file") return { problem: `it is ${kind}` };
  try {
    return { value: JSON.parse(await Deno.readTextFile(path)) };
  } catch (err) {
    return {
      problem: err instanceof SyntaxError
        ? "it is not valid JSON"
        : `it is unreadable (${(err as Error).message})`,
    };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
