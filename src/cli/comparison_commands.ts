/**
 * `lily run replay <run_id> (--simulate [--workflow FILE] | --reapply)` and
 * `lily run diff <run_a> <run_b>`: thin front ends of the kernel's
 * `queries.simulate`, `runs.reapply` and `queries.diffRuns`. Each exits 0
 * when it finds no difference and 1 when it finds one (a divergence, a
 * drift, runs that differ), like diff(1); `--json` prints one document.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { UsageError } from "../core/errors.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, withKernel } from "./context.ts";
import { emitResult } from "./output.ts";
import { driveOptions, parseJobs, withInterrupts } from "./workflow_commands.ts";
import {
  divergenceLine,
  reapplicationLines,
  runDiffLines,
  simulationLines,
} from "./comparison_view.ts";

function registerReplay(run: Command, ctx: CliContext): void {
  run.command("replay")
    .description(
      "Walk a recorded run through the decider without running anything (--simulate), or run " +
        "every step again in a new run and compare output hashes (--reapply)",
    )
    .argument("<run_id>", "the run")
    .option("--simulate", "feed the recorded events to the decider; report decisions that differ")
    .option(
      "--workflow <file>",
      "with --simulate: simulate this workflow file instead of the run's",
    )
    .option("--reapply", "run every step again in a new run; report output-hash drift per step")
    .option("--jobs <n>", "with --reapply: how many steps run at once", parseJobs)
    .action(async (runId, opts, cmd) => {
      const g = globalOptions(cmd);
      if (Boolean(opts.simulate) === Boolean(opts.reapply)) {
        throw new UsageError("Expected exactly one of --simulate or --reapply");
      }
      if (opts.simulate) {
        if (opts.jobs !== undefined) throw new UsageError("--jobs goes with --reapply only");
        const report = await withKernel(ctx, g, (kernel) =>
          kernel.queries.simulate(runId, {
            workflow: opts.workflow === undefined ? undefined : { file: opts.workflow },
          }));
        const first = report.first_divergence;
        emitResult(
          ctx.output,
          g.json,
          { ...report },
          () => simulationLines(report),
          first === null ? undefined : {
            message: `Run ${runId} would diverge at ${divergenceLine(first)}`,
            code: "diverged",
            said: true,
          },
        );
        return;
      }
      if (opts.workflow !== undefined) throw new UsageError("--workflow goes with --simulate only");
      const done = await withKernel(ctx, g, (kernel) =>
        withInterrupts(async ({ signal, arm }) => {
          arm();
          const { printed, ...drive } = driveOptions(ctx, g, kernel, opts, signal);
          try {
            return await kernel.runs.reapply(runId, drive);
          } finally {
            await printed();
          }
        }));
      const { state: _state, ...result } = done;
      const drifted = done.drift.filter((d) => d.drift !== "same").map((d) => d.step);
      emitResult(
        ctx.output,
        g.json,
        { ...result },
        () => reapplicationLines(done),
        drifted.length === 0 && done.status === "succeeded" ? undefined : {
          message: drifted.length > 0
            ? `Run ${done.run_id} drifted from run ${runId}: ${drifted.join(", ")}`
            : `Run ${done.run_id} ${done.status}`,
          code: drifted.length > 0 ? "drift" : "run_failed",
          said: true,
        },
      );
    });
}

function registerDiff(run: Command, ctx: CliContext): void {
  run.command("diff")
    .description(
      "Compare two runs step by step: status, attempts, input and output hashes, executor " +
        "summary, workflow, inputs and environment; name the first step that diverges",
    )
    .argument("<run_a>", "the first run (e.g. yesterday's)")
    .argument("<run_b>", "the second run (e.g. today's)")
    .action(async (a, b, _opts, cmd) => {
      const g = globalOptions(cmd);
      const diff = await withKernel(ctx, g, (kernel) => kernel.queries.diffRuns(a, b));
      const f = diff.first_divergence;
      emitResult(
        ctx.output,
        g.json,
        { ...diff },
        () => runDiffLines(diff),
        !diff.differs ? undefined : {
          message: f === null
            ? `Runs ${a} and ${b} differ`
            : `Runs ${a} and ${b} first diverge at step ${f.step} (${f.what} ${f.name})`,
          code: "differs",
          said: true,
        },
      );
    });
}

/**
 * Adds `run replay` and `run diff` to the program.
 *
 * @param run The `run` command group.
 * @param ctx The CLI context.
 */
export function registerComparisonCommands(run: Command, ctx: CliContext): void {
  registerReplay(run, ctx);
  registerDiff(run, ctx);
}
