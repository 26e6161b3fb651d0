/**
 * What `lily gc` removes, decided without touching anything (the shell in
 * `content_store.ts` gathers the facts, under the put/gc lock unless it is a
 * dry run, and acts on the plan).
 *
 * The collection model:
 * - Runs are selected only by the user: `--older-than D` selects runs last
 *   updated at least D ago, `--keep-last N` every run but the N newest
 *   (by creation); given both, a run must meet both. Only ended runs
 *   (succeeded, failed, cancelled) with no live runner are ever selected;
 *   never a created, running or waiting one. Without either option no run
 *   is selected.
 * - Every artifact of a selected run is collected, except pinned ones and
 *   the run's own records ({@linkcode RECORD_TYPES}: run metadata, small,
 *   read by `lily run show`). Its index row stays, marked collected
 *   (provenance still knows its hash); its path (key) is removed.
 * - An artifact of a selected run that a kept run's artifact names as an
 *   input (an `@ARTIFACT_ID` input, a step run record of a cached attempt
 *   that reused it), or that a run not selected names itself (an
 *   `@ARTIFACT_ID` source of its workflow, a step that has not started yet
 *   included; a run input; an attempt's input), is kept too: that run may
 *   still read it (go on, resume, rerun).
 * - A payload is removed when no artifact that is not collected (pinned
 *   ones included) has its hash: dedup means a payload can be shared by a
 *   collected and a kept run, and then it stays.
 * - Always, whatever the selection: payloads no artifact references, keys
 *   without an index row and temp files (the traces of interrupted puts).
 *
 * @module
 */

import type { ArtifactRef } from "../store/artifact_ref.ts";
import type { ContentInfo } from "../store/ports.ts";
import type { RunStatus } from "../store/run_manifest.ts";

/**
 * The record types the kernel writes: a run's metadata (its workflow file,
 * work order, environment snapshot, step run records, gate results, step
 * failures, policy violations, artifact replacements and LLM exchanges),
 * which gc never collects, so provenance and `run show` still answer.
 */
export const RECORD_TYPES: readonly string[] = [
  "workflow.v1",
  "work_order.v1",
  "environment_snapshot.v1",
  "step_run_record.v1",
  "llm_request.v1",
  "llm_reply.v1",
  "gate_result.v1",
  "step_failure.v1",
  "policy_violation.v1",
  "artifact_replacement.v1",
];

/** Run statuses gc may collect: the run has ended. */
export const COLLECTABLE_STATUSES: readonly RunStatus[] = ["succeeded", "failed", "cancelled"];

/** Which runs to collect. */
export interface GcSelection {
  /** Runs last updated at least this long ago (ms), or null. */
  readonly older_than_ms: number | null;
  /** Keep the newest N runs, or null. */
  readonly keep_last: number | null;
}

/** A run as gc sees it. */
export interface GcRun {
  /** The run. */
  readonly run_id: string;
  /** Its status. */
  readonly status: RunStatus;
  /** When it was created (ISO 8601). */
  readonly created_at: string;
  /** When its manifest last changed (ISO 8601). */
  readonly updated_at: string;
  /** Whether a runner holds it now. */
  readonly live: boolean;
}

/** Everything gc decides from. */
export interface GcFacts {
  /** Now. */
  readonly now: Date;
  /** The selection. */
  readonly selection: GcSelection;
  /** Every run with a readable manifest. */
  readonly runs: readonly GcRun[];
  /** Every index row. */
  readonly rows: readonly ArtifactRef[];
  /** The ids already collected. */
  readonly collected: ReadonlySet<string>;
  /** The pinned ids. */
  readonly pinned: ReadonlySet<string>;
  /** Every payload of the content store. */
  readonly contents: readonly ContentInfo[];
  /** Every stored key (`<run_id>/artifacts/<artifact_id>/<name>`). */
  readonly keys: readonly string[];
  /** Temp files of interrupted puts. */
  readonly leftovers: readonly string[];
  /** The artifacts each run names as inputs (its workflow's `@ARTIFACT_ID` sources, run and attempt inputs). */
  readonly references: readonly ArtifactReference[];
}

