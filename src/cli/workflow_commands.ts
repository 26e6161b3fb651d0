/**
 * `lily run start|resume|cancel` and `lily approve`.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { LilyError, UsageError } from "../core/errors.ts";
import { approveGate } from "../gates/human_gate.ts";
import { resumeWorkflow, runWorkflow } from "../kernel/workflow_service.ts";
import { loadWorkflowFile } from "../graph/workflow_loader.ts";
import { FakeLlmProvider } from "../runtime/executors/llm_provider.ts";
import { cancelRun } from "../runtime/run_cancel.ts";
import type { RunState } from "../runtime/run_events.ts";
import type { RunInputValue } from "../runtime/run_starter.ts";
import type { CliContext, GlobalOptions } from "./context.ts";
import { globalOptions, withStore } from "./context.ts";
import { emit } from "./output.ts";
import { progressLine } from "./progress.ts";

/** Thrown after a run that did not succeed was reported; carries the exit code. */
export class RunNotSucceeded extends LilyError {
  /** 1 for failed or cancelled runs, 3 for runs waiting on a person. */
  readonly exitCode: number;

  /**
   * Creates the error.
   *
   * @param state The run's state.
   */
  constructor(state: RunState) {
    super(`Run ${state.run_id} ${state.status}${state.reason ? `: ${state.reason}` : ""}`);
    this.exitCode = state.status === "waiting" ? 3 : 1;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseInputs(values: readonly string[]): Record<string, RunInputValue> {
  const out: Record<string, RunInputValue> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0 || eq === value.length - 1) {
      throw new UsageError(
        `Invalid --input ${JSON.stringify(value)}: expected NAME=PATH or NAME=@ARTIFACT_ID`,
      );
    }
    const name = value.slice(0, eq);
    const source = value.slice(eq + 1);
    if (name in out) throw new UsageError(`Run input "${name}" is given twice`);
    out[name] = source.startsWith("@") ? { artifactId: source.slice(1) } : { path: source };
  }
  return out;
}

function parseJobs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`Invalid --jobs ${JSON.stringify(value)}: expected a positive integer`);
  }
  return n;
}

function runOptions(
  ctx: CliContext,
  g: GlobalOptions,
  jobs: number | undefined,
  signal: AbortSignal,
) {
  return {
    jobs,
    signal,
    kernelEnv: ctx.environment(),
    llm: ctx.env("LILY_LLM") === "fake" ? new FakeLlmProvider() : undefined,
    onEvent: (event: Parameters<typeof progressLine>[0], state: RunState) => {
      const line = progressLine(event, state);
      if (line !== undefined) ctx.output.err(line);
    },
    onCreated: (runId: string) => {
      if (!g.json) ctx.output.err(`Started run ${runId}`);
    },
  };
}

function report(ctx: CliContext, g: GlobalOptions, state: RunState): void {
  emit(ctx.output, g.json, {
    run_id: state.run_id,
    status: state.status,
    reason: state.reason,
    run_state: state,
  }, () => [
    `Run ${state.run_id} ${state.status}${state.reason ? `: ${state.reason}` : ""}`,
    `Details: lily run show ${state.run_id}`,
  ]);
  if (state.status !== "succeeded") throw new RunNotSucceeded(state);
}

/** Stops the run on Ctrl-C or SIGTERM while `fn` runs. */
async function withInterrupts<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) Deno.addSignalListener(s, abort);
  try {
    return await fn(controller.signal);
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, abort);
  }
}

/**
 * Adds the workflow run commands to the program.
 *
 * @param program The root command.
 * @param run The `run` command group.
 * @param ctx The CLI context.
 */
export function registerWorkflowCommands(program: Command, run: Command, ctx: CliContext): void {
  run.command("start")
    .description("Run a workflow file (YAML or JSON) until it succeeds, fails or waits")
    .argument("<file>", "the workflow file")
    .option(
      "--input <name=value>",
      "a run input: NAME=PATH or NAME=@ARTIFACT_ID (repeatable)",
      collect,
      [],
    )
    .option("--jobs <n>", "how many steps run at once (default: number of cores)", parseJobs)
    .action(async (file, opts, cmd) => {
      const g = globalOptions(cmd);
      const inputs = parseInputs(opts.input);
      const graph = await loadWorkflowFile(file);
      const { state } = await withStore(
        ctx,
        g,
        true,
        (store) =>
          withInterrupts((signal) =>
            runWorkflow(store, graph, {
              ...runOptions(ctx, g, opts.jobs, signal),
              inputs,
              workflowFile: file,
              producer: {
                id: ctx.env("LILY_USER") ?? ctx.env("USER") ?? "human",
                kind: "human",
              },
            })
          ),
      );
      report(ctx, g, state);
    });

  run.command("resume")
    .description("Continue a run after a crash, a failure, a cancel or a human decision")
    .argument("<run_id>", "the run")
    .option("--jobs <n>", "how many steps run at once (default: number of cores)", parseJobs)
    .action(async (runId, opts, cmd) => {
      const g = globalOptions(cmd);
      const state = await withStore(
        ctx,
        g,
        false,
        (store) =>
          withInterrupts((signal) =>
            resumeWorkflow(store, runId, runOptions(ctx, g, opts.jobs, signal))
          ),
      );
      report(ctx, g, state);
    });

  run.command("cancel")
    .description("Stop a live run (its children are killed) or mark an idle run cancelled")
    .argument("<run_id>", "the run")
    .action(async (runId, _opts, cmd) => {
      const g = globalOptions(cmd);
      const state = await withStore(ctx, g, false, (store) => cancelRun(store, runId));
      emit(ctx.output, g.json, { run_id: runId, status: state.status }, () => [
        `Run ${runId} ${state.status}`,
      ]);
    });

  program.command("approve")
    .description("Record a decision on a human gate the run waits for (then: lily run resume)")
    .argument("<run_id>", "the run")
    .argument("<gate>", "the gate id")
    .option("--reject", "reject instead of approve")
    .option("--reason <text>", "why")
    .action(async (runId, gateId, opts, cmd) => {
      const g = globalOptions(cmd);
      const decision = await withStore(ctx, g, false, (store) =>
        approveGate(store, runId, gateId, {
          reject: opts.reject,
          reason: opts.reason,
          by: ctx.env("LILY_USER") ?? ctx.env("USER") ?? "human",
        }));
      emit(ctx.output, g.json, { run_id: runId, gate_id: gateId, ...decision }, () => [
        `Gate ${gateId} on ${decision.step_id}#${decision.attempt}: ${decision.status} ` +
        `(result ${decision.result_id})`,
        `Continue with: lily run resume ${runId}`,
      ]);
    });
}
