/**
 * `lily run rerun <run_id> (--from <step> | --gates-only [--step S] [--gate G])`
 * and `lily artifact replace <run_id> <artifact_id> (--file F | --json-file F
 * | --text-file F) --reason TEXT [--continue]`: thin front ends of the
 * kernel's `runs.rerunFrom`, `runs.dryRunGates` and `runs.replaceArtifact`.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { UsageError } from "../core/errors.ts";
import type { GatesOnlyReport } from "../kernel/gates_only.ts";
import type { ReplacementSource } from "../kernel/run_replay.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, hint, withKernel } from "./context.ts";
import { emit, emitResult } from "./output.ts";
import {
  driveOptions,
  parseDurability,
  parseJobs,
  report,
  withInterrupts,
} from "./workflow_commands.ts";

const DURABILITY_HELP = "fsync: every event fsynced before it is acted on (default); process: " +
  "written, not fsynced (survives a kill of Lily, not a power loss)";

/** Refuses options given with the wrong mode. */
function refuseWith(mode: string, given: Record<string, unknown>): void {
  const wrong = Object.entries(given).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (wrong.length === 0) return;
  const verb = wrong.length === 1 ? "goes" : "go";
  throw new UsageError(`${wrong.join(" and ")} ${verb} with ${mode} only`);
}

function gatesOnlyLines(report: GatesOnlyReport): string[] {
  return [
    `Gates-only evaluation ${report.evaluation} of run ${report.run_id}: ` +
    (report.passed ? "every required gate passed" : "a required gate did not pass") +
    " (no step ran; the run's state is unchanged)",
    ...report.results.map((r) =>
      `  ${r.step}#${r.attempt} gate ${r.gate_id}: ${r.status}${r.required ? "" : " (optional)"}` +
      ` (result ${r.result_id})`
    ),
    ...report.left_out.map((g) => `  left out: gate ${g.gate_id} of ${g.step}: ${g.reason}`),
  ];
}

function registerRerun(run: Command, ctx: CliContext): void {
  run.command("rerun")
    .description(
      "Run a step that ended and everything downstream again in the same run (--from), or " +
        "run the gates against the existing outputs without changing the run (--gates-only)",
    )
    .argument("<run_id>", "the run")
    .option("--from <step>", "reset this step and everything downstream, and run them again")
    .option("--gates-only", "run the gates against the outputs that exist; no step runs")
    .option("--step <step>", "with --gates-only: only this step's gates")
    .option("--gate <gate>", "with --gates-only: only this gate")
    .option("--jobs <n>", "with --from: how many steps run at once", parseJobs)
    .option("--durability <mode>", `with --from: ${DURABILITY_HELP}`, parseDurability)
    .action(async (runId, opts, cmd) => {
      const g = globalOptions(cmd);
      if ((opts.from === undefined) === (opts.gatesOnly === undefined)) {
        throw new UsageError("Expected exactly one of --from <step> or --gates-only");
      }
      if (opts.gatesOnly) {
        refuseWith("--from", { "--jobs": opts.jobs, "--durability": opts.durability });
        const result = await withKernel(ctx, g, (kernel) =>
          withInterrupts(({ signal, arm }) => {
            arm();
            return kernel.runs.dryRunGates(runId, { step: opts.step, gate: opts.gate, signal });
          }));
        emitResult(
          ctx.output,
          g.json,
          { ...result },
          () => gatesOnlyLines(result),
          result.passed ? undefined : {
            message: `A required gate did not pass in gates-only evaluation ${result.evaluation}`,
            code: "gates_failed",
            said: true,
          },
        );
        return;
      }
      refuseWith("--gates-only", { "--step": opts.step, "--gate": opts.gate });
      const from = opts.from!;
      const state = await withKernel(ctx, g, (kernel) =>
        withInterrupts(async ({ signal, arm }) => {
          arm();
          const { printed, ...drive } = driveOptions(ctx, g, kernel, opts, signal);
          try {
            return await kernel.runs.rerunFrom(runId, from, drive);
          } finally {
            await printed();
          }
        }));
      report(ctx, g, state, { rerun_from: from });
    });
}

function replacementSource(opts: { file?: string; jsonFile?: string; textFile?: string }) {
  const given: ReplacementSource[] = [
    ...(opts.file === undefined ? [] : [{ path: opts.file, as: "file" as const }]),
    ...(opts.jsonFile === undefined ? [] : [{ path: opts.jsonFile, as: "json" as const }]),
    ...(opts.textFile === undefined ? [] : [{ path: opts.textFile, as: "text" as const }]),
  ];
  const [source] = given;
  if (given.length !== 1 || source === undefined) {
    throw new UsageError(
      `Expected exactly one of --file, --json-file or --text-file, got ${given.length}`,
    );
  }
  return source;
}

function registerReplace(artifact: Command, ctx: CliContext): void {
  artifact.command("replace")
    .description(
      "Replace an artifact a run's steps read (a step output or an input) with another, " +
        "recorded with a reason; the steps that read it run again (--continue, or on resume)",
    )
    .argument("<run_id>", "the run (it must have ended)")
    .argument("<artifact_id>", "the artifact to replace (it stays in the store)")
    .option("--file <path>", "the replacement, for a file artifact: stored as it is")
    .option("--json-file <path>", "the replacement, for a json artifact: its JSON value")
    .option("--text-file <path>", "the replacement, for a text artifact: its text")
    .requiredOption("--reason <text>", "why (recorded in artifact_replacement.v1)")
    .option("--continue", "run the steps that read it, and everything downstream, now")
    .option("--jobs <n>", "with --continue: how many steps run at once", parseJobs)
    .option("--durability <mode>", `with --continue: ${DURABILITY_HELP}`, parseDurability)
    .action(async (runId, artifactId, opts, cmd) => {
      const g = globalOptions(cmd);
      const source = replacementSource(opts);
      if (!opts.continue) {
        refuseWith("--continue", { "--jobs": opts.jobs, "--durability": opts.durability });
      }
      const done = await withKernel(ctx, g, (kernel) =>
        withInterrupts(async ({ signal, arm }) => {
          arm();
          const { printed, ...drive } = driveOptions(ctx, g, kernel, opts, signal);
          try {
            return await kernel.runs.replaceArtifact(runId, artifactId, {
              ...drive,
              source,
              reason: opts.reason,
              continue: opts.continue ?? false,
            });
          } finally {
            await printed();
          }
        }));
      const { state, ...recorded } = done;
      const said = `Replaced ${recorded.original} with ${recorded.replacement} in run ${runId} ` +
        `(record ${recorded.record}); reset: ${recorded.reset.join(", ") || "none"}`;
      if (opts.continue) {
        if (!g.json) ctx.output.err(said);
        report(ctx, g, state, recorded);
        return;
      }
      emit(ctx.output, g.json, { run_id: runId, ...recorded, status: state.status }, () => [
        said,
        ...(recorded.reset.length > 0
          ? [`Run them with: ${hint(ctx, g, ["run", "resume", runId])}`]
          : []),
      ]);
    });
}

/**
 * Adds `run rerun` and `artifact replace` to the program.
 *
 * @param run The `run` command group.
 * @param artifact The `artifact` command group.
 * @param ctx The CLI context.
 */
export function registerReplayCommands(run: Command, artifact: Command, ctx: CliContext): void {
  registerRerun(run, ctx);
  registerReplace(artifact, ctx);
}
