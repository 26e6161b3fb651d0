/**
 * The provenance graph of an artifact: a pure function of the facts the
 * kernel gathered ({@linkcode ProvenanceFacts}). Each node is one artifact
 * with what produced it (run, step, attempt, cause, status, inputs with the
 * sha256 they had when read), the gates that judged that attempt, the policy
 * violations it and its gates caused, its run's environment snapshot and the
 * replacements naming it; each edge says that one artifact was made from
 * another, and by which attempt. The vocabulary follows W3C PROV-DM
 * (https://www.w3.org/TR/prov-dm/): artifacts are entities, attempts the
 * activities that used and generated them.
 *
 * @module
 */

import type {
  AttemptFacts,
  AttemptSummary,
  EnvironmentFacts,
  LineageEdge,
  ProvenanceDirection,
  ProvenanceFacts,
  ReplacementFacts,
  RunFacts,
  ViolationFacts,
} from "./provenance_facts.ts";

/** Where a node sits relative to the artifact asked about. */
export type ProvenanceRole = "root" | "ancestor" | "descendant";

/** An input an attempt read: its name, artifact id and sha256 when read. */
export interface ProvenanceInput {
  /** The step's name for the input. */
  readonly name: string;
  /** The artifact read. */
  readonly artifact_id: string;
  /** Its sha256 when the attempt started (`null` when it was not recorded). */
  readonly sha256: string | null;
}

/** A policy violation, as a node shows it. */
export interface ProvenanceViolation {
  /** The `policy_violation.v1` artifact. */
  readonly artifact_id: string;
  /** What kind of access was refused. */
  readonly kind: string;
  /** What was refused. */
  readonly target: string;
  /** The refusal, in words. */
  readonly message: string;
}

/**
 * A gate that judged the artifact: one of its producing attempt's gates
 * (`run`), or a gates-only evaluation of it (`gates_only`, `lily run rerun
 * --gates-only`).
 */
export interface ProvenanceGate {
  /** `run` or `gates_only`. */
  readonly evaluation: "run" | "gates_only";
  /** The gate id. */
  readonly gate_id: string;
  /** Its verdict: `pass`, `fail`, `error`, `skipped` or `cancelled`. */
  readonly status: string;
  /** Whether the step needed it to pass. */
  readonly required: boolean;
  /** The `gate_result.v1` artifact. */
  readonly result_id: string;
  /** The violations the gate caused. */
  readonly violations: readonly ProvenanceViolation[];
}

/** The attempt that produced an artifact. */
export interface ProvenanceProducer extends AttemptSummary {
  /** What it read. */
  readonly inputs: readonly ProvenanceInput[];
  /** The output name it committed this artifact under. */
  readonly output: string;
}

/** A replacement record naming a node. */
export interface ProvenanceReplacement {
  /** The `artifact_replacement.v1` record. */
  readonly record_id: string;
  /** The artifact that was replaced. */
  readonly original_artifact_id: string;
  /** The artifact that took its place. */
  readonly replacement_artifact_id: string;
  /** Why. */
  readonly reason: string;
  /** When (ISO-8601). */
  readonly replaced_at: string;
  /** Who, when recorded. */
  readonly replaced_by: string | null;
}

/** One artifact of the graph. */
export interface ProvenanceNode {
  /** The artifact. */
  readonly artifact_id: string;
  /** Its type. */
  readonly artifact_type: string;
  /** Its name, if any. */
  readonly artifact_name: string | null;
  /** The run it belongs to. */
  readonly run_id: string;
  /** sha256 of its payload, recorded when it was stored. */
  readonly sha256: string;
  /** Payload size in bytes. */
  readonly size_bytes: number;
  /** When it was stored (ISO-8601). */
  readonly created_at: string;
  /** Who the index says produced it. */
  readonly producer: { readonly id: string; readonly kind: string };
  /** Root, ancestor or descendant. */
  readonly role: ProvenanceRole;
  /** Edges between it and the root (0 for the root). */
  readonly distance: number;
  /** The attempt that committed it, or `null` (a run input, a record, a human's put). */
  readonly produced_by: ProvenanceProducer | null;
  /** The run input it was given as, by name, in its own run (`null`: none). */
  readonly run_input: string | null;
  /** The gates that judged it: its producing attempt's, then gates-only evaluations, oldest first. */
  readonly gates: readonly ProvenanceGate[];
  /** The violations the producing attempt caused (its gates' are under `gates`). */
  readonly violations: readonly ProvenanceViolation[];
  /** Replacements naming it, as original or replacement. */
  readonly replacements: readonly ProvenanceReplacement[];
}

