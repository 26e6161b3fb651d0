/**
 * Verification of the filesystem store: recompute every payload hash, check
 * the index against the files and the files against the index, check every
 * manifest, every run's journal (with the caller's check) and the run files
 * beside it. Reached through `Store.verify`.
 *
 * @module
 */

import { join } from "node:path";
import {
  DamagedFileError,
  LilyError,
  NotFoundError,
  PathSecurityError,
  StorageError,
} from "../core/errors.ts";
import { isUuid } from "../core/ids.ts";
import type { ArtifactRef } from "./artifact_ref.ts";
import { storageError } from "../core/storage_error.ts";
import { lockFileProblem, runFileProblems } from "./fs/run_file_problems.ts";
import { runLayout, type StoreLayout } from "./layout.ts";
import { creationLockPath, type RunStore } from "./run_store.ts";
import type { SqliteArtifactIndex } from "./sqlite/sqlite_artifact_index.ts";
import { readManifest } from "./run_manifest.ts";
import { resolveInside } from "./safe_path.ts";
import type { FsBlobStore } from "./fs/fs_blob_store.ts";
import { checkContentStore, InodeHasher, linkProblem } from "./verify_content.ts";

/** What a finding is about. */
export type FindingKind =
  | "invalid_manifest"
  | "missing_payload"
  | "hash_mismatch"
  | "bad_path"
  | "dangling_ref"
  | "orphan_payload"
  | "stray_entry"
  | "invalid_journal"
  | "damaged_index"
  | "damaged_file"
  | "partial_run"
  | "interrupted_start"
  | "missing_journal"
  | "torn_journal"
  | "orphan_content"
  | "unlinked_payload";

/** Whether a finding fails verification. */
export type FindingSeverity = "error" | "warning";

/** One problem found by verification (`store.verify()`, `verifyWorkspace`, `lily verify`). */
export interface Finding {
  /** What kind of problem it is. */
  readonly kind: FindingKind;
  /** `error` fails verification; `warning` (e.g. the trace of a crash) does not. */
  readonly severity: FindingSeverity;
  /** The run it is in, or null for a store-wide file such as the index. */
  readonly run_id: string | null;
  /** The artifact it concerns, when there is one. */
  readonly artifact_id: string | null;
  /** The file it concerns. */
  readonly path: string;
  /** What is wrong. */
  readonly detail: string;
}

/** The outcome of verification: every finding, and what was checked. */
export interface VerifyReport {
  /** True when no finding is an error. */
  readonly ok: boolean;
  /** How many runs were checked. */
  readonly runs_checked: number;
  /** How many index rows were checked. */
  readonly artifacts_checked: number;
  /** Everything found, errors and warnings. */
  readonly findings: readonly Finding[];
}

/** A finding about a run's journal, as the journal check reports it (the store adds the run and the file). */
export interface JournalFinding {
  /**
   * `missing_journal`, `dangling_ref`, `invalid_journal` and `torn_journal`
   * (a torn last entry, the trace of a crash mid-append, skipped by readers)
   * are about one of the run's logs, `interrupted_start` about the run as a
   * whole.
   */
  readonly kind:
    | "missing_journal"
    | "dangling_ref"
    | "interrupted_start"
    | "invalid_journal"
    | "torn_journal";
  /**
   * Which of the run's logs it is about: its events, or its access journal.
   * @default {"events"}
   */
  readonly log?: "events" | "access";
  /** The artifact it concerns, when there is one. */
  readonly artifact_id: string | null;
  /** What is wrong. */
  readonly detail: string;
}

/** What verification tells the journal check about the store. */
export interface JournalCheckContext {
  /** Whether the index is readable; when it is not, the journal's references cannot be checked. */
  readonly indexUsable: boolean;
}

/** Options of verification: which run to check, and how to check journals. */
export interface VerifyOptions {
  /** Check only this run. */
  runId?: string;
  /**
   * Checks a run's journal (e.g. that its events fold into a state, agree
   * with the run's other files and name only indexed artifacts), returning
   * its findings; a {@linkcode LilyError} it throws becomes an
   * `invalid_journal` finding. Without it, journals are not checked.
   */
  checkJournal?: (
    runId: string,
    context: JournalCheckContext,
  ) => Promise<readonly JournalFinding[]>;
}

/** The parts of a filesystem store that verification reads. */
export interface FsStoreParts {
  /** The store's paths. */
  readonly layout: StoreLayout;
  /** The SQLite index. */
  readonly index: SqliteArtifactIndex;
  /** The runs. */
  readonly runs: RunStore;
  /** The blob store and its content store. */
  readonly blobs: FsBlobStore;
}

const WARNINGS: readonly FindingKind[] = [
  "orphan_payload",
  "orphan_content",
  "unlinked_payload",
  "stray_entry",
  "partial_run",
  "interrupted_start",
  "torn_journal",
];

