/**
 * `lily run new|list|show`.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import type { CliContext } from "./context.ts";
import { globalOptions, hint, withExistingStore, withStore } from "./context.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import { readJournal } from "../runtime/run_journal.ts";
import {
  type CommandHint,
  endReason,
  gateResult,
  humanGates,
  type HumanGateView,
  logDetails,
} from "./run_details.ts";
import { emit, table } from "./output.ts";
import type { AttemptState, RunState } from "../runtime/run_events.ts";
import { describeRoutes } from "./route_view.ts";
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
        gone.has(r.run_id)
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
    .action(async (runId, _opts, cmd) => {
      const g = globalOptions(cmd);
      const command = (args: readonly string[]) => hint(ctx, g, args);
      const { manifest, counts, path, state, live, gates, failures, routes } = await withStore(
        ctx,
        g,
        false,
        async (store) => {
          // Read first: it re-derives a manifest status a dead runner left stale.
          const state = await readRunState(store, runId);
          const manifest = await store.runs.get(runId);
          const events = (await readJournal(store.runs.paths(runId).events)).events;
          return {
            manifest,
            counts: store.index.countByType(runId),
            path: store.runs.paths(runId).root,
            state,
            live: await isRunLive(store.runs.paths(runId)),
            gates: await humanGates(store, state, events),
            failures: await describeFailures(store, state, command),
            routes: events.filter((e) => e.type === "route_taken"),
          };
        },
      );
      const orphaned = manifest.status === "running" && !live;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const hasWorkflow = state.workflow_ref !== null;
      const reason = endReason(state);
      emit(ctx.output, g.json, {
        manifest,
        path,
        artifact_counts: counts,
        artifact_total: total,
        runner_alive: live,
        run_state: hasWorkflow ? state : null,
        human_gates: gates,
        failures: failures.map(({ lines: _, ...failure }) => failure),
        routes,
      }, () => [
        `Run ${manifest.run_id}`,
        `Status: ${manifest.status}${reason ? ` (${reason})` : ""}` +
        (orphaned ? ` — no live runner; continue with: ${command(["run", "resume", runId])}` : ""),
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
        ...describeRoutes(routes),
        ...failures.flatMap((f) => f.lines),
        ...gates.flatMap((gate) => describeHumanGate(gate, runId, command)),
        "",
        `Artifacts: ${total}`,
        ...Object.entries(counts).sort().map(([type, n]) => `  ${type}: ${n}`),
      ]);
    });
  return run;
}

/** A failed attempt or gate as `run show` reports it. */
interface FailureView {
  readonly step: string;
  readonly attempt: number;
  readonly gate_id: string | null;
  readonly message: string;
  readonly lines: string[];
}

/** Failed steps' last attempts and their failed required gates, with log tails. */
async function describeFailures(
  store: ContractStore,
  state: RunState,
  command: CommandHint,
): Promise<FailureView[]> {
  const out: FailureView[] = [];
  for (const [id, step] of Object.entries(state.steps)) {
    const last = step.attempts.at(-1);
    if (step.status !== "failed" || !last) continue;
    const where = `${id}#${last.attempt}`;
    if (last.status !== "succeeded") {
      const message = last.message ?? `attempt ${last.status}`;
      out.push({
        step: id,
        attempt: last.attempt,
        gate_id: null,
        message,
        lines: [
          `failed: ${where}: ${message}`,
          ...await logDetails(store, last.logs, command, "  "),
        ],
      });
    }
    for (const gate of Object.values(last.gates)) {
      if (!gate.required || (gate.status !== "fail" && gate.status !== "error")) continue;
      const result = await gateResult(store, gate.result_id);
      const message = `required gate ${gate.gate_id}: ${gate.status}`;
      out.push({
        step: id,
        attempt: last.attempt,
        gate_id: gate.gate_id,
        message,
        lines: [
          `failed: ${where}: ${message}${
            result.reasons.length ? ` (${result.reasons.join("; ")})` : ""
          }`,
          ...await logDetails(
            store,
            {
              stderr: result.stderr_artifact_id,
              stdout: result.stdout_artifact_id,
            },
            command,
            "  ",
          ),
        ],
      });
    }
  }
  return out;
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
