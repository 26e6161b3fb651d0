/**
 * `lily check`, `lily run start|resume|cancel` and `lily approve`.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { causeMessage, isLilyError, NotFoundError, UsageError } from "../core/errors.ts";
import type { Kernel } from "../kernel/kernel.ts";
import { endReason } from "../kernel/run_views.ts";
import type { WorkflowPlan } from "../kernel/workflow_plan.ts";
import type { RouteSpec } from "../graph/workflow.ts";
import type { RunEvent, RunState } from "../runtime/run_events.ts";
import type { RunInputValue } from "../runtime/run_starter.ts";
import { type Durability, DURABILITY_MODES } from "../kernel/kernel_api.ts";
import type { CliContext, GlobalOptions } from "./context.ts";
import { globalOptions, hint, withKernel } from "./context.ts";
import { emit, emitResult } from "./output.ts";
import { progressLines } from "./progress.ts";

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

/** ` on_fail → fix (max 2)`, or nothing without a route. */
function routeNote(route: RouteSpec | null): string {
  return route === null ? "" : `  on_fail → ${route.goto} (max ${route.max})`;
}

function planLines(p: WorkflowPlan & { readonly file: string }): string[] {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  const gates = p.steps.reduce((n, s) => n + s.gates.length, 0);
  return [
    `${p.file} is valid: workflow "${p.workflow}", ${count(p.steps.length, "step")}, ` +
    `${count(gates, "gate")}, ${count(p.inputs.length, "input")}`,
    ...(p.inputs.length > 0 ? ["Inputs:"] : []),
    ...p.inputs.map((i) =>
      `  ${i.name} (${i.type}, ${i.required ? "required" : "optional"}): ` +
      (i.given ?? "not given")
    ),
    "Steps, in scheduling order:",
    ...p.steps.flatMap((s, k) => [
      `  ${k + 1}. ${s.id}  ${s.runs}` +
      (s.needs.length > 0 ? `  (after ${s.needs.join(", ")})` : "") + routeNote(s.on_fail),
      ...s.gates.map((gate) =>
        `     gate ${gate.id} (${gate.required ? "required" : "optional"})  ${gate.runs}` +
        routeNote(gate.on_fail)
      ),
    ]),
    ...p.warnings.map((w) => `warning: ${w}`),
  ];
}

/**
 * Parses `--durability`.
 *
 * @param value The option's value.
 * @returns The mode.
 * @throws {UsageError} When it names no mode.
 */
export function parseDurability(value: string): Durability {
  const mode = DURABILITY_MODES.find((m) => m === value);
  if (mode === undefined) {
    throw new UsageError(
      `Invalid --durability ${JSON.stringify(value)}: expected ${
        DURABILITY_MODES.map((m) => JSON.stringify(m)).join(" or ")
      }`,
    );
  }
  return mode;
}

/**
 * Parses `--jobs`.
 *
 * @param value The option's value.
 * @returns A positive integer.
 * @throws {UsageError} When it is not one.
 */
export function parseJobs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`Invalid --jobs ${JSON.stringify(value)}: expected a positive integer`);
  }
  return n;
}

/**
 * The drive options a command passes to the kernel, with progress printed in
 * event order (details are read before the next event's line); `printed`
 * settles once every line so far is out.
 *
 * @param ctx The CLI context.
 * @param g The global options.
 * @param kernel The kernel (its queries add details to progress lines).
 * @param run `--jobs` and `--durability`.
 * @param signal Cancels the run.
 * @returns The drive options and `printed`.
 */
export function driveOptions(
  ctx: CliContext,
  g: GlobalOptions,
  kernel: Kernel,
  run: { jobs?: number; durability?: Durability },
  signal: AbortSignal,
) {
  const progress = {
    queries: kernel.queries,
    hint: (args: readonly string[]) => hint(ctx, g, args),
  };
  let printed: Promise<void> = Promise.resolve();
  return {
    jobs: run.jobs,
    durability: run.durability,
    signal,
    onEvent: (event: RunEvent, state: RunState) => {
      const runId = state.run_id;
      printed = printed.then(async () => {
        for (const line of await progressLines(event, runId, progress)) ctx.output.err(line);
      }).catch((err) => ctx.output.err(`(details of event ${event.seq}: ${causeMessage(err)})`));
    },
    printed: () => printed,
  };
}

/**
 * Prints how a driven run ended: its status (exit 0 when it succeeded, 3
 * when it waits for a person, else 1) and where its details are.
 *
 * @param ctx The CLI context.
 * @param g The global options.
 * @param state The run's state when the runner stopped.
 * @param extra More JSON fields of the result.
 * @throws {ReportedFailure} When the run did not succeed.
 */
