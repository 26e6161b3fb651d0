/**
 * Names Lily derives from ids — environment variables, file and directory
 * names — and the load-time check that no two of them collide with each
 * other or with a name Lily reserves.
 *
 * What is derived (see `src/runtime/attempt_workspace.ts` and
 * `src/gates/gate_evaluator.ts`):
 * - `LILY_INPUT_<NAME>` per step or gate input: the name upper-cased with
 *   `-` turned into `_` (a gate without `inputs` takes its step's outputs);
 * - the input copy `<name><ext>` in `LILY_INPUT_DIR`;
 * - the attempt dir `tmp/<step>.<attempt>` and logs `logs/<step>.<attempt>.std{out,err}.log`,
 *   and for gates `gate.<gate>.<step>.<attempt>`;
 * - declared output files in `LILY_OUTPUT_DIR`.
 *
 * Ids and input names cannot contain `.`, so labels of different kinds
 * cannot collide; names that differ only in case can, on a case-insensitive
 * file system (macOS, Windows), and are rejected too.
 *
 * @module
 */

import type { PathIssue } from "./workflow_definition.ts";
import type { Workflow } from "./workflow.ts";

/** Variables Lily sets for every step or gate attempt; a workflow cannot set them. */
export const LILY_ENV_NAMES: readonly string[] = [
  "LILY_RUN_ID",
  "LILY_STEP_ID",
  "LILY_GATE_ID",
  "LILY_ATTEMPT",
  "LILY_WORKSPACE",
  "LILY_OUTPUT_DIR",
  "LILY_INPUT_DIR",
  "TMPDIR",
];

/**
 * Whether an environment variable name is reserved for Lily: every name
 * starting with `LILY_`, and `TMPDIR`.
 *
 * @param name The variable name.
 * @returns `true` when a step's `env` or `env_pass` may not name it.
 */
export function isReservedEnvName(name: string): boolean {
  return name.startsWith("LILY_") || name === "TMPDIR";
}

/**
 * The environment variable that names an input's path: `LILY_INPUT_<NAME>`,
 * the name upper-cased with `-` turned into `_`.
 *
 * @example
 * ```ts
 * import { inputEnvName } from "./derived_names.ts";
 * console.assert(inputEnvName("data-set") === "LILY_INPUT_DATA_SET");
 * ```
 *
 * @param name The input name.
 * @returns The variable name.
 */
export function inputEnvName(name: string): string {
  return `LILY_INPUT_${name.toUpperCase().replaceAll("-", "_")}`;
}

type Path = (string | number)[];

/** Reports ids of one list that differ only in case (exact duplicates are reported elsewhere). */
function caseCollisions(
  list: "steps" | "gates",
  ids: readonly string[],
  issues: PathIssue[],
): void {
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    const key = id.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else if (ids[first] !== id) {
      const what = list === "steps" ? "step" : "gate";
      issues.push({
        code: "name_collision",
        path: [list, i, "id"],
        message: `${what} id "${id}" differs from ${what} id "${ids[first]}" only in case; ` +
          "their attempt dirs and log files would be the same on a case-insensitive file system",
      });
    }
  });
}

/** Reports inputs whose `LILY_INPUT_*` names collide with each other or with Lily's own. */
function inputCollisions(
  names: readonly string[],
  path: (name: string) => Path,
  owner: string,
  issues: PathIssue[],
): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const env = inputEnvName(name);
    const first = seen.get(env);
    if (first !== undefined) {
      issues.push({
        code: "name_collision",
        path: path(name),
        message: `inputs "${first}" and "${name}" of ${owner} both become ${env}; ` +
          "rename one",
      });
    } else if (LILY_ENV_NAMES.includes(env)) {
      issues.push({
        code: "name_collision",
        path: path(name),
        message: `input "${name}" of ${owner} becomes ${env}, which Lily sets itself; rename it`,
      });
    }
    seen.set(env, name);
  }
}

function reservedEnv(name: string, path: Path, issues: PathIssue[]): void {
  if (isReservedEnvName(name)) {
    issues.push({
      code: "reserved_name",
      path,
      message: `${name} is reserved: Lily sets TMPDIR and the names starting with LILY_ ` +
        "itself; choose another name",
    });
  }
}

/**
 * Checks every name derived from the workflow's ids for collisions.
 *
 * @param workflow The normalised workflow.
 * @returns One issue per collision, naming both ids (or the reserved name).
 */
export function checkDerivedNames(workflow: Workflow): PathIssue[] {
  const issues: PathIssue[] = [];
  caseCollisions("steps", workflow.steps.map((s) => s.id), issues);
  caseCollisions("gates", workflow.gates.map((g) => g.id), issues);
  workflow.steps.forEach((step, i) => {
    inputCollisions(
      Object.keys(step.inputs),
      (name) => ["steps", i, "inputs", name],
      `step ${step.id}`,
      issues,
    );
    const files = new Map<string, string>();
    for (const [name, output] of Object.entries(step.outputs)) {
      const first = files.get(output.path.toLowerCase());
      if (first !== undefined) {
        issues.push({
          code: "name_collision",
          path: ["steps", i, "outputs", name, "path"],
          message: `outputs "${first}" and "${name}" of step ${step.id} name the same file ` +
            `${JSON.stringify(output.path)} (compared ignoring case); give each its own path`,
        });
      } else files.set(output.path.toLowerCase(), name);
    }
    for (const name of Object.keys(step.env)) reservedEnv(name, ["steps", i, "env", name], issues);
    step.envPass.forEach((name, k) => reservedEnv(name, ["steps", i, "env_pass", k], issues));
  });
  workflow.gates.forEach((gate, g) => {
    const explicit = Object.keys(gate.inputs);
    const subject = workflow.steps.find((s) => s.id === gate.step);
    if (explicit.length > 0) {
      inputCollisions(explicit, (name) => ["gates", g, "inputs", name], `gate ${gate.id}`, issues);
    } else if (subject) {
      inputCollisions(
        Object.keys(subject.outputs),
        () => ["gates", g],
        `gate ${gate.id} (the outputs of step ${subject.id})`,
        issues,
      );
    }
    for (const name of Object.keys(gate.env)) reservedEnv(name, ["gates", g, "env", name], issues);
  });
  return issues;
}
