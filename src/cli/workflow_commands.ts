/**
 * `lily run start|resume|cancel` and `lily approve`.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { causeMessage, UsageError } from "../core/errors.ts";
import { approveGate } from "../gates/human_gate.ts";
import { resumeWorkflow, runWorkflow } from "../kernel/workflow_service.ts";
import { loadWorkflowFile } from "../graph/workflow_loader.ts";
import { FakeLlmProvider } from "../runtime/executors/llm_provider.ts";
import { cancelRun } from "../runtime/run_cancel.ts";
import type { RunEvent, RunState } from "../runtime/run_events.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import type { RunInputValue } from "../runtime/run_starter.ts";
import type { CliContext, GlobalOptions } from "./context.ts";
import { globalOptions, hint, withStore } from "./context.ts";
import { emit, emitResult } from "./output.ts";
import { progressLines } from "./progress.ts";
import { endReason } from "./run_details.ts";

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

/**
 * The run options a command passes to the kernel, with progress printed in
 * event order (details are read from the store before the next event's
 * line); `printed` settles once every line so far is out.
 */
function runOptions(
  ctx: CliContext,
  g: GlobalOptions,
  store: ContractStore,
  jobs: number | undefined,
  signal: AbortSignal,
) {
  const progress = { store, hint: (args: readonly string[]) => hint(ctx, g, args) };
  let printed: Promise<void> = Promise.resolve();
  return {
    jobs,
    signal,
    kernelEnv: ctx.environment(),
    llm: ctx.env("LILY_LLM") === "fake" ? new FakeLlmProvider() : undefined,
    onEvent: (event: RunEvent, state: RunState) => {
      const runId = state.run_id;
      printed = printed.then(async () => {
        for (const line of await progressLines(event, runId, progress)) ctx.output.err(line);
      }).catch((err) => ctx.output.err(`(details of event ${event.seq}: ${causeMessage(err)})`));
    },
    onCreated: (runId: string) => {
      if (!g.json) ctx.output.err(`Started run ${runId}`);
    },
    printed: () => printed,
  };
}

function report(ctx: CliContext, g: GlobalOptions, state: RunState): void {
  const summary = `Run ${state.run_id} ${state.status}${
    endReason(state) ? `: ${endReason(state)}` : ""
  }`;
  emitResult(
    ctx.output,
    g.json,
    { run_id: state.run_id, status: state.status, reason: state.reason, run_state: state },
    () => [summary, `Details: ${hint(ctx, g, ["run", "show", state.run_id])}`],
    state.status === "succeeded" ? undefined : {
      message: summary,
      // 3: the run waits for a person; 1: it failed or was cancelled.
      exitCode: state.status === "waiting" ? 3 : 1,
      code: state.status === "waiting" ? "waiting" : "run_failed",
      said: true,
    },
  );
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
          withInterrupts(async (signal) => {
            const { printed, ...options } = runOptions(ctx, g, store, opts.jobs, signal);
            try {
              return await runWorkflow(store, graph, {
                ...options,
                inputs,
                workflowFile: file,
                producer: {
                  id: ctx.env("LILY_USER") ?? ctx.env("USER") ?? "human",
                  kind: "human",
                },
              });
            } finally {
              await printed();
            }
          }),
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
          withInterrupts(async (signal) => {
            const { printed, ...options } = runOptions(ctx, g, store, opts.jobs, signal);
            try {
              return await resumeWorkflow(store, runId, options);
            } finally {
              await printed();
            }
          }),
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
        `Gate ${gateId} on ${decision.step_id}#${decision.attempt}` +
        (decision.prompt === null ? "" : ` (${JSON.stringify(decision.prompt)})`) +
        `: ${decision.status === "pass" ? "approved" : "rejected"}` +
        (opts.reason ? `: ${opts.reason}` : "") + ` (result ${decision.result_id})`,
        `Continue with: ${hint(ctx, g, ["run", "resume", runId])}`,
      ]);
    });
}
