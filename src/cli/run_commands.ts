/**
 * `lily run new|list|show`.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import type { CliContext } from "./context.ts";
import { globalOptions, hint, withKernel } from "./context.ts";
import type { FailureView, HumanGateView, RunSummary } from "../kernel/run_views.ts";
import type { PendingRetry } from "../kernel/pending_retry.ts";
import { type CommandHint, logLines } from "./run_details.ts";
import { emit, table } from "./output.ts";
import type { AttemptState, RunState } from "../runtime/run_events.ts";
import { describeRoutes } from "./route_view.ts";
import { attemptHistory } from "../kernel/run_history.ts";
import { describeHistory, describeReplays } from "./replay_view.ts";
import { followRunShow } from "./run_follow_view.ts";
import { UsageError } from "../core/errors.ts";

/**
 * Adds the `run` commands to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 * @returns The `run` command group, for further subcommands.
 */
export function registerRunCommands(program: Command, ctx: CliContext): Command {
  const run = program.command("run").description("Create and inspect runs");

  run.command("new")
    .description("Create a run (status created), optionally with a work order")
    .option("--work-order <path>", "a work order file, stored as a work_order.v1 artifact")
    .action(async (opts, cmd) => {
      const g = globalOptions(cmd);
      const created = await withKernel(
        ctx,
        g,
        (kernel) => kernel.runs.create({ workOrderPath: opts.workOrder }),
      );
      emit(ctx.output, g.json, {
        run_id: created.manifest.run_id,
        path: created.path,
        work_order_ref: created.workOrderRef,
      }, () => [
        `Created run ${created.manifest.run_id}`,
        `Path: ${created.path}`,
        ...(created.workOrderRef
          ? [`Attached work order: ${created.workOrderRef.artifact_id}`]
          : []),
      ]);
    });

  run.command("list")
    .description("List the runs of the workspace, oldest first")
    .action(async (_opts, cmd) => {
      const g = globalOptions(cmd);
      const runs = await withKernel(ctx, g, (kernel) => kernel.queries.listRuns());
      const data = runs.map((r) =>
        "manifest" in r
          ? { ...r.manifest, ...(r.orphaned ? { runner_alive: false } : {}) }
          : { run_id: r.run_id, status: "invalid", error: r.error }
      );
      const status = (r: Extract<RunSummary, { manifest: unknown }>) =>
        r.orphaned
          ? `running (runner gone: ${hint(ctx, g, ["run", "resume", r.run_id])})`
          : r.manifest.status;
      emit(
        ctx.output,
        g.json,
        data,
        () =>
          runs.length === 0
            ? [`No runs yet; create one with \`${hint(ctx, g, ["run", "new"])}\``]
            : table(
              ["RUN", "STATUS", "CREATED", "WORK ORDER"],
              runs.map((r) =>
                "manifest" in r
                  ? [
                    r.run_id,
                    status(r),
                    r.manifest.created_at,
                    r.manifest.work_order_ref?.artifact_id ?? "-",
                  ]
                  : [r.run_id, "invalid", "-", r.error]
              ),
            ),
      );
    });

  run.command("show")
    .description(
      "Show a run: manifest, steps with attempts and gates, failures with their logs, " +
        "human gates with prompts and decisions, artifact counts",
    )
    .argument("<run_id>", "the run")
    .option("--history", "also every attempt a rerun or a replacement superseded, with outputs")
    .option("--follow", "print the run's events as they are journaled, until its runner stops")
    .action(async (runId, opts, cmd) => {
      const g = globalOptions(cmd);
      if (opts.follow && opts.history) {
        throw new UsageError("--history cannot go with --follow, which prints the run's events");
      }
      if (opts.follow) return await followRunShow(ctx, g, runId);
      const command = (args: readonly string[]) => hint(ctx, g, args);
      const run = await withKernel(ctx, g, (kernel) => kernel.queries.describeRun(runId));
      const { manifest, path, state, human_gates: gates, failures } = run;
      const counts = run.artifact_counts;
      const total = run.artifact_total;
      const reason = run.end_reason;
      emit(ctx.output, g.json, {
        manifest,
        path,
        artifact_counts: counts,
        artifact_total: total,
        runner_alive: run.runner_alive,
        run_state: run.has_workflow ? state : null,
        human_gates: gates,
        failures: failures.map(({ step, attempt, gate_id, message }) => ({
          step,
          attempt,
          gate_id,
          message,
        })),
        routes: run.routes,
        pending_retries: run.pending_retries,
        replays: run.replays,
        ...(opts.history ? { history: attemptHistory(state) } : {}),
        environment_snapshot: run.records.environment_snapshot,
        records: run.records.records,
      }, () => [
        `Run ${manifest.run_id}`,
        `Status: ${manifest.status}${reason ? ` (${reason})` : ""}` +
        run.pending_retries.map((r) => `, ${describePendingRetry(r)}`).join("") +
        (run.orphaned
          ? ` — no live runner; continue with: ${command(["run", "resume", runId])}`
          : ""),
        `Created: ${manifest.created_at}`,
        `Updated: ${manifest.updated_at}`,
        `Kernel: ${manifest.kernel_version}`,
        `Path: ${path}`,
        `Work order: ${manifest.work_order_ref?.artifact_id ?? "none"}`,
        ...(manifest.workspace_snapshot
          ? [
            `Git: ${manifest.workspace_snapshot.git_commit ?? "(no commit)"}${
              manifest.workspace_snapshot.dirty ? " (dirty)" : ""
            }`,
          ]
          : []),
        ...(manifest.reapply_of ? [`Re-applies: run ${manifest.reapply_of}`] : []),
        ...(run.has_workflow ? ["", ...describeSteps(state)] : []),
        ...describeRoutes(run.routes),
        ...describeReplays(run.replays),
        ...(opts.history ? describeHistory(attemptHistory(state)) : []),
        ...failures.flatMap((f) => describeFailure(f, command)),
        ...gates.flatMap((gate) => describeHumanGate(gate, runId, command)),
        "",
        `Artifacts: ${total}`,
        ...Object.entries(counts).sort().map(([type, n]) => `  ${type}: ${n}`),
      ]);
    });
  return run;
}

