/**
 * What `lily check` and a run's first line say about a workflow's policies
 * before anything runs: steps and gates whose tool list does not confine
 * them (it names a program that runs arbitrary code), and policy paths whose
 * real location escapes the workspace today (the run would fail that step
 * with a `policy_violation.v1`).
 *
 * @module
 */

import type { Workflow } from "../graph/workflow.ts";
import { attemptConfinement } from "../runtime/attempt_context.ts";
import { expandPolicyPaths } from "../runtime/executors/policy_sandbox.ts";
import { codeRunningTools } from "../policy/policy_model.ts";

function subjects(workflow: Workflow) {
  return [
    ...workflow.steps.map((spec) => ({
      label: `step ${spec.id}`,
      subject: { kind: "step", spec } as const,
    })),
    ...workflow.gates.map((spec) => ({
      label: `gate ${spec.id}`,
      subject: { kind: "gate", spec } as const,
    })),
  ];
}

/**
 * The steps and gates whose `tools` list names a program that runs
 * arbitrary code, so the list does not confine what they run.
 *
 * @param workflow The workflow.
 * @returns One sentence per such step or gate.
 */
export function unconfiningToolWarnings(workflow: Workflow): string[] {
  const out: string[] = [];
  for (const { label, subject } of subjects(workflow)) {
    const confinement = attemptConfinement(workflow, subject, { workspace: "/", mode: "sandbox" });
    const tools = codeRunningTools(confinement.tools);
    if (tools.length > 0) {
      out.push(
        `${label}: its tool list does not confine it: ${
          tools.join(", ")
        } can run any other visible program`,
      );
    }
  }
  return out;
}

/**
 * Everything `lily check` warns about a workflow's policies: unconfining
 * tool lists, and policy paths that escape the workspace now.
 *
 * @param workflow The workflow.
 * @param workspace The workspace the run would use.
 * @returns One sentence per finding.
 */
export async function policyWarnings(workflow: Workflow, workspace: string): Promise<string[]> {
  const out = unconfiningToolWarnings(workflow);
  for (const { label, subject } of subjects(workflow)) {
    const confinement = attemptConfinement(workflow, subject, { workspace, mode: "sandbox" });
    const { violations } = await expandPolicyPaths(confinement);
    for (const v of violations) out.push(`${label}: ${v.message}`);
  }
  return out;
}
