/**
 * Renders a provenance graph as an indented tree for people: the artifact
 * asked about, then what it was made from (`←`, up) and what was made from
 * it (`→`, down), each node with its producing attempt, inputs and hashes,
 * gates, violations, environment and replacements, and `[n]`: how many edges
 * the path shown leads from the root. A node reached twice is written in
 * full once and named `(shown above)` after that.
 *
 * @module
 */

import { ENVIRONMENT_SNAPSHOT_TYPE } from "./environment_snapshot.ts";
import type {
  ProvenanceEdge,
  ProvenanceGraph,
  ProvenanceNode,
  ProvenanceRun,
  ProvenanceViolation,
} from "./provenance_graph.ts";

function header(node: ProvenanceNode): string {
  const name = node.artifact_name === null ? "" : ` ${JSON.stringify(node.artifact_name)}`;
  return `${node.artifact_type}${name} ${node.artifact_id}`;
}

function violationLine(v: ProvenanceViolation): string {
  return `violation ${v.artifact_id}: ${v.kind} ${v.target}: ${v.message}`;
}

/**
 * Words a run's environment snapshot on one line.
 *
 * @param run The run.
 * @returns E.g. `deno 2.9.6, linux x86_64, lily 0.5.0 (<type> <id>)`, the
 * snapshot's type and id,
 * or `not recorded`.
 */
export function environmentLine(run: ProvenanceRun | undefined): string {
  const env = run?.environment;
  if (!env) return "not recorded";
  const s = env.snapshot;
  const platform = (s.platform ?? {}) as Record<string, unknown>;
  const parts = [
    typeof s.deno_version === "string" ? `deno ${s.deno_version}` : null,
    typeof platform.os === "string" ? `${platform.os} ${platform.arch ?? ""}`.trim() : null,
    typeof s.kernel_version === "string" ? `lily ${s.kernel_version}` : null,
  ].filter((p) => p !== null);
  return `${parts.join(", ") || "snapshot"} (${ENVIRONMENT_SNAPSHOT_TYPE} ${env.artifact_id})`;
}

function producedLine(node: ProvenanceNode): string {
  const p = node.produced_by;
  if (p !== null) {
    const exit = p.exit_code === null ? "" : `, exit ${p.exit_code}`;
    const supersedes = p.supersedes === null ? "" : `, supersedes attempt ${p.supersedes}`;
    const cause = p.cause ?? "cause not recorded";
    return `produced by: step ${p.step} attempt ${p.attempt} (${cause}, ${p.status}${exit}` +
      `${supersedes}) as output ${p.output}, ${p.started_at} → ${p.ended_at ?? "running"}`;
  }
  const by = `${node.producer.id} (${node.producer.kind})`;
  return node.run_input === null
    ? `produced by: ${by}, outside any step`
    : `produced by: run input ${node.run_input}, given by ${by}`;
}

/**
 * The lines describing one node, without its header.
 *
 * @param node The node.
 * @param run Its run.
 * @returns The lines, unindented.
 */
export function nodeDetails(node: ProvenanceNode, run: ProvenanceRun | undefined): string[] {
  const lines = [
    `sha256: ${node.sha256} (${node.size_bytes} bytes, stored ${node.created_at})`,
    `run: ${node.run_id} (${run?.workflow_name ?? "no workflow"}, ${run?.status ?? "unknown"})`,
    producedLine(node),
  ];
  if (node.produced_by?.record_id) lines.push(`record: ${node.produced_by.record_id}`);
  for (const input of node.produced_by?.inputs ?? []) {
    lines.push(
      `input ${input.name}: ${input.artifact_id} sha256 ${input.sha256 ?? "not recorded"}`,
    );
  }
  for (const gate of node.gates) {
    const dry = gate.evaluation === "gates_only" ? ", a gates-only evaluation" : "";
    lines.push(
      `gate ${gate.gate_id}: ${gate.status} (${gate.required ? "required" : "optional"}), ` +
        `result ${gate.result_id}${dry}`,
    );
    for (const v of gate.violations) lines.push(`  ${violationLine(v)}`);
  }
  for (const v of node.violations) lines.push(violationLine(v));
  lines.push(`environment: ${environmentLine(run)}`);
  for (const r of node.replacements) {
    const who = r.replaced_by === null ? "" : ` by ${r.replaced_by}`;
    lines.push(
      r.original_artifact_id === node.artifact_id
        ? `replaced by ${r.replacement_artifact_id}${who} at ${r.replaced_at}: ${r.reason}`
        : `replaces ${r.original_artifact_id}${who} at ${r.replaced_at}: ${r.reason}`,
    );
  }
  return lines;
}

