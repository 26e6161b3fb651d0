/**
 * Renders a provenance graph as a diagram: Graphviz DOT
 * (https://graphviz.org/doc/info/lang.html) or a Mermaid `flowchart`
 * (https://mermaid.js.org/syntax/flowchart.html). Artifacts are boxes,
 * grouped by run (a `cluster_` subgraph, a Mermaid `subgraph`); an edge runs
 * from an input to what was made from it, labelled with the attempt that
 * made it (`step#attempt`); the artifact asked about is drawn bold.
 *
 * @module
 */

import type { ProvenanceGraph, ProvenanceNode } from "./provenance_graph.ts";

/** A node's label lines: type and name, id, hash, producing attempt, gates, violations. */
function labelLines(node: ProvenanceNode): string[] {
  const name = node.artifact_name === null ? "" : ` "${node.artifact_name}"`;
  const lines = [
    `${node.artifact_type}${name}`,
    node.artifact_id,
    `sha256 ${node.sha256.slice(0, 16)}…`,
  ];
  const p = node.produced_by;
  if (p !== null) lines.push(`${p.step}#${p.attempt} ${p.status}`);
  else if (node.run_input !== null) lines.push(`run input ${node.run_input}`);
  if (node.gates.length > 0) {
    lines.push(`gates: ${node.gates.map((g) => `${g.gate_id} ${g.status}`).join(", ")}`);
  }
  const violations = node.violations.length +
    node.gates.reduce((n, g) => n + g.violations.length, 0);
  if (violations > 0) lines.push(`violations: ${violations}`);
  if (node.replacements.some((r) => r.original_artifact_id === node.artifact_id)) {
    lines.push("replaced");
  }
  return lines;
}

function groupByRun(graph: ProvenanceGraph): Map<string, ProvenanceNode[]> {
  const byRun = new Map<string, ProvenanceNode[]>(graph.runs.map((r) => [r.run_id, []]));
  for (const node of graph.nodes) byRun.get(node.run_id)!.push(node);
  return byRun;
}

function runLabel(graph: ProvenanceGraph, runId: string): string {
  const run = graph.runs.find((r) => r.run_id === runId);
  return `run ${runId}${run?.workflow_name ? ` (${run.workflow_name})` : ""}`;
}

/** A DOT double-quoted string: `\` and `"` escaped, newlines as `\n` line breaks. */
function dotString(text: string): string {
  return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}

/**
 * Renders the graph in Graphviz DOT.
 *
 * @param graph The provenance graph.
 * @returns The lines of one `digraph`.
 */
export function renderProvenanceDot(graph: ProvenanceGraph): string[] {
  const lines = [
    "digraph provenance {",
    "  rankdir=LR;",
    '  node [shape=box, fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  let cluster = 0;
  for (const [runId, nodes] of groupByRun(graph)) {
    lines.push(`  subgraph cluster_${cluster++} {`);
    lines.push(`    label=${dotString(runLabel(graph, runId))};`);
    for (const node of nodes) {
      const style = node.role === "root" ? ", style=bold, penwidth=2" : "";
      lines.push(
        `    ${dotString(node.artifact_id)} [label=${
          dotString(labelLines(node).join("\n"))
        }${style}];`,
      );
    }
    lines.push("  }");
  }
  for (const edge of graph.edges) {
    const label = edge.via === null ? "" : ` [label=${dotString(edge.via)}]`;
    lines.push(`  ${dotString(edge.from)} -> ${dotString(edge.to)}${label};`);
  }
  lines.push("}");
  return lines;
}

/**
 * Text for inside a Mermaid `"…"` label: `#` `"` `<` `>` `|` and backticks
 * as Mermaid entity codes, newlines as `<br/>`.
 */
function mermaidText(text: string): string {
  return text
    .replaceAll("#", "#35;")
    .replaceAll('"', "#quot;")
    .replaceAll("<", "#lt;")
    .replaceAll(">", "#gt;")
    .replaceAll("|", "#124;")
    .replaceAll("`", "#96;")
    .replaceAll("\n", "<br/>");
}

/**
 * Renders the graph as a Mermaid flowchart.
 *
 * @param graph The provenance graph.
 * @returns The lines of one `flowchart LR`; node ids are `a0`, `a1`, … in
 * the graph's node order, run subgraphs `run0`, `run1`, ….
 */
export function renderProvenanceMermaid(graph: ProvenanceGraph): string[] {
  const ids = new Map(graph.nodes.map((n, i) => [n.artifact_id, `a${i}`]));
  const lines = ["flowchart LR"];
  let subgraph = 0;
  for (const [runId, nodes] of groupByRun(graph)) {
    lines.push(`  subgraph run${subgraph++} ["${mermaidText(runLabel(graph, runId))}"]`);
    for (const node of nodes) {
      lines.push(`    ${ids.get(node.artifact_id)}["${mermaidText(labelLines(node).join("\n"))}"]`);
    }
    lines.push("  end");
  }
  for (const edge of graph.edges) {
    const label = edge.via === null ? "" : `|"${mermaidText(edge.via)}"|`;
    lines.push(`  ${ids.get(edge.from)} -->${label} ${ids.get(edge.to)}`);
  }
  lines.push("  classDef root stroke-width:3px");
  lines.push(`  class ${ids.get(graph.root)} root`);
  return lines;
}