/** A run naming an artifact it reads (or may read) as an input. */
export interface ArtifactReference {
  /** The run naming it. */
  readonly run_id: string;
  /** The artifact. */
  readonly artifact_id: string;
}

/** What gc removes. */
export interface GcPlan {
  /** The selected runs, oldest first. */
  readonly runs: string[];
  /** The artifacts to mark collected. */
  readonly artifacts: string[];
  /** Pinned artifacts of selected runs, kept. */
  readonly pinned_kept: string[];
  /** Artifacts of selected runs kept because a kept run still reads them. */
  readonly referenced_kept: string[];
  /** The keys to remove. */
  readonly keys: string[];
  /** The payloads to remove. */
  readonly payloads: ContentInfo[];
  /** Payloads of newly collected artifacts kept because a kept artifact shares them. */
  readonly shared_kept: number;
  /** The temp files to remove. */
  readonly leftovers: string[];
}

/** A `/`-separated path without its last segment (`a/b/` gives `a/b`). */
function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/**
 * Selects the runs to collect.
 *
 * @param runs Every run.
 * @param selection The user's selection.
 * @param now Now.
 * @returns The selected run ids, oldest first.
 */
export function selectRuns(runs: readonly GcRun[], selection: GcSelection, now: Date): string[] {
  if (selection.older_than_ms === null && selection.keep_last === null) return [];
  const ended = runs
    .filter((r) => COLLECTABLE_STATUSES.includes(r.status) && !r.live)
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.run_id.localeCompare(a.run_id));
  const cutoff = selection.older_than_ms === null
    ? Infinity
    : now.getTime() - selection.older_than_ms;
  return ended
    .slice(selection.keep_last ?? 0)
    .filter((r) => Date.parse(r.updated_at) <= cutoff)
    .map((r) => r.run_id)
    .reverse();
}

/**
 * Decides what gc removes.
 *
 * @param facts The store as gathered.
 * @returns The plan.
 */
export function planGc(facts: GcFacts): GcPlan {
  const runs = selectRuns(facts.runs, facts.selection, facts.now);
  const selected = new Set(runs);
  const referenced = new Set(
    [
      ...facts.rows
        .filter((row) => !selected.has(row.run_id) && !facts.collected.has(row.artifact_id))
        .flatMap((row) => row.input_artifact_refs),
      ...facts.references.filter((r) => !selected.has(r.run_id)).map((r) => r.artifact_id),
    ],
  );
  const artifacts: string[] = [];
  const pinnedKept: string[] = [];
  const referencedKept: string[] = [];
  for (const row of facts.rows) {
    if (!selected.has(row.run_id) || facts.collected.has(row.artifact_id)) continue;
    if (RECORD_TYPES.includes(row.artifact_type)) continue;
    if (facts.pinned.has(row.artifact_id)) pinnedKept.push(row.artifact_id);
    else if (referenced.has(row.artifact_id)) referencedKept.push(row.artifact_id);
    else artifacts.push(row.artifact_id);
  }
  const collectedNow = new Set(artifacts);
  const gone = (id: string) => facts.collected.has(id) || collectedNow.has(id);
  const keptShas = new Set<string>();
  const keptSlots = new Set<string>();
  for (const row of facts.rows) {
    if (gone(row.artifact_id)) continue;
    keptShas.add(row.sha256);
    keptSlots.add(`${row.run_id}/${parentOf(row.rel_path)}`);
  }
  const freedShas = new Set(
    facts.rows.filter((r) => collectedNow.has(r.artifact_id)).map((r) => r.sha256),
  );
  return {
    runs,
    artifacts: artifacts.sort(),
    pinned_kept: pinnedKept.sort(),
    referenced_kept: referencedKept.sort(),
    keys: facts.keys.filter((key) => !keptSlots.has(parentOf(key))),
    payloads: facts.contents.filter((c) => !keptShas.has(c.sha256)),
    shared_kept: [...freedShas].filter((sha) => keptShas.has(sha)).length,
    leftovers: [...facts.leftovers],
  };
}
