/**
 * What changed between two definitions of the same step or gate, split the
 * way `lily run replay --simulate` needs it: the fields that say what work
 * is done (the executor or runner, inputs, outputs, environment, policy,
 * time limit), whose recorded results can no longer be served, and the
 * fields that only steer decisions (retry, `on_fail`, `required`, `needs`),
 * which the decider simply re-applies. Pure: compared on canonical JSON,
 * as `workflowHash` compares whole workflows.
 *
 * @module
 */

import { canonicalJson } from "../core/canonical_json.ts";
import type { GateSpec, StepSpec } from "./workflow.ts";

/** The fields of a step whose change means its recorded results may differ. */
export const STEP_WORK_FIELDS = [
  "executor",
  "inputs",
  "outputs",
  "env",
  "envPass",
  "timeoutMs",
  "policy",
] as const satisfies readonly (keyof StepSpec)[];

/** The fields of a gate whose change means its recorded verdict may differ. */
export const GATE_WORK_FIELDS = [
  "step",
  "runner",
  "inputs",
  "env",
  "timeoutMs",
  "policy",
] as const satisfies readonly (keyof GateSpec)[];

/** The workflow file's spelling of a field (`envPass` → `env_pass`, `timeoutMs` → `timeout`). */
const SPELLING: Readonly<Record<string, string>> = {
  envPass: "env_pass",
  timeoutMs: "timeout",
  runner: "runner",
  executor: "executor",
};

/**
 * The work fields that differ between two definitions, as a workflow file
 * spells them (the executor and the runner by their names).
 *
 * @param fields The fields to compare.
 * @param before The recorded definition.
 * @param after The current definition.
 * @returns The names of the fields that differ, in `fields` order; empty when none does.
 */
export function changedFields<T extends object>(
  fields: readonly (keyof T & string)[],
  before: T,
  after: T,
): string[] {
  // Through JSON first, as a workflow is hashed: an `fn` spec compares by its function's name.
  const json = (v: unknown) => v === undefined ? "" : canonicalJson(JSON.parse(JSON.stringify(v)));
  return fields.filter((f) => json(before[f]) !== json(after[f])).map((f) => SPELLING[f] ?? f);
}

/**
 * The work fields of a step that changed.
 *
 * @param before The step as the run recorded it.
 * @param after The step in the workflow simulated.
 * @returns The changed fields, e.g. `["executor", "env"]`.
 */
export function stepWorkChanges(before: StepSpec, after: StepSpec): string[] {
  return changedFields<StepSpec>(STEP_WORK_FIELDS, before, after);
}

/**
 * The work fields of a gate that changed.
 *
 * @param before The gate as the run recorded it.
 * @param after The gate in the workflow simulated.
 * @returns The changed fields, e.g. `["runner"]`.
 */
export function gateWorkChanges(before: GateSpec, after: GateSpec): string[] {
  return changedFields<GateSpec>(GATE_WORK_FIELDS, before, after);
}

/**
 * The outputs of a step whose declared `type` alone changed — the same
 * name, path, kind and `required` — so that a recorded JSON output can be
 * validated against its new type in-process instead of running the step.
 *
 * @param before The step as the run recorded it.
 * @param after The step in the workflow simulated.
 * @returns New type by output name (empty when no type changed), or null
 * when the outputs changed in another way (added, removed, moved, re-kinded).
 */
export function retypedOutputs(before: StepSpec, after: StepSpec): Record<string, string> | null {
  const names = Object.keys(after.outputs);
  if (names.length !== Object.keys(before.outputs).length) return null;
  const retyped: Record<string, string> = {};
  for (const name of names) {
    const [a, b] = [before.outputs[name], after.outputs[name]];
    if (a === undefined || b === undefined) return null;
    if (a.path !== b.path || a.kind !== b.kind || a.required !== b.required) return null;
    if (a.type !== b.type) retyped[name] = b.type;
  }
  return retyped;
}
