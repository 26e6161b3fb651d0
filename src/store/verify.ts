/**
 * Store verification: recompute every payload hash, check the index against
 * the files and the files against the index, and check every manifest.
 *
 * @module
 */

import { join } from "node:path";
import { sha256File } from "../core/canonical_json.ts";
import { LilyError, NotFoundError } from "../core/errors.ts";
import { isUuid } from "../core/ids.ts";
import type { ArtifactRef } from "./artifact_ref.ts";
import { runLayout } from "./layout.ts";
import { readManifest } from "./run_manifest.ts";
import { resolveInside } from "./safe_path.ts";
import type { Store } from "./store.ts";

/** What a finding is about. */
export type FindingKind =
  | "invalid_manifest"
  | "missing_payload"
  | "hash_mismatch"
  | "bad_path"
  | "dangling_ref"
  | "orphan_payload"
  | "stray_entry"
  | "invalid_journal";

/** Whether a finding fails verification. */
export type FindingSeverity = "error" | "warning";

/** One problem found by {@linkcode verifyStore}. */
export interface Finding {
  /** What kind of problem it is. */
  readonly kind: FindingKind;
  /** `error` fails verification; `warning` (e.g. the trace of a crash) does not. */
  readonly severity: FindingSeverity;
  /** The run it is in. */
  readonly run_id: string;
  /** The artifact it concerns, when there is one. */
  readonly artifact_id: string | null;
  /** The file it concerns. */
  readonly path: string;
  /** What is wrong. */
  readonly detail: string;
}

/** The outcome of {@linkcode verifyStore}. */
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

/** Options of {@linkcode verifyStore}. */
export interface VerifyOptions {
  /** Check only this run. */
  runId?: string;
}

const WARNINGS: readonly FindingKind[] = ["orphan_payload", "stray_entry"];

async function listDir(path: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(path)) out.push(entry);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Verifies a store: every index row's payload exists inside its run and has
 * the recorded hash; every manifest is valid and its work order exists;
 * payload directories without an index row are reported as warnings (the
 * expected trace of a crash between fsync and commit).
 *
 * @param store The open store.
 * @param options Restrict to one run.
 * @returns The findings; `ok` is false when any is an error.
 */
export async function verifyStore(
  store: Store,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const findings: Finding[] = [];
  const add = (f: Omit<Finding, "severity">) =>
    findings.push({ ...f, severity: WARNINGS.includes(f.kind) ? "warning" : "error" });
  const runIds = options.runId !== undefined
    ? [options.runId]
    : (await listDir(store.layout.runsDir)).filter((e) => isUuid(e.name)).map((e) => e.name);
  if (options.runId !== undefined) await store.runs.get(options.runId).catch(rethrowNotFound);
  const rowsByRun = new Map<string, ArtifactRef[]>();
  for (const ref of store.index.query(options.runId ? { runId: options.runId } : {})) {
    if (!rowsByRun.has(ref.run_id)) rowsByRun.set(ref.run_id, []);
    rowsByRun.get(ref.run_id)!.push(ref);
  }
  for (const runId of rowsByRun.keys()) if (!runIds.includes(runId)) runIds.push(runId);
  let checked = 0;
  for (const runId of runIds.sort()) {
    const run = runLayout(store.layout, runId);
    const rows = rowsByRun.get(runId) ?? [];
    try {
      const manifest = await readManifest(run.manifest);
      const wo = manifest.work_order_ref;
      if (wo && !store.index.get(wo.artifact_id)) {
        add({
          kind: "dangling_ref",
          run_id: runId,
          artifact_id: wo.artifact_id,
          path: run.manifest,
          detail: "work_order_ref names an artifact that is not in the index",
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
      checked++;
      const path = join(run.root, ref.rel_path);
      let resolved: string;
      try {
        resolved = resolveInside(run.root, ref.rel_path);
      } catch (err) {
        if (!(err instanceof LilyError) && !(err instanceof Deno.errors.NotFound)) throw err;
        const detail = err instanceof LilyError ? err.message : "run directory is missing";
        const kind = err instanceof LilyError ? "bad_path" : "missing_payload";
        add({ kind, run_id: runId, artifact_id: ref.artifact_id, path, detail });
        continue;
      }
      let actual: string;
      try {
        actual = await sha256File(resolved);
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
      }
    }
    const known = new Set(rows.map((r) => r.artifact_id));
    for (const entry of await listDir(run.artifacts)) {
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
  return {
    ok: findings.every((f) => f.severity === "warning"),
    runs_checked: runIds.length,
    artifacts_checked: checked,
    findings,
  };
}

function rethrowNotFound(err: unknown): void {
  if (err instanceof NotFoundError) throw err;
}
