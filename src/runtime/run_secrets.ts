/**
 * A run's redactor: the secrets of its workflow (see `src/core/redaction.ts`
 * for the rule) — the values of every name its steps and gates set (`env`)
 * or pass (`env_pass`), that its policies pass (`env`), and of every kernel
 * variable whose name contains `TOKEN`, `SECRET`, `KEY` or `PASSWORD`. One
 * redactor serves the whole run, so a secret of one step is hidden in every
 * step's logs and records too.
 *
 * @module
 */

import { Redactor, runSecrets } from "../core/redaction.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { RunEventBody } from "./run_events.ts";

/**
 * Builds the redactor of a run of a workflow.
 *
 * @param graph The run's workflow graph.
 * @param kernelEnv The kernel's environment.
 * @returns The redactor.
 */
export function runRedactor(
  graph: WorkflowGraph,
  kernelEnv: Readonly<Record<string, string>>,
): Redactor {
  const workflow = graph.workflow;
  const names = new Set<string>(workflow.policy?.env ?? []);
  const set: Readonly<Record<string, string>>[] = [];
  for (const step of graph.steps) {
    for (const name of [...step.envPass, ...Object.keys(step.env), ...(step.policy?.env ?? [])]) {
      names.add(name);
    }
    set.push(step.env);
  }
  for (const gate of workflow.gates) {
    for (const name of [...Object.keys(gate.env), ...(gate.policy?.env ?? [])]) names.add(name);
    set.push(gate.env);
  }
  return new Redactor(runSecrets(kernelEnv, { names, set }));
}

/**
 * Redacts the free text of an event before it is journaled: messages,
 * reasons, warnings, prompts and executor summaries (an executor's `env`
 * with {@linkcode Redactor.env}). Ids, names and numbers are left as they are.
 *
 * @param body The event.
 * @param redactor The run's redactor.
 * @returns The event, redacted (the same object when there is nothing to redact).
 */
export function redactEvent(body: RunEventBody, redactor: Redactor): RunEventBody {
  if (!redactor.active) return body;
  const out: Record<string, unknown> = { ...body };
  for (const key of ["message", "reason", "prompt", "warnings"] as const) {
    if (key in out) out[key] = redactor.value(out[key]);
  }
  if ("executor" in body) {
    const { env, ...rest } = body.executor as Record<string, unknown>;
    out.executor = {
      ...redactor.value(rest),
      ...(env !== null && typeof env === "object"
        ? { env: redactor.env(env as Record<string, string>) }
        : {}),
    };
  }
  return out as RunEventBody;
}
