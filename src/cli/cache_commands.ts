/**
 * `lily cache explain <run_id> <step>`, `lily cache list [--step S]` and
 * `lily cache clear [--step S]`: the step cache, through the kernel.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import type { CacheExplanation } from "../observe/cache_explain.ts";
import type { CacheEntry } from "../store/ports.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, withKernel } from "./context.ts";
import { emit } from "./output.ts";

/**
 * Adds `cache` and its subcommands to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerCacheCommands(program: Command, ctx: CliContext): void {
  const cache = program.command("cache")
    .description("Explain, list and clear the step cache (steps with cache: true)");

  cache.command("explain")
    .description(
      "Why a step of a run hit or missed the cache: its key's parts beside the nearest earlier " +
        "entry's, each part that differs named",
    )
    .argument("<run_id>", "the run")
    .argument("<step>", "the step")
    .action(async (runId, step, _opts, cmd) => {
      const g = globalOptions(cmd);
      const view = await withKernel(ctx, g, (k) => k.cache.explain(runId, step));
      emit(ctx.output, g.json, view, () => explainLines(view));
    });

  cache.command("list")
    .description("List the cache entries, newest first")
    .option("--step <step>", "only this step's entries")
    .action(async (opts, cmd) => {
      const g = globalOptions(cmd);
      const entries = await withKernel(ctx, g, (k) => k.cache.list({ step: opts.step }));
      emit(ctx.output, g.json, { entries }, () => listLines(entries));
    });

  cache.command("clear")
    .description("Remove cache entries (the artifacts stay; later runs run the steps again)")
    .option("--step <step>", "only this step's entries")
    .action(async (opts, cmd) => {
      const g = globalOptions(cmd);
      const result = await withKernel(ctx, g, (k) => k.cache.clear({ step: opts.step }));
      emit(ctx.output, g.json, result, () => [
        `Removed ${result.removed} cache ${result.removed === 1 ? "entry" : "entries"}` +
        (opts.step === undefined ? "" : ` of step ${opts.step}`),
      ]);
    });
}

function short(key: string | null): string {
  return key === null ? "none" : `${key.slice(0, 12)}…`;
}

/**
 * The human text of an explanation: the outcome and why, the key's parts
 * beside the nearest entry's, and each difference.
 */
function explainLines(view: CacheExplanation): string[] {
  const attempt = view.attempt === null ? "" : ` attempt ${view.attempt}`;
  const lines = [
    `Step ${view.step} of run ${view.run_id}${attempt}: ${view.outcome.replace("_", " ")}`,
    `  why: ${view.reason}`,
  ];
  if (view.key !== null) lines.push(`  key: ${view.key}`);
  const nearest = view.nearest;
  if (nearest !== null) {
    const e = nearest.entry;
    lines.push(
      `  compared with (${nearest.match}): run ${e.run_id} step ${e.step_id} attempt ` +
        `${e.attempt}, stored ${e.created_at}, key ${short(e.key)}`,
    );
  }
  if (view.parts_side_by_side.length > 0) {
    lines.push(`  ${"part".padEnd(12)} ${"this attempt".padEnd(14)} entry`);
    for (const row of view.parts_side_by_side) {
      const mark = row.same === null ? "" : row.same ? "same" : "differs";
      lines.push(
        `  ${row.part.padEnd(12)} ${row.attempt.padEnd(14)} ${
          (row.nearest ?? "-").padEnd(14)
        } ${mark}`
          .trimEnd(),
      );
    }
  }
  for (const d of nearest?.differences ?? []) lines.push(`  differs: ${d.text}`);
  return lines;
}

function listLines(entries: readonly CacheEntry[]): string[] {
  if (entries.length === 0) return ["No cache entries"];
  return entries.map((e) =>
    `${e.step_id}  key ${short(e.key)}  run ${e.run_id} attempt ${e.attempt}  ` +
    `created ${e.created_at}  outputs: ${Object.keys(e.outputs).join(", ") || "none"}`
  );
}
