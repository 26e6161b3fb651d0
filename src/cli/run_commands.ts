/**
 * `lily run new|list|show`.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import type { CliContext } from "./context.ts";
import { globalOptions, withExistingStore, withStore } from "./context.ts";
import { emit, table } from "./output.ts";
import type { RunState } from "../runtime/run_events.ts";
import type { RunListing } from "../store/run_store.ts";
import type { RunManifest } from "../store/run_manifest.ts";
import { readRunState } from "../runtime/run_starter.ts";
import { isRunLive } from "../runtime/run_lease.ts";

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
      const producerId = ctx.env("LILY_USER") ?? ctx.env("USER") ?? "human";
      const created = await withStore(ctx, g, true, (store) =>
        store.runs.create({
          workOrderPath: opts.workOrder,
          workOrderProducer: { id: producerId, kind: "human" },
        }));
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
      const { runs, gone } = await withExistingStore(
        ctx,
        g,
        { runs: [], gone: new Set<string>() },
        async (store) => {
          const runs = await store.runs.list();
          const gone = new Set<string>();
          for (const r of runs) {
            if ("manifest" in r && r.manifest.status === "running") {
              if (!(await isRunLive(store.runs.paths(r.run_id)))) gone.add(r.run_id);
            }
          }
          return { runs, gone };
        },
      );
      const data = runs.map((r) =>
        "manifest" in r
          ? { ...r.manifest, ...(gone.has(r.run_id) ? { runner_alive: false } : {}) }
          : { run_id: r.run_id, status: "invalid", error: r.error }
      );
      const status = (r: RunListing & { manifest: RunManifest }) =>
        gone.has(r.run_id) ? "running (runner gone: lily run resume)" : r.manifest.status;
      emit(
        ctx.output,
        g.json,
        data,
        () =>
          runs.length === 0 ? ["No runs yet; create one with `lily run new`"] : table(
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
    .description("Show a run: manifest, steps with attempts and gates, artifact counts")
    .argument("<run_id>", "the run")
    .action(async (runId, _opts, cmd) => {
      const g = globalOptions(cmd);
      const { manifest, counts, path, state, live } = await withStore(
        ctx,
        g,
        false,
        async (store) => ({
          manifest: await store.runs.get(runId),
          counts: store.index.countByType(runId),
          path: store.runs.paths(runId).root,
          state: await readRunState(store, runId),
          live: await isRunLive(store.runs.paths(runId)),
        }),
      );
      const orphaned = manifest.status === "running" && !live;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const hasWorkflow = state.workflow_ref !== null;
      emit(ctx.output, g.json, {
        manifest,
        path,
        artifact_counts: counts,
        artifact_total: total,
        runner_alive: live,
        run_state: hasWorkflow ? state : null,
      }, () => [
        `Run ${manifest.run_id}`,
        `Status: ${manifest.status}${state.reason ? ` (${state.reason})` : ""}` +
        (orphaned ? ` — no live runner; continue with: lily run resume ${runId}` : ""),
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
        ...(hasWorkflow ? ["", ...describeSteps(state)] : []),
        "",
        `Artifacts: ${total}`,
        ...Object.entries(counts).sort().map(([type, n]) => `  ${type}: ${n}`),
      ]);
    });
  return run;
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
      String(step.attempts.length),
      last?.duration_ms == null ? "-" : `${(last.duration_ms / 1000).toFixed(2)}s`,
      gates.join(" ") || "-",
      Object.entries(step.outputs).map(([name, artifact]) => `${name}=${artifact}`).join(" ") ||
      "-",
    ];
  });
  const lines = table(["STEP", "STATUS", "ATTEMPTS", "LAST", "GATES", "OUTPUTS"], rows);
  for (const [id, step] of Object.entries(state.steps)) {
    for (const warning of step.warnings) lines.push(`warning: ${id}: ${warning}`);
    const last = step.attempts.at(-1);
    if (step.status === "failed" && last?.message) lines.push(`failed: ${id}: ${last.message}`);
  }
  return [`Workflow: ${state.workflow_name}`, ...lines];
}
