/**
 * `lily run diff`: two runs compared step by step — status, attempts, the
 * input and output hashes of each step's last attempt, its executor summary
 * — with the runs' workflows, inputs and environment snapshots, and the
 * first step (in the first run's declaration order) whose inputs or outputs
 * differ: the answer to "why is today's run different from yesterday's?".
 * Pure: a function of two {@linkcode RunFacts}.
 *
 * @module
 */

import { canonicalJson } from "../core/canonical_json.ts";
import { flattenFacts, type HashedArtifact, type RunFacts, type StepFacts } from "./run_facts.ts";

/** A named value that differs between the runs (null: absent there). */
export interface ValueDiff {
  /** The input, output or field. */
  readonly name: string;
  /** In the first run. */
  readonly a: unknown;
  /** In the second run. */
  readonly b: unknown;
}

/** One step compared. */
export interface StepDiff {
  /** The step. */
  readonly step: string;
  /** Which runs have it. */
  readonly in: "both" | "a" | "b";
  /** Its status in each run (null where it is absent). */
  readonly status: { readonly a: string | null; readonly b: string | null };
  /** Its attempts in each run. */
  readonly attempts: { readonly a: number; readonly b: number };
  /** Its inputs whose hashes differ (sha256, null where absent). */
  readonly inputs: readonly ValueDiff[];
  /** Its outputs whose hashes differ (sha256, null where absent). */
  readonly outputs: readonly ValueDiff[];
  /** The executor summary fields that differ. */
  readonly executor: readonly ValueDiff[];
  /** Whether nothing above differs. */
  readonly same: boolean;
}

/** Where two runs first diverge. */
export interface FirstDivergence {
  /** The step. */
  readonly step: string;
  /** What differs first: an input, an output, or the step is in one run only. */
  readonly what: "input" | "output" | "step";
  /** The input or output (the step's id for `step`). */
  readonly name: string;
  /** Its sha256 in the first run (null where absent). */
  readonly a: string | null;
  /** Its sha256 in the second run. */
  readonly b: string | null;
}

/** Two runs compared. */
export interface RunDiff {
  /** The first run. */
  readonly a: string;
  /** The second run. */
  readonly b: string;
  /** The runs' statuses. */
  readonly status: { readonly a: string; readonly b: string };
  /** Whether both ran the same workflow definition, and its hashes. */
  readonly workflow: {
    readonly same: boolean;
    readonly a: string | null;
    readonly b: string | null;
  };
  /** Run inputs whose hashes differ. */
  readonly inputs: readonly ValueDiff[];
  /** Environment snapshot fields that differ (empty when either run has no snapshot). */
  readonly environment: readonly ValueDiff[];
  /** Whether both runs have an environment snapshot to compare. */
  readonly environment_compared: boolean;
  /** Every step of either run, the first run's order first. */
  readonly steps: readonly StepDiff[];
  /** The first step whose inputs or outputs diverge, or null. */
  readonly first_divergence: FirstDivergence | null;
  /** Whether anything differs. */
  readonly differs: boolean;
}

const hashOf = (a: HashedArtifact | undefined) => a === undefined ? null : a.sha256;

/** The entries of two records whose values differ, by name (sorted). */
export function recordDiffs(
  a: Readonly<Record<string, unknown>>,
  b: Readonly<Record<string, unknown>>,
): ValueDiff[] {
  const same = (x: unknown, y: unknown) => canonicalJson(x ?? null) === canonicalJson(y ?? null);
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    .filter((name) => !same(a[name], b[name]))
    .map((name) => ({ name, a: a[name] ?? null, b: b[name] ?? null }));
}

function hashes(artifacts: Readonly<Record<string, HashedArtifact>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(artifacts).map(([k, v]) => [k, hashOf(v)]));
}

function stepDiff(step: string, a: StepFacts | undefined, b: StepFacts | undefined): StepDiff {
  const inputs = recordDiffs(hashes(a?.inputs ?? {}), hashes(b?.inputs ?? {}));
  const outputs = recordDiffs(hashes(a?.outputs ?? {}), hashes(b?.outputs ?? {}));
  const executor = recordDiffs(flattenFacts(a?.executor ?? {}), flattenFacts(b?.executor ?? {}));
  const status = { a: a?.status ?? null, b: b?.status ?? null };
  const attempts = { a: a?.attempts ?? 0, b: b?.attempts ?? 0 };
  const where = a && b ? "both" : a ? "a" : "b";
  return {
    step,
    in: where,
    status,
    attempts,
    inputs,
    outputs,
    executor,
    same: where === "both" && status.a === status.b && attempts.a === attempts.b &&
      inputs.length + outputs.length + executor.length === 0,
  };
}

function firstDivergence(steps: readonly StepDiff[]): FirstDivergence | null {
  for (const s of steps) {
    if (s.in !== "both") {
      return { step: s.step, what: "step", name: s.step, a: null, b: null };
    }
    for (const [what, diffs] of [["input", s.inputs], ["output", s.outputs]] as const) {
      const [first] = diffs;
      if (first === undefined) continue;
      const hash = (v: unknown) => typeof v === "string" ? v : null;
      return { step: s.step, what, name: first.name, a: hash(first.a), b: hash(first.b) };
    }
  }
  return null;
}

/**
 * Compares two runs.
 *
 * @param a The first run (e.g. yesterday's).
 * @param b The second run (e.g. today's).
 * @returns The comparison; `differs` is false only when every step, input,
 * workflow hash and environment field is the same.
 */
export function diffRuns(a: RunFacts, b: RunFacts): RunDiff {
  const order = [...a.step_order, ...b.step_order.filter((s) => !a.step_order.includes(s))];
  const steps = order.map((id) => stepDiff(id, a.steps[id], b.steps[id]));
  const inputs = recordDiffs(hashes(a.inputs), hashes(b.inputs));
  const compared = a.environment !== null && b.environment !== null;
  const environment = compared ? recordDiffs(a.environment ?? {}, b.environment ?? {}) : [];
  const workflow = {
    same: a.workflow.sha256 === b.workflow.sha256,
    a: a.workflow.sha256,
    b: b.workflow.sha256,
  };
  return {
    a: a.run_id,
    b: b.run_id,
    status: { a: a.status, b: b.status },
    workflow,
    inputs,
    environment,
    environment_compared: compared,
    steps,
    first_divergence: firstDivergence(steps),
    differs: !workflow.same || a.status !== b.status || inputs.length > 0 ||
      environment.length > 0 || steps.some((s) => !s.same),
  };
}