/** Tells whether a finding of this kind fails verification: `warning` for the expected traces of a crash. */
function severityOf(kind: FindingKind): FindingSeverity {
  return WARNINGS.includes(kind) ? "warning" : "error";
}

async function listDir(path: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(path)) out.push(entry);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, path, "list");
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Verifies a filesystem store: the index is a sound SQLite file; every index row's
 * payload exists inside its run and has the recorded hash; every manifest is
 * valid and its work order exists; payload directories without an index row
 * and the traces of interrupted run creations are reported as warnings. A
 * damaged file is a finding, and verification goes on with what it can still
 * check (with a damaged index: the manifests and the run directories).
 * Then, for every run, its journal (with `checkJournal`) and the run files
 * beside it (lease files, exported state).
 *
 * @param store The open store's parts (opened with `tolerateDamagedIndex`
 * to report a damaged index instead of failing to open).
 * @param options Restrict to one run; the journal check.
 * @returns The findings; `ok` is false when any is an error.
 * @throws {NotFoundError} When the run asked for does not exist.
 */
export async function verifyFsStore(
  store: FsStoreParts,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const findings: Finding[] = [];
  const add = (f: Omit<Finding, "severity">) =>
    findings.push({ ...f, severity: severityOf(f.kind) });
  const damagedIndex = (err: LilyError) =>
    add({
      kind: "damaged_index",
      run_id: null,
      artifact_id: null,
      path: err instanceof StorageError || err instanceof DamagedFileError
        ? err.path
        : store.layout.indexPath,
      detail: err.message,
    });
  if (options.runId !== undefined) await store.runs.get(options.runId).catch(rethrowNotFound);
  const partials = options.runId === undefined ? await store.runs.partialCreations() : [];
  for (const partial of partials) {
    add({
      kind: "partial_run",
      run_id: partial.run_id,
      artifact_id: null,
      path: partial.path,
      detail: "trace of an interrupted run creation; remove it with `lily verify --clean-partial`",
    });
  }
  const legacy = new Set(partials.filter((p) => p.legacy).map((p) => p.run_id));
  const runIds = options.runId !== undefined
    ? [options.runId]
    : (await listDir(store.layout.runsDir))
      .filter((e) => isUuid(e.name) && !legacy.has(e.name))
      .map((e) => e.name);
  let indexUsable = store.index.damage === undefined;
  if (!indexUsable) damagedIndex(store.index.damage!);
  const rowsByRun = new Map<string, ArtifactRef[]>();
  if (indexUsable) {
    try {
      const problems = store.index.check();
      if (problems.length > 0) {
        add({
          kind: "damaged_index",
          run_id: null,
          artifact_id: null,
          path: store.layout.indexPath,
          detail: `SQLite quick_check: ${problems.slice(0, 3).join("; ").replace(/\s+/g, " ")}; ` +
            "restore it from a backup",
        });
      }
      for (const ref of await store.index.query(options.runId ? { runId: options.runId } : {})) {
        if (!rowsByRun.has(ref.run_id)) rowsByRun.set(ref.run_id, []);
        rowsByRun.get(ref.run_id)!.push(ref);
      }
    } catch (err) {
      if (!(err instanceof LilyError)) throw err;
      if (!findings.some((f) => f.kind === "damaged_index")) damagedIndex(err);
      indexUsable = false;
      rowsByRun.clear();
    }
  }
  for (const runId of rowsByRun.keys()) if (!runIds.includes(runId)) runIds.push(runId);
  const collected = indexUsable ? await store.index.collectedIds() : new Set<string>();
  const hasher = new InodeHasher();
  let checked = 0;
  for (const runId of runIds.sort()) {
    const run = runLayout(store.layout, runId);
    const rows = rowsByRun.get(runId) ?? [];
    try {
      const manifest = await readManifest(run.manifest, runId);
      const wo = manifest.work_order_ref;
      if (wo && indexUsable && !(await store.index.get(wo.artifact_id))) {
        add({
          kind: "dangling_ref",
          run_id: runId,
          artifact_id: wo.artifact_id,
          path: run.manifest,
          detail: "work_order_ref names an artifact that is not in the index; the index " +
            `${store.layout.indexPath} was lost or damaged: restore it from a backup`,
        });
      }
    } catch (err) {
      if (!(err instanceof LilyError)) throw err;
      add({
        kind: "invalid_manifest",
        run_id: runId,
        artifact_id: null,
        path: run.manifest,
        detail: err.message,
      });
    }
    for (const ref of rows) {
      // A collected artifact's row stays, its payload is gone on purpose.
      if (collected.has(ref.artifact_id)) continue;
      checked++;
      const path = join(run.root, ref.rel_path);
      let resolved: string;
      try {
        resolveInside(run.root, ref.rel_path);
        resolved = await store.blobs.openPath(`${runId}/${ref.rel_path}`);
      } catch (err) {
        if (!(err instanceof LilyError) && !(err instanceof Deno.errors.NotFound)) throw err;
        const detail = err instanceof LilyError ? err.message : "run directory is missing";
        const kind = err instanceof PathSecurityError
          ? "bad_path"
          : err instanceof LilyError
          ? "damaged_file"
          : "missing_payload";
        add({ kind, run_id: runId, artifact_id: ref.artifact_id, path, detail });
        continue;
      }
      let actual: string;
      try {
        actual = await hasher.hash(resolved);
      } catch (err) {
        add({
          kind: "missing_payload",
          run_id: runId,
          artifact_id: ref.artifact_id,
          path,
          detail: `payload is missing or unreadable: ${(err as Error).message}`,
        });
        continue;
      }
      if (actual !== ref.sha256) {
        add({
          kind: "hash_mismatch",
          run_id: runId,
          artifact_id: ref.artifact_id,
          path,
          detail: `expected sha256 ${ref.sha256}, got ${actual}`,
        });
        continue;
      }
      const unlinked = await linkProblem(store.blobs, resolved, ref.sha256);
      if (unlinked !== undefined) {
        add({
          kind: "unlinked_payload",
          run_id: runId,
          artifact_id: ref.artifact_id,
          path,
          detail: unlinked,
        });
      }
    }
    if (!indexUsable) continue;
    const known = new Set(rows.map((r) => r.artifact_id));
    let entries: Deno.DirEntry[];
    try {
      entries = await listDir(run.artifacts);
    } catch (err) {
      if (!(err instanceof LilyError)) throw err;
      add({
        kind: "damaged_file",
        run_id: runId,
        artifact_id: null,
        path: run.artifacts,
        detail: err.message,
      });
      continue;
    }
    for (const entry of entries) {
      if (known.has(entry.name)) continue;
      const orphan = entry.isDirectory && isUuid(entry.name);
      add({
        kind: orphan ? "orphan_payload" : "stray_entry",
        run_id: runId,
        artifact_id: orphan ? entry.name : null,
        path: join(run.artifacts, entry.name),
        detail: orphan
          ? "payload directory without an index row (left by an interrupted put)"
          : "entry that the artifact store did not write",
      });
    }
  }
  const indexReadable = indexUsable && !findings.some((f) => f.kind === "damaged_index");
  if (options.runId === undefined && indexReadable) {
    const kept = new Set<string>();
    for (const refs of rowsByRun.values()) {
      for (const ref of refs) if (!collected.has(ref.artifact_id)) kept.add(ref.sha256);
    }
    for (const f of await checkContentStore(store.blobs, kept, hasher)) add(f);
  }
  await checkRunFiles(store, { ...options, indexUsable: indexReadable }, add);
  if (options.runId === undefined) {
    const creationLock = creationLockPath(store.layout);
    const problem = await lockFileProblem(creationLock, "run creation lock");
    if (problem !== undefined) {
      add({
        kind: "damaged_file",
        run_id: null,
        artifact_id: null,
        path: creationLock,
        detail: problem,
      });
    }
  }
  return {
    ok: findings.every((f) => f.severity === "warning"),
    runs_checked: runIds.length,
    artifacts_checked: checked,
    findings,
  };
}

