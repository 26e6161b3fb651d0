/**
 * `lily provenance <artifact_id> [--up | --down | --both] [--depth N]
 * [--format tree|json|dot|mermaid]`.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import { UsageError } from "../core/errors.ts";
import type { ProvenanceDirection } from "../observe/provenance_facts.ts";
import { renderProvenanceDot, renderProvenanceMermaid } from "../observe/provenance_diagram.ts";
import type { ProvenanceGraph } from "../observe/provenance_graph.ts";
import { renderProvenanceTree } from "../observe/provenance_tree.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, withKernel } from "./context.ts";

/** The output formats of `lily provenance`. */
const FORMATS = ["tree", "json", "dot", "mermaid"] as const;

type Format = typeof FORMATS[number];

function depthOf(value: string): number {
  if (!/^\d+$/.test(value)) {
    throw new UsageError(
      `Invalid --depth ${JSON.stringify(value)}: expected a whole number of edges, 0 or more`,
    );
  }
  return Number(value);
}

function directionOf(opts: { up?: true; down?: true; both?: true }): ProvenanceDirection {
  const given = (["up", "down", "both"] as const).filter((d) => opts[d]);
  if (given.length > 1) {
    throw new UsageError(
      `Give at most one of --up, --down and --both, got ${given.map((d) => `--${d}`).join(" ")}`,
    );
  }
  return given[0] ?? "up";
}

function render(graph: ProvenanceGraph, format: Format): string[] {
  switch (format) {
    case "tree":
      return renderProvenanceTree(graph);
    case "json":
      return [JSON.stringify(graph, null, 2)];
    case "dot":
      return renderProvenanceDot(graph);
    case "mermaid":
      return renderProvenanceMermaid(graph);
  }
}

/**
 * Adds `provenance` to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerProvenanceCommand(program: Command, ctx: CliContext): void {
  program.command("provenance")
    .description(
      "Show where an artifact came from (--up, the default) or what was made from it " +
        "(--down), across runs: producing step and attempt, inputs and hashes, gates, " +
        "violations, environment, replacements",
    )
    .argument("<artifact_id>", "the artifact")
    .option("--up", "follow its inputs, their inputs, … (ancestors; the default)")
    .option("--down", "follow what was made from it (descendants)")
    .option("--both", "follow both ways")
    .option("--depth <n>", "follow at most this many edges (default: all)", depthOf)
    .addOption(
      new Option("--format <format>", "tree, json, dot (Graphviz) or mermaid (flowchart)")
        .choices(FORMATS),
    )
    .action(async (artifactId, opts, cmd) => {
      const g = globalOptions(cmd);
      if (g.json && opts.format !== undefined && opts.format !== "json") {
        throw new UsageError(
          `--json prints the json format; drop --json or --format ${opts.format}`,
        );
      }
      const direction = directionOf(opts);
      const format: Format = g.json ? "json" : opts.format ?? "tree";
      const graph = await withKernel(
        ctx,
        g,
        (kernel) => kernel.queries.provenance(artifactId, { direction, depth: opts.depth }),
      );
      for (const line of render(graph, format)) ctx.output.out(line);
    });
}