/** An edge: `to` was made from `from`. */
export interface ProvenanceEdge {
  /** The input. */
  readonly from: string;
  /** The artifact made from it. */
  readonly to: string;
  /** The attempt that made `to` from it, as `step#attempt`, or `null` when no attempt did. */
  readonly via: string | null;
  /** The name the attempt read `from` under, when known. */
  readonly input: string | null;
}

/** A run the graph touches. */
export interface ProvenanceRun {
  /** The run. */
  readonly run_id: string;
  /** Its workflow's name. */
  readonly workflow_name: string | null;
  /** Its status. */
  readonly status: string;
  /** Its environment snapshot, or `null` when none was recorded. */
  readonly environment: EnvironmentFacts | null;
}

/** An artifact's provenance: nodes, edges and the runs they belong to. */
export interface ProvenanceGraph {
  /** The artifact asked about. */
  readonly root: string;
  /** Which way the lineage was followed. */
  readonly direction: ProvenanceDirection;
  /** The depth limit, or `null` for none. */
  readonly depth: number | null;
  /** The artifacts: the root first, then by distance, then by creation time. */
  readonly nodes: readonly ProvenanceNode[];
  /** The edges, in the nodes' order of their `to`, then in the order `to`'s attempt read them. */
  readonly edges: readonly ProvenanceEdge[];
  /** The runs, in order of first appearance among the nodes. */
  readonly runs: readonly ProvenanceRun[];
}

/** Distances from the root along edges, one way. */
function distances(
  root: string,
  edges: readonly LineageEdge[],
  way: "up" | "down",
): Map<string, number> {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const [a, b] = way === "up" ? [e.to, e.from] : [e.from, e.to];
    const known = next.get(a);
    if (known) known.push(b);
    else next.set(a, [b]);
  }
  const seen = new Map([[root, 0]]);
  let frontier = [root];
  while (frontier.length > 0) {
    const following: string[] = [];
    for (const id of frontier) {
      for (const n of next.get(id) ?? []) {
        if (seen.has(n)) continue;
        seen.set(n, seen.get(id)! + 1);
        following.push(n);
      }
    }
    frontier = following;
  }
  return seen;
}

function violationView(v: ViolationFacts): ProvenanceViolation {
  return { artifact_id: v.artifact_id, kind: v.kind, target: v.target, message: v.message };
}

/** The run facts indexed for lookups by artifact id. */
interface RunIndex {
  readonly run: RunFacts;
  readonly producedBy: Map<string, { attempt: AttemptFacts; output: string }>;
  readonly runInputs: Map<string, string>;
}

function indexRun(run: RunFacts): RunIndex {
  const producedBy = new Map<string, { attempt: AttemptFacts; output: string }>();
  for (const attempt of run.attempts) {
    for (const [output, id] of Object.entries(attempt.outputs)) {
      producedBy.set(id, { attempt, output });
    }
  }
  const runInputs = new Map(Object.entries(run.inputs).map(([name, id]) => [id, name]));
  return { run, producedBy, runInputs };
}

function producerView(attempt: AttemptFacts, output: string): ProvenanceProducer {
  return {
    step: attempt.step,
    attempt: attempt.attempt,
    cause: attempt.cause,
    supersedes: attempt.supersedes,
    record_id: attempt.record_id,
    status: attempt.status,
    started_at: attempt.started_at,
    ended_at: attempt.ended_at,
    exit_code: attempt.exit_code,
    inputs: Object.entries(attempt.inputs).map(([name, input]) => ({
      name,
      artifact_id: input.artifact_id,
      sha256: input.sha256,
    })),
    output,
  };
}

function gateViews(run: RunFacts, attempt: AttemptFacts): ProvenanceGate[] {
  return attempt.gates.map((gate) => ({
    evaluation: "run",
    gate_id: gate.gate_id,
    status: gate.status,
    required: gate.required,
    result_id: gate.result_id,
    violations: run.violations
      .filter((v) =>
        v.gate_id === gate.gate_id && v.step_id === attempt.step && v.attempt === attempt.attempt
      )
      .map(violationView),
  }));
}

function evaluationViews(run: RunFacts | undefined, id: string): ProvenanceGate[] {
  return (run?.evaluations ?? [])
    .filter((e) => e.inputs.includes(id))
    .sort((a, b) => a.evaluated_at.localeCompare(b.evaluated_at))
    .map((e) => ({
      evaluation: "gates_only",
      gate_id: e.gate_id,
      status: e.status,
      required: e.required,
      result_id: e.result_id,
      violations: [],
    }));
}

