/**
 * The human text of `lily run replay --simulate`, `lily run replay
 * --reapply` and `lily run diff`: what each comparison found, the first
 * difference named first.
 *
 * @module
 */

import type { Divergence } from "../runtime/run_simulation.ts";
import type { SimulationReport } from "../kernel/run_simulate.ts";
import type { Reapplication } from "../kernel/run_reapply.ts";
import type { RunDiff, StepDiff, ValueDiff } from "../observe/run_diff.ts";
import { table } from "./output.ts";

/** A hash or value, short: the first 12 characters of a sha256, `-` for none. */
function short(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "string") return /^[0-9a-f]{64}$/.test(value) ? value.slice(0, 12) : value;
  return JSON.stringify(value);
}

/**
 * One divergence on one line.
 *
 * @param d The divergence.
 * @returns `event 10 [route] edit#2: recorded …; simulated …`.
 */
export function divergenceLine(d: Divergence): string {
  const where = d.step === null ? "" : ` ${d.step}${d.attempt === null ? "" : `#${d.attempt}`}`;
  return `event ${d.seq} [${d.kind}]${where}: recorded: ${d.recorded}; simulated: ${d.simulated}`;
}

/**
 * The lines of a simulation.
 *
 * @param r The report.
 * @returns Human lines.
 */
export function simulationLines(r: SimulationReport): string[] {
  const workflow = r.workflow.source === "recorded"
    ? "its recorded workflow"
    : `${r.workflow.file ?? "the given workflow"}${
      r.workflow.same_as_recorded ? " (the same as recorded)" : ""
    }`;
  const lines = [
    `Simulated run ${r.run_id} with ${workflow}: ${r.decisions} decisions compared; ` +
    `${r.served.attempts} attempts${
      r.served.llm_replies > 0 ? ` (${r.served.llm_replies} LLM replies)` : ""
    } and ${r.served.gates} gate verdicts served from the record; ` +
    "no process ran",
  ];
  const end = `the run ends ${r.end.simulated ?? "unknown (it leaves the recorded path)"}` +
    ` (recorded: ${r.end.recorded ?? "not ended"})`;
  if (!r.differs) return [...lines, `No decision differs; ${end}`];
  return [
    ...lines,
    `${r.divergences.length} ${
      r.divergences.length === 1 ? "decision differs" : "decisions differ"
    }` +
    `; ${end}`,
    ...r.divergences.map((d, i) => `  ${i === 0 ? "first: " : ""}${divergenceLine(d)}`),
  ];
}

/**
 * The lines of a re-application.
 *
 * @param r What it did and found.
 * @returns Human lines.
 */
export function reapplicationLines(r: Reapplication): string[] {
  const drifted = r.drift.filter((d) => d.drift !== "same");
  const rows = r.drift.map((d) => [
    d.step,
    d.drift,
    `${d.status.original ?? "-"} → ${d.status.reapplied ?? "-"}`,
    d.outputs.filter((o) => o.drift !== "same").map((o) =>
      `${o.name}: ${short(o.original)} → ${short(o.reapplied)}`
    ).join(", "),
  ]);
  return [
    `Re-applied run ${r.original} as run ${r.run_id} (${r.status})`,
    ...table(["STEP", "DRIFT", "STATUS", "OUTPUTS THAT DIFFER"], rows).map((l) => `  ${l}`),
    drifted.length === 0
      ? "No drift: every step's outputs have the same hashes"
      : `Drift: ${drifted.map((d) => `${d.step} (${d.drift})`).join(", ")}`,
  ];
}

function valueDiffs(diffs: readonly ValueDiff[]): string {
  return diffs.map((d) => `${d.name}: ${short(d.a)} → ${short(d.b)}`).join(", ");
}

function stepRow(s: StepDiff): string[] {
  const pair = (a: unknown, b: unknown) => a === b ? String(a ?? "-") : `${a ?? "-"} → ${b ?? "-"}`;
  const names = (d: readonly ValueDiff[]) =>
    d.length === 0 ? "same" : d.map((x) => x.name).join(",");
  return [
    s.step,
    pair(s.status.a, s.status.b),
    pair(s.attempts.a, s.attempts.b),
    names(s.inputs),
    names(s.outputs),
    names(s.executor),
  ];
}

/**
 * The lines of a run diff.
 *
 * @param d The diff.
 * @returns Human lines.
 */
export function runDiffLines(d: RunDiff): string[] {
  const f = d.first_divergence;
  return [
    `Runs ${d.a} and ${d.b} ${d.differs ? "differ" : "are the same"} ` +
    `(status ${d.status.a}${d.status.a === d.status.b ? "" : ` → ${d.status.b}`})`,
    `Workflow: ${
      d.workflow.same ? "the same" : `differs (${short(d.workflow.a)} → ${short(d.workflow.b)})`
    }`,
    `Inputs: ${d.inputs.length === 0 ? "the same" : valueDiffs(d.inputs)}`,
    `Environment: ${
      !d.environment_compared
        ? "not compared (a run has no environment snapshot)"
        : d.environment.length === 0
        ? "the same"
        : valueDiffs(d.environment)
    }`,
    ...table(
      ["STEP", "STATUS", "ATTEMPTS", "INPUTS", "OUTPUTS", "EXECUTOR"],
      d.steps.map(stepRow),
    ).map((l) => `  ${l}`),
    ...d.steps.filter((s) => s.executor.length > 0).map((s) =>
      `  ${s.step} executor: ${valueDiffs(s.executor)}`
    ),
    f === null
      ? "No step's inputs or outputs diverge"
      : f.what === "step"
      ? `First divergence: step ${f.step} is in one run only`
      : `First divergence: step ${f.step} ${f.what} ${f.name} (${short(f.a)} → ${short(f.b)})`,
  ];
}