export function report(
  ctx: CliContext,
  g: GlobalOptions,
  state: RunState,
  extra: Readonly<Record<string, unknown>> = {},
): void {
  const summary = `Run ${state.run_id} ${state.status}${
    endReason(state) ? `: ${endReason(state)}` : ""
  }`;
  emitResult(
    ctx.output,
    g.json,
    {
      ...extra,
      run_id: state.run_id,
      status: state.status,
      reason: state.reason,
      run_state: state,
    },
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

/** The interrupt handling of a command that drives a run. */
export interface Interrupts {
  /** Aborted by Ctrl-C, SIGTERM or SIGHUP once armed: the run loop cancels the run. */
  readonly signal: AbortSignal;
  /** From now on a signal cancels the run; before, it ends the process as if unhandled. */
  arm(): void;
}

/**
 * Handles Ctrl-C, SIGTERM and SIGHUP while `fn` runs. Until `arm` is called
 * (while the workflow and inputs are read and checked, and nothing is
 * written) a signal ends the process as it would without Lily's handler, so
 * a command blocked reading stdin still stops; once armed, it cancels the run.
 *
 * @param fn The work, given the signal and `arm`.
 * @returns What `fn` returns.
 */
export async function withInterrupts<T>(fn: (interrupts: Interrupts) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let armed = false;
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const remove = () => {
    for (const [s, handler] of handlers) Deno.removeSignalListener(s, handler);
  };
  const handlers = new Map(signals.map((s) => [s, () => {
    if (armed) return controller.abort();
    remove();
    Deno.kill(Deno.pid, s);
  }]));
  for (const [s, handler] of handlers) Deno.addSignalListener(s, handler);
  try {
    return await fn({ signal: controller.signal, arm: () => armed = true });
  } finally {
    remove();
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
  program.command("check")
    .description(
      "Validate a workflow file and its inputs and print the plan; creates nothing (exit 0 or 2; 1 " +
        "when a file does not exist)",
    )
    .argument("<file>", "the workflow file (YAML, or JSON when it ends in .json; - for stdin)")
    .option(
      "--input <name=value>",
      "a run input to check: NAME=PATH or NAME=@ARTIFACT_ID (repeatable)",
      collect,
      [],
    )
    .action(async (file, opts, cmd) => {
      const g = globalOptions(cmd);
      try {
        const inputs = parseInputs(opts.input);
        const checked = await withKernel(
          ctx,
          g,
          (kernel) => kernel.queries.checkWorkflow({ file }, { inputs }),
        );
        const result = { valid: true, file: file === "-" ? "stdin" : file, ...checked };
        emit(ctx.output, g.json, result, () => planLines(result));
      } catch (err) {
        // Whatever makes the workflow or an input unusable is a usage error here; a missing
        // file is not found, as in every command.
        if (isLilyError(err) && !(err instanceof UsageError) && !(err instanceof NotFoundError)) {
          throw new UsageError(err.message, { issues: err.issues, cause: err });
        }
        throw err;
      }
    });

  run.command("start")
    .description("Run a workflow file (YAML or JSON) until it succeeds, fails or waits")
    .argument("<file>", "the workflow file (YAML, or JSON when it ends in .json; - for stdin)")
    .option(
      "--input <name=value>",
      "a run input: NAME=PATH or NAME=@ARTIFACT_ID (repeatable)",
      collect,
      [],
    )
    .option("--jobs <n>", "how many steps run at once (default: number of cores)", parseJobs)
    .option(
      "--no-sandbox",
      "run every step and gate unconfined, without bubblewrap (recorded in the run)",
    )
    .option(
      "--no-cache",
      "look nothing up in the step cache: every step runs (results still enter the cache)",
    )
    .option(
      "--durability <mode>",
      "fsync: every event fsynced before it is acted on (default); process: written, not " +
        "fsynced (survives a kill of Lily, not a power loss)",
      parseDurability,
    )
    .action(async (file, opts, cmd) => {
      const g = globalOptions(cmd);
      const inputs = parseInputs(opts.input);
      // Everything is read once and checked before the store or the run exists.
      const { state } = await withKernel(
        ctx,
        g,
        (kernel) =>
          withInterrupts(async ({ signal, arm }) => {
            const { printed, ...drive } = driveOptions(ctx, g, kernel, opts, signal);
            try {
              return await kernel.runs.start({ file }, {
                ...drive,
                inputs,
                // Commander's --no-sandbox defaults to true; only an explicit "off" overrides
                // the kernel's default (on, unless LILY_SANDBOX=off).
                ...(opts.sandbox === false ? { sandbox: false } : {}),
                ...(opts.cache === false ? { noCache: true } : {}),
                onPrepared: arm,
                onCreated: (runId: string, notes: readonly string[]) => {
                  if (!g.json) ctx.output.err([`Started run ${runId}`, ...notes].join("; "));
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
    .option(
      "--durability <mode>",
      "fsync: every event fsynced before it is acted on (default); process: written, not " +
        "fsynced (survives a kill of Lily, not a power loss)",
      parseDurability,
    )
    .action(async (runId, opts, cmd) => {
      const g = globalOptions(cmd);
      const state = await withKernel(ctx, g, (kernel) =>
        withInterrupts(async ({ signal, arm }) => {
          arm();
          const { printed, ...drive } = driveOptions(ctx, g, kernel, opts, signal);
          try {
            return await kernel.runs.resume(runId, drive);
          } finally {
            await printed();
          }
        }));
      report(ctx, g, state);
    });

  run.command("cancel")
    .description("Stop a live run (its children are killed) or mark an idle run cancelled")
    .argument("<run_id>", "the run")
    .action(async (runId, _opts, cmd) => {
      const g = globalOptions(cmd);
      const state = await withKernel(ctx, g, (kernel) => kernel.runs.cancel(runId));
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
      const decision = await withKernel(
        ctx,
        g,
        (kernel) =>
          kernel.runs.approve(runId, gateId, { reject: opts.reject, reason: opts.reason }),
      );
      emit(ctx.output, g.json, { run_id: runId, gate_id: gateId, ...decision }, () => [
        `Gate ${gateId} on ${decision.step_id}#${decision.attempt}` +
        (decision.prompt === null ? "" : ` (${JSON.stringify(decision.prompt)})`) +
        `: ${decision.status === "pass" ? "approved" : "rejected"}` +
        (opts.reason ? `: ${opts.reason}` : "") + ` (result ${decision.result_id})`,
        `Continue with: ${hint(ctx, g, ["run", "resume", runId])}`,
      ]);
    });
}