function stepViolations(run: RunFacts, attempt: AttemptFacts): ProvenanceViolation[] {
  const byId = new Map(run.violations.map((v) => [v.artifact_id, v]));
  return attempt.violations.flatMap((id) => {
    const v = byId.get(id);
    return v ? [violationView(v)] : [];
  });
}

function replacementView(r: ReplacementFacts): ProvenanceReplacement {
  return {
    record_id: r.record_id,
    original_artifact_id: r.original_artifact_id,
    replacement_artifact_id: r.replacement_artifact_id,
    reason: r.reason,
    replaced_at: r.replaced_at,
    replaced_by: r.replaced_by,
  };
}

/**
 * Builds an artifact's provenance graph from gathered facts; reads nothing.
 * Artifacts not connected to the root by the edges are left out.
 *
 * @param facts The root, direction, artifacts, edges, runs and replacements.
 * @returns The graph: the root first, then the other nodes by distance and creation time.
 */
export function buildProvenanceGraph(facts: ProvenanceFacts): ProvenanceGraph {
  const up = distances(facts.root, facts.edges, "up");
  const down = distances(facts.root, facts.edges, "down");
  const runs = new Map(facts.runs.map((r) => [r.run_id, indexRun(r)]));
  const nodes: ProvenanceNode[] = [];
  for (const ref of facts.artifacts) {
    const id = ref.artifact_id;
    const role: ProvenanceRole | null = id === facts.root
      ? "root"
      : up.has(id)
      ? "ancestor"
      : down.has(id)
      ? "descendant"
      : null;
    if (role === null) continue;
    const run = runs.get(ref.run_id);
    const made = run?.producedBy.get(id);
    nodes.push({
      artifact_id: id,
      artifact_type: ref.artifact_type,
      artifact_name: ref.artifact_name,
      run_id: ref.run_id,
      sha256: ref.sha256,
      size_bytes: ref.size_bytes,
      created_at: ref.created_at,
      producer: { id: ref.producer_id, kind: ref.producer_kind },
      role,
      distance: up.get(id) ?? down.get(id) ?? 0,
      produced_by: made ? producerView(made.attempt, made.output) : null,
      run_input: run?.runInputs.get(id) ?? null,
      gates: [
        ...(made && run ? gateViews(run.run, made.attempt) : []),
        ...evaluationViews(run?.run, id),
      ],
      violations: made && run ? stepViolations(run.run, made.attempt) : [],
      replacements: facts.replacements
        .filter((r) => r.original_artifact_id === id || r.replacement_artifact_id === id)
        .map(replacementView),
    });
  }
  nodes.sort((a, b) =>
    Number(b.role === "root") - Number(a.role === "root") || a.distance - b.distance ||
    a.created_at.localeCompare(b.created_at) || a.artifact_id.localeCompare(b.artifact_id)
  );
  const order = new Map(nodes.map((n, i) => [n.artifact_id, i]));
  const byId = new Map(nodes.map((n) => [n.artifact_id, n]));
  // Each artifact's inputs in the order its attempt recorded them, then in node order.
  const position = (e: ProvenanceEdge) => {
    const i = byId.get(e.to)!.produced_by?.inputs.findIndex((x) => x.artifact_id === e.from) ?? -1;
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const edges = facts.edges
    .filter((e) => order.has(e.from) && order.has(e.to))
    .map((e) => edgeView(e, byId.get(e.to)!))
    .sort((a, b) =>
      order.get(a.to)! - order.get(b.to)! || position(a) - position(b) ||
      order.get(a.from)! - order.get(b.from)!
    );
  const runOrder = [...new Set(nodes.map((n) => n.run_id))];
  return {
    root: facts.root,
    direction: facts.direction,
    depth: facts.depth,
    nodes,
    edges,
    runs: runOrder.map((runId) => {
      const run = runs.get(runId)?.run;
      return {
        run_id: runId,
        workflow_name: run?.workflow_name ?? null,
        status: run?.status ?? "unknown",
        environment: run?.environment ?? null,
      };
    }),
  };
}

function edgeView(edge: LineageEdge, to: ProvenanceNode): ProvenanceEdge {
  const made = to.produced_by;
  const input = made?.inputs.find((i) => i.artifact_id === edge.from)?.name ?? null;
  return {
    from: edge.from,
    to: edge.to,
    via: made ? `${made.step}#${made.attempt}` : null,
    input,
  };
}