function edgeNote(edge: ProvenanceEdge): string {
  if (edge.via === null) return "";
  return edge.input === null ? ` (via ${edge.via})` : ` (input ${edge.input} of ${edge.via})`;
}

interface TreeContext {
  readonly nodes: ReadonlyMap<string, ProvenanceNode>;
  readonly runs: ReadonlyMap<string, ProvenanceRun>;
  readonly up: ReadonlyMap<string, ProvenanceEdge[]>;
  readonly down: ReadonlyMap<string, ProvenanceEdge[]>;
  readonly shown: Set<string>;
  readonly lines: string[];
}

/** Indentation stops growing past this many levels (a long chain stays readable). */
const MAX_INDENT_LEVELS = 12;

function writeNode(ctx: TreeContext, id: string, level: number, way: "up" | "down"): void {
  const byWay = way === "up" ? ctx.up : ctx.down;
  const indent = "  ".repeat(Math.min(level, MAX_INDENT_LEVELS));
  for (const edge of byWay.get(id) ?? []) {
    const otherId = way === "up" ? edge.from : edge.to;
    const other = ctx.nodes.get(otherId)!;
    const line = `${indent}${way === "up" ? "←" : "→"} [${level}] ${header(other)}${
      edgeNote(edge)
    }`;
    if (ctx.shown.has(otherId)) {
      ctx.lines.push(`${line} (shown above)`);
      continue;
    }
    ctx.shown.add(otherId);
    ctx.lines.push(line);
    for (const detail of nodeDetails(other, ctx.runs.get(other.run_id))) {
      ctx.lines.push(`${indent}    ${detail}`);
    }
    writeNode(ctx, otherId, level + 1, way);
  }
}

function grouped(edges: readonly ProvenanceEdge[], key: "from" | "to") {
  const map = new Map<string, ProvenanceEdge[]>();
  for (const edge of edges) {
    const list = map.get(edge[key]);
    if (list) list.push(edge);
    else map.set(edge[key], [edge]);
  }
  return map;
}

/**
 * Renders the graph as an indented tree.
 *
 * @param graph The provenance graph.
 * @returns The lines: the root, then `made from:` (up) and `used by:` (down) sections.
 */
export function renderProvenanceTree(graph: ProvenanceGraph): string[] {
  const ctx: TreeContext = {
    nodes: new Map(graph.nodes.map((n) => [n.artifact_id, n])),
    runs: new Map(graph.runs.map((r) => [r.run_id, r])),
    up: grouped(graph.edges, "to"),
    down: grouped(graph.edges, "from"),
    shown: new Set([graph.root]),
    lines: [],
  };
  const root = ctx.nodes.get(graph.root)!;
  ctx.lines.push(header(root));
  for (const line of nodeDetails(root, ctx.runs.get(root.run_id))) ctx.lines.push(`  ${line}`);
  const limit = graph.depth === null ? "" : ` (depth ${graph.depth})`;
  if (graph.direction !== "down") {
    ctx.lines.push(`made from${limit}:`);
    if (!ctx.up.has(graph.root)) ctx.lines.push("  nothing in the store");
    writeNode(ctx, graph.root, 1, "up");
  }
  if (graph.direction !== "up") {
    ctx.lines.push(`used by${limit}:`);
    if (!ctx.down.has(graph.root)) ctx.lines.push("  nothing in the store");
    writeNode(ctx, graph.root, 1, "down");
  }
  return ctx.lines;
}