/** A retry being waited out, for the status line: `retrying build in 4.2s (attempt 1: …)`. */
function describePendingRetry(retry: PendingRetry): string {
  const wait = retry.remaining_ms === 0 ? "now" : `in ${(retry.remaining_ms / 1000).toFixed(1)}s`;
  return `retrying ${retry.step} ${wait} (attempt ${retry.attempt}: ${retry.reason})`;
}

/** A failed attempt or gate, with its log, as `run show` words it. */
function describeFailure(failure: FailureView, command: CommandHint): string[] {
  return [
    `failed: ${failure.step}#${failure.attempt}: ${failure.message}`,
    ...logLines(failure.log, command, "  "),
  ];
}

function describeHumanGate(gate: HumanGateView, runId: string, command: CommandHint): string[] {
  const head = `human gate ${gate.gate_id} on ${gate.step}#${gate.attempt}` +
    (gate.prompt === null ? "" : ` asks ${JSON.stringify(gate.prompt)}`);
  if (gate.status === "waiting") {
    return [`${head}: waiting; decide with: ${command(["approve", runId, gate.gate_id])}`];
  }
  return [
    `${head}: ${gate.status} by ${gate.decided_by} at ${gate.decided_at}` +
    (gate.reason ? `: ${gate.reason}` : ""),
  ];
}

/** An attempt count with the causes of the attempts after the first: `3 (route 2)`. */
function attemptCount(attempts: readonly AttemptState[]): string {
  const causes = new Map<string, number>();
  for (const a of attempts) {
    if (a.cause !== null && a.cause !== "first") {
      causes.set(a.cause, (causes.get(a.cause) ?? 0) + 1);
    }
  }
  const detail = [...causes].map(([cause, n]) => `${cause} ${n}`).join(", ");
  return detail ? `${attempts.length} (${detail})` : String(attempts.length);
}

function describeSteps(state: RunState): string[] {
  const rows = Object.entries(state.steps).map(([id, step]) => {
    const last = step.attempts.at(-1);
    const gates = Object.values(last?.gates ?? {}).map((g) =>
      `${g.gate_id}:${g.status}${g.required ? "" : "?"}`
    );
    if (last?.waiting_on) gates.push(`${last.waiting_on}:waiting`);
    return [
      id,
      step.status,
      attemptCount(step.attempts),
      last?.duration_ms == null ? "-" : `${(last.duration_ms / 1000).toFixed(2)}s`,
      gates.join(" ") || "-",
      Object.entries(step.outputs).map(([name, artifact]) => `${name}=${artifact}`).join(" ") ||
      "-",
    ];
  });
  const lines = table(["STEP", "STATUS", "ATTEMPTS", "LAST", "GATES", "OUTPUTS"], rows);
  for (const [id, step] of Object.entries(state.steps)) {
    for (const warning of step.warnings) lines.push(`warning: ${id}: ${warning}`);
  }
  return [`Workflow: ${state.workflow_name}`, ...lines];
}
