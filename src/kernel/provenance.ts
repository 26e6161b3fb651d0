/**
 * The provenance query: walks an artifact's lineage through the artifact
 * index (up: the artifacts it was made from; down: those made from it, in
 * any run), reads each run it reaches once (its journal, its violations, its
 * environment snapshot) and the replacement records, then hands the facts to
 * the pure `buildProvenanceGraph`. Reads only; runs nothing again.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { ENVIRONMENT_SNAPSHOT_TYPE } from "../observe/environment_snapshot.ts";
import { STEP_RUN_RECORD_TYPE } from "../runtime/step_run_record.ts";
import { GATE_RESULT_TYPE } from "../gates/gate_evaluator.ts";
import { POLICY_VIOLATION_TYPE } from "../policy/policy_violation.ts";
import { ARTIFACT_REPLACEMENT_TYPE } from "./run_replay.ts";
import type { ArtifactRef } from "../store/artifact_ref.ts";
import type { Store } from "../store/store.ts";
import type {
  EnvironmentFacts,
  LineageEdge,
  ProvenanceDirection,
  ReplacementFacts,
  RunFacts,
  ViolationFacts,
} from "../observe/provenance_facts.ts";
import { buildProvenanceGraph, type ProvenanceGraph } from "../observe/provenance_graph.ts";
import {
  environmentFacts,
  evaluationFacts,
  journaledGateResults,
  journaledSnapshot,
  PROVENANCE_EVENT_CODEC,
  replacementFacts,
  runFactsFromEvents,
  violationFacts,
} from "../observe/provenance_run_facts.ts";

/** Options of {@linkcode readProvenance}. */
export interface ProvenanceOptions {
  /**
   * `up` (ancestors), `down` (descendants) or `both`.
   * @default {"up"}
   */
  readonly direction?: ProvenanceDirection;
  /**
   * How many edges away from the artifact to follow; unlimited when absent.
   */
  readonly depth?: number;
}

/** The record types: shown on the artifacts they describe, never lineage nodes themselves. */
const ANNOTATION_TYPES: ReadonlySet<string> = new Set([
  GATE_RESULT_TYPE,
  POLICY_VIOLATION_TYPE,
  STEP_RUN_RECORD_TYPE,
  ENVIRONMENT_SNAPSHOT_TYPE,
  ARTIFACT_REPLACEMENT_TYPE,
]);