/** Checks every run's journal and the files beside it, in run id order. */
async function checkRunFiles(
  store: FsStoreParts,
  options: VerifyOptions & JournalCheckContext,
  add: (f: Omit<Finding, "severity">) => void,
): Promise<void> {
  const runIds = options.runId !== undefined
    ? [options.runId]
    : (await store.runs.list()).map((r) => r.run_id);
  for (const runId of runIds.sort()) {
    const run = runLayout(store.layout, runId);
    const finding = (kind: FindingKind, path: string, detail: string) =>
      add({ kind, run_id: runId, artifact_id: null, path, detail });
    try {
      const context = { indexUsable: options.indexUsable };
      for (const f of (await options.checkJournal?.(runId, context)) ?? []) {
        const path = f.kind === "interrupted_start"
          ? run.root
          : f.log === "access"
          ? run.access
          : run.events;
        add({ kind: f.kind, run_id: runId, artifact_id: f.artifact_id, path, detail: f.detail });
      }
    } catch (err) {
      if (!(err instanceof LilyError)) throw err;
      finding("invalid_journal", run.events, err.message);
    }
    for (const [path, problem] of await runFileProblems(run, runId)) {
      finding("damaged_file", path, problem);
    }
  }
}

function rethrowNotFound(err: unknown): void {
  if (err instanceof NotFoundError) throw err;
}
