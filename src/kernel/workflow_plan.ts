/**
 * The plan of a valid workflow, as `lily check` prints it: its inputs (and
 * how each is given), and its steps in the order one job runs them when
 * every step succeeds, each with what it runs, what it needs and its gates.
 *
 * @module
 */

import { Scheduler } from "../graph/scheduler.ts";
import type { ExecutorSpec, RouteSpec, StepSpec, TemplateRef } from "../graph/workflow.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { RunInputValue } from "../runtime/run_starter.ts";

/** A declared run input and how it is given. */
export interface PlannedInput {
  /** The input's name. */
  readonly name: string;
  /** Its artifact type. */
  readonly type: string;
  /** Whether a run needs it. */
  readonly required: boolean;
  /** The path, `@ARTIFACT_ID` or `a JSON value` given, or `null` when not given. */
  readonly given: string | null;
}

/** A gate of a planned step. */
export interface PlannedGate {
  /** The gate. */
  readonly id: string;
  /** Its runner's kind (`command`, `deno`, `fn`, `human`). */
  readonly runner: string;
  /** What it runs, in words (`uses deno/test → deno test …` when a template made it). */
  readonly runs: string;
  /** The template it was expanded from (`deno/test`), or `null`. */
  readonly uses: string | null;
  /** Whether its failure fails the step. */
  readonly required: boolean;
  /** Where its failure routes (`on_fail`), or `null`. */
  readonly on_fail: RouteSpec | null;
}

/** A planned step. */
export interface PlannedStep {
  /** The step. */
  readonly id: string;
  /** Its executor's kind. */
  readonly executor: string;
  /** What it runs, in words (e.g. `shell: make test`; `uses deno/test → …` from a template). */
  readonly runs: string;
  /** The template it was expanded from (`deno/test`), or `null`. */
  readonly uses: string | null;
  /** The steps it runs after. */
  readonly needs: readonly string[];
  /** Its timeout in ms, or `null` for none. */
  readonly timeout_ms: number | null;
  /** How many attempts it may take. */
  readonly max_attempts: number;
  /** Where its failure routes (`on_fail`), or `null`. */
  readonly on_fail: RouteSpec | null;
  /** Its gates, in declaration order. */
  readonly gates: readonly PlannedGate[];
}

/** What a valid workflow will do. */
export interface WorkflowPlan {
  /** The workflow's name. */
  readonly workflow: string;
  /** How many routes a run may take in all. */
  readonly max_transitions: number;
  /** Its declared inputs. */
  readonly inputs: readonly PlannedInput[];
  /** Its steps, in scheduling order. */
  readonly steps: readonly PlannedStep[];
  /**
   * What its policies do not confine or cannot honour now: tool lists that
   * name a program that runs arbitrary code, policy paths that escape the
   * workspace (empty from `planWorkflow`; the kernel's `checkWorkflow` fills it).
   */
  readonly warnings: readonly string[];
}

/** A runner in a few words, as its kind describes it (`command: make test`), or its kind. */
function describeRunner(graph: WorkflowGraph, spec: ExecutorSpec): string {
  return graph.kinds.get(spec.kind)?.describe?.(spec) ?? spec.kind;
}

/** What a step or gate runs, after the template that made it. */
function describeUse(graph: WorkflowGraph, spec: ExecutorSpec, template?: TemplateRef): string {
  const runs = describeRunner(graph, spec);
  return template ? `uses ${template.uses} → ${runs}` : runs;
}

/** The steps in the order one job runs them when every step succeeds. */
function schedulingOrder(graph: WorkflowGraph): string[] {
  const scheduler = new Scheduler(graph);
  const order: string[] = [];
  while (scheduler.readyCount > 0) {
    for (const id of scheduler.take(1)) {
      order.push(id);
      scheduler.succeeded(id);
    }
  }
  return order;
}

function plannedStep(graph: WorkflowGraph, step: StepSpec, index: number): PlannedStep {
  return {
    id: step.id,
    executor: step.executor.kind,
    runs: describeUse(graph, step.executor, step.template),
    uses: step.template?.uses ?? null,
    needs: (graph.upstream[index] ?? []).flatMap((u) => graph.steps[u]?.id ?? []),
    timeout_ms: step.timeoutMs ?? null,
    max_attempts: step.retry.maxAttempts,
    on_fail: step.onFail ?? null,
    gates: (graph.gatesOf.get(step.id) ?? []).map((gate) => ({
      id: gate.id,
      runner: gate.runner.kind,
      runs: describeUse(graph, gate.runner, gate.template),
      uses: gate.template?.uses ?? null,
      required: gate.required,
      on_fail: gate.onFail ?? null,
    })),
  };
}

function givenAs(value: RunInputValue | undefined): string | null {
  if (value === undefined) return null;
  if ("path" in value) return value.path;
  if ("bytes" in value) return value.fileName;
  return "artifactId" in value ? `@${value.artifactId}` : "a JSON value";
}

/**
 * Plans a workflow (pure: nothing is read or run).
 *
 * @param graph The workflow.
 * @param inputs The run inputs given, by name.
 * @returns The plan.
 */
export function planWorkflow(
  graph: WorkflowGraph,
  inputs: Readonly<Record<string, RunInputValue>>,
): WorkflowPlan {
  const planned = new Map(
    graph.steps.map((step, index) => [step.id, plannedStep(graph, step, index)]),
  );
  return {
    workflow: graph.workflow.name,
    max_transitions: graph.workflow.maxTransitions,
    inputs: Object.entries(graph.workflow.inputs).map(([name, spec]) => ({
      name,
      type: spec.type,
      required: spec.required,
      given: givenAs(inputs[name]),
    })),
    steps: schedulingOrder(graph).flatMap((id) => planned.get(id) ?? []),
    warnings: [],
  };
}
