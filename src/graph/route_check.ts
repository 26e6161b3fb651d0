/**
 * Load-time checks of routes (`on_fail`). A route's `goto` must name the
 * failing step itself or one of its ancestors (for a gate: the gate's step
 * or an ancestor of it), so that a route only ever runs again work the
 * failure depends on. Route edges are not dependencies: they are kept out
 * of the graph's edges, so a route back to an ancestor is never a cycle.
 * The target receives the extra input `feedback`, so it may not declare an
 * input whose variable would be `LILY_INPUT_FEEDBACK` too.
 *
 * @module
 */

import { inputEnvName } from "./derived_names.ts";
import { didYouMean } from "./did_you_mean.ts";
import { reachable } from "./graph_reach.ts";
import type { PathIssue } from "./workflow_definition.ts";
import type { RouteSpec, Workflow } from "./workflow.ts";

/** The input name under which a route's target receives the failing record. */
export const FEEDBACK_INPUT = "feedback";

/**
 * Checks every route of a workflow.
 *
 * @param workflow The normalised workflow.
 * @param indexOf Step id → declaration index.
 * @param upstream For each step, the steps it depends on.
 * @returns One issue per bad route (unknown target, target not an
 * ancestor, on an optional gate, `feedback` input taken), with the path of
 * the offending field.
 */
export function checkRoutes(
  workflow: Workflow,
  indexOf: ReadonlyMap<string, number>,
  upstream: readonly (readonly number[])[],
): PathIssue[] {
  const issues: PathIssue[] = [];
  const takenBy = new Map<number, string>();
  const check = (route: RouteSpec, from: number, base: (string | number)[], origin: string) => {
    const target = indexOf.get(route.goto);
    const path = [...base, "on_fail", "goto"];
    if (target === undefined) {
      issues.push({
        code: "unknown_step",
        path,
        message: `unknown step "${route.goto}"${didYouMean(route.goto, indexOf.keys())}`,
      });
      return;
    }
    const allowed = reachable(upstream, from);
    if (!allowed.includes(target)) {
      const names = allowed.map((i) => workflow.steps[i].id).join(", ");
      issues.push({
        code: "invalid_route",
        path,
        message: `on_fail goes to step "${route.goto}", which is neither ` +
          `"${workflow.steps[from].id}" nor one of its ancestors; expected one of: ${names}`,
      });
      return;
    }
    if (!takenBy.has(target)) takenBy.set(target, origin);
  };
  workflow.steps.forEach((step, i) => {
    if (step.onFail) check(step.onFail, i, ["steps", i], `steps.${step.id}.on_fail`);
  });
  workflow.gates.forEach((gate, g) => {
    const subject = indexOf.get(gate.step);
    if (gate.onFail && !gate.required) {
      issues.push({
        code: "invalid_route",
        path: ["gates", g, "on_fail"],
        message: "on_fail on an optional gate is never taken (its failure is a warning); " +
          "expected required: true or no on_fail",
      });
    } else if (gate.onFail && subject !== undefined) {
      check(gate.onFail, subject, ["gates", g], `gates.${gate.id}.on_fail`);
    }
  });
  for (const [target, origin] of takenBy) {
    for (const name of Object.keys(workflow.steps[target].inputs)) {
      if (inputEnvName(name) !== inputEnvName(FEEDBACK_INPUT)) continue;
      issues.push({
        code: "name_collision",
        path: ["steps", target, "inputs", name],
        message: `input "${name}" collides with the input "${FEEDBACK_INPUT}" that ${origin} ` +
          "hands this step; expected another name",
      });
    }
  }
  return issues;
}