async function readJson(store: Store, ref: ArtifactRef | string): Promise<unknown> {
  const { bytes } = await store.artifacts.readBytes(ref);
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Reads a run's `policy_violation.v1` artifacts (rare: one query, few payloads). */
async function readViolations(store: Store, runId: string): Promise<ViolationFacts[]> {
  const refs = await store.index.query({ runId, type: POLICY_VIOLATION_TYPE });
  return await Promise.all(
    refs.map(async (r) => violationFacts(r.artifact_id, await readJson(store, r))),
  );
}

/** Reads the environment snapshot a run's `run_started` names; `null` when it names none. */
async function readEnvironment(store: Store, id: string | null): Promise<EnvironmentFacts | null> {
  return id === null ? null : environmentFacts(id, await readJson(store, id));
}

/** Reads the replacement records naming any of the given artifacts. */
async function readReplacements(
  store: Store,
  ids: ReadonlySet<string>,
): Promise<ReplacementFacts[]> {
  const refs = await store.index.query({ type: ARTIFACT_REPLACEMENT_TYPE });
  const all = await Promise.all(
    refs.map(async (r) => replacementFacts(r, await readJson(store, r))),
  );
  return all
    .filter((r) => ids.has(r.original_artifact_id) || ids.has(r.replacement_artifact_id))
    .sort((a, b) => a.replaced_at.localeCompare(b.replaced_at));
}

/** Reads one run: its journal, violations, gates-only evaluations and environment. */
async function readRun(store: Store, runId: string): Promise<RunFacts> {
  const [journal, violations, results] = await Promise.all([
    store.events.read(runId, PROVENANCE_EVENT_CODEC),
    readViolations(store, runId),
    store.index.query({ runId, type: GATE_RESULT_TYPE }),
  ]);
  const environment = await readEnvironment(store, journaledSnapshot(journal.entries));
  const journaled = journaledGateResults(journal.entries);
  const evaluations = await Promise.all(
    results.filter((r) => !journaled.has(r.artifact_id))
      .map(async (r) => evaluationFacts(r, await readJson(store, r))),
  );
  return runFactsFromEvents(runId, journal.entries, { violations, evaluations, environment });
}

/** The annotation types a step can read as an input: a route's `feedback`. */
const FEEDBACK_TYPES: ReadonlySet<string> = new Set([GATE_RESULT_TYPE, POLICY_VIOLATION_TYPE]);

/**
 * Whether an annotation met on a walk is a lineage node after all: a gate
 * result or violation a step read as an input (the failing report a route
 * fed back), so the chain from one round's output to the next shows.
 */
async function readAsInput(store: Store, n: ArtifactRef, way: "up" | "down"): Promise<boolean> {
  if (!FEEDBACK_TYPES.has(n.artifact_type)) return false;
  if (way === "up") return true;
  const { outputs } = await store.index.lineage(n.artifact_id);
  return outputs.some((o) => !ANNOTATION_TYPES.has(o.artifact_type));
}

/** The lineage reached from a root, one way, breadth first, up to a depth. */
async function walk(
  store: Store,
  root: ArtifactRef,
  way: "up" | "down",
  options: { depth: number | null; refs: Map<string, ArtifactRef>; edges: LineageEdge[] },
): Promise<void> {
  let frontier = [root];
  for (let d = 1; frontier.length > 0 && (options.depth === null || d <= options.depth); d++) {
    const next: ArtifactRef[] = [];
    for (const ref of frontier) {
      const neighbours = way === "up"
        ? await inputsOf(store, ref, options.refs)
        : (await store.index.lineage(ref.artifact_id)).outputs;
      for (const n of neighbours) {
        if (ANNOTATION_TYPES.has(n.artifact_type) && !(await readAsInput(store, n, way))) continue;
        options.edges.push(
          way === "up"
            ? { from: n.artifact_id, to: ref.artifact_id }
            : { from: ref.artifact_id, to: n.artifact_id },
        );
        if (options.refs.has(n.artifact_id)) continue;
        options.refs.set(n.artifact_id, n);
        next.push(n);
      }
    }
    frontier = next;
  }
}

async function inputsOf(
  store: Store,
  ref: ArtifactRef,
  known: ReadonlyMap<string, ArtifactRef>,
): Promise<ArtifactRef[]> {
  const refs: ArtifactRef[] = [];
  for (const id of new Set(ref.input_artifact_refs)) {
    const input = known.get(id) ?? await store.index.get(id);
    if (input) refs.push(input);
  }
  return refs;
}

/**
 * Answers where an artifact came from and what was made of it, from the
 * store alone: the index's lineage, each reached run's journal (read once
 * per run), its violations, environment snapshot and the replacement records.
 *
 * @param store The open store.
 * @param artifactId The artifact.
 * @param options Direction and depth.
 * @returns Its provenance graph.
 * @throws {UsageError} When the id is not a UUID or the depth is not a whole number ≥ 0.
 * @throws {NotFoundError} When there is no such artifact.
 */
export async function readProvenance(
  store: Store,
  artifactId: string,
  options: ProvenanceOptions = {},
): Promise<ProvenanceGraph> {
  const direction = options.direction ?? "up";
  const depth = options.depth ?? null;
  if (depth !== null && (!Number.isInteger(depth) || depth < 0)) {
    throw new UsageError(`Invalid depth ${depth}: expected a whole number of edges, 0 or more`);
  }
  const root = await store.artifacts.ref(artifactId);
  const refs = new Map([[root.artifact_id, root]]);
  const edges: LineageEdge[] = [];
  if (direction !== "down") await walk(store, root, "up", { depth, refs, edges });
  if (direction !== "up") await walk(store, root, "down", { depth, refs, edges });
  const runIds = [...new Set([...refs.values()].map((r) => r.run_id))];
  const [runs, replacements] = await Promise.all([
    Promise.all(runIds.map((runId) => readRun(store, runId))),
    readReplacements(store, new Set(refs.keys())),
  ]);
  return buildProvenanceGraph({
    root: root.artifact_id,
    direction,
    depth,
    artifacts: [...refs.values()],
    edges,
    runs,
    replacements,
  });
}
