/**
 * Output-hash drift between a run and its re-application (`lily run replay
 * --reapply`): per step and per output, whether the re-run produced the
 * same bytes (`same`), other bytes (`differs`), an output the original did
 * not have (`new`), or lacks one the original had (`missing`). A step's
 * drift is the worst of its outputs' (missing > differs > new > same). Pure.
 *
 * @module
 */

import type { HashedArtifact, RunFacts } from "./run_facts.ts";

/** How an output (or a step's outputs) drifted. */
export type Drift = "same" | "differs" | "new" | "missing";

/** One output's drift. */
export interface OutputDrift {
  /** The output. */
  readonly name: string;
  /** How it drifted. */
  readonly drift: Drift;
  /** Its sha256 in the original run (null where absent). */
  readonly original: string | null;
  /** Its sha256 in the re-applied run (null where absent). */
  readonly reapplied: string | null;
}

/** One step's drift. */
export interface StepDrift {
  /** The step. */
  readonly step: string;
  /** The worst drift of its outputs (`same` for a step with none in either run). */
  readonly drift: Drift;
  /** Its status in each run (null where the run lacks the step). */
  readonly status: { readonly original: string | null; readonly reapplied: string | null };
  /** Its outputs' drift, by name. */
  readonly outputs: readonly OutputDrift[];
}

const RANK: Readonly<Record<Drift, number>> = { same: 0, new: 1, differs: 2, missing: 3 };

function outputDrift(
  name: string,
  original: HashedArtifact | undefined,
  reapplied: HashedArtifact | undefined,
): OutputDrift {
  const a = original?.sha256 ?? null;
  const b = reapplied?.sha256 ?? null;
  const drift: Drift = original === undefined
    ? "new"
    : reapplied === undefined
    ? "missing"
    : a !== null && a === b
    ? "same"
    : "differs";
  return { name, drift, original: a, reapplied: b };
}

/**
 * Compares a run's step outputs with its re-application's.
 *
 * @param original The original run.
 * @param reapplied The re-applied run.
 * @returns One entry per step of either run, the original's order first.
 */
export function outputDrifts(original: RunFacts, reapplied: RunFacts): StepDrift[] {
  const order = [
    ...original.step_order,
    ...reapplied.step_order.filter((s) => !original.step_order.includes(s)),
  ];
  return order.map((step) => {
    const a = original.steps[step];
    const b = reapplied.steps[step];
    const names = [...new Set([...Object.keys(a?.outputs ?? {}), ...Object.keys(b?.outputs ?? {})])]
      .sort();
    const outputs = names.map((n) => outputDrift(n, a?.outputs[n], b?.outputs[n]));
    const drift = outputs.reduce<Drift>((w, o) => RANK[o.drift] > RANK[w] ? o.drift : w, "same");
    return {
      step,
      drift,
      status: { original: a?.status ?? null, reapplied: b?.status ?? null },
      outputs,
    };
  });
}
