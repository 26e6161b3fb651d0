/**
 * The workflow graph: nodes are steps, edges come from `needs` and from
 * inputs that take another step's outputs. Building it checks every
 * reference and rejects duplicates and cycles, naming the members.
 *
 * @module
 */

import { checkDerivedNames } from "./derived_names.ts";
import { didYouMean } from "./did_you_mean.ts";
import { checkRoutes } from "./route_check.ts";
import { failure, type Result, success } from "../core/issue.ts";
import { type ExecutorKinds, executorKinds, type RunnerOwner } from "./executor_kind.ts";
import type { PathIssue } from "./workflow_definition.ts";
import type { ExecutorSpec, GateSpec, InputSource, StepSpec, Workflow } from "./workflow.ts";

/** A checked workflow with its edges, indexed by declaration order. */
export interface WorkflowGraph {
  /** The workflow. */
  readonly workflow: Workflow;
  /** Steps in declaration order; a step's index is its scheduling key. */
  readonly steps: readonly StepSpec[];
  /** Step id → index. */
  readonly indexOf: ReadonlyMap<string, number>;
  /** For each step, the indexes of the steps it depends on. */
  readonly upstream: readonly (readonly number[])[];
  /** For each step, the indexes of the steps that depend on it. */
  readonly downstream: readonly (readonly number[])[];
  /** Gates by the id of the step they check, in declaration order. */
  readonly gatesOf: ReadonlyMap<string, readonly GateSpec[]>;
  /** The executor kinds the workflow was checked against. */
  readonly kinds: ExecutorKinds;
}

/** Options of {@linkcode buildGraph}. */
export interface BuildGraphOptions {
  /**
   * The executor kinds the steps and gates may use.
   * @default {executorKinds()}
   */
  readonly kinds?: ExecutorKinds;
}

/** Maps each id to its first index, reporting every later duplicate. */
function indexIds(
  list: "steps" | "gates",
  items: readonly { readonly id: string }[],
  issues: PathIssue[],
): Map<string, number> {
  const indexOf = new Map<string, number>();
  items.forEach((item, i) => {
    const first = indexOf.get(item.id);
    if (first === undefined) indexOf.set(item.id, i);
    else {
      issues.push({
        code: "duplicate_id",
        path: [list, i, "id"],
        message: `duplicate ${list === "steps" ? "step" : "gate"} id "${item.id}" ` +
          `(first declared as ${list}[${first}])`,
      });
    }
  });
  return indexOf;
}

/**
 * Checks a workflow's references and builds its graph.
 *
 * @param workflow The normalised workflow.
 * @param options The executor kinds.
 * @returns The graph, or every problem with its path.
 */
export function buildGraph(
  workflow: Workflow,
  options: BuildGraphOptions = {},
): Result<WorkflowGraph, PathIssue> {
  const kinds = options.kinds ?? executorKinds();
  const issues: PathIssue[] = [];
  const checkRunner = (
    spec: ExecutorSpec,
    owner: RunnerOwner,
    base: (string | number)[],
  ): void => {
    const kind = kinds.get(spec.kind);
    if (kind === undefined) {
      issues.push({
        code: "unknown_executor_kind",
        path: base,
        message: `unknown executor kind "${spec.kind}"; registered: ${kinds.ids().join(", ")}`,
      });
      return;
    }
    for (const issue of kind.check?.(spec, owner) ?? []) {
      issues.push({ ...issue, path: [...base, ...issue.path] });
    }
  };
  const indexOf = indexIds("steps", workflow.steps, issues);
  const runInputs = Object.keys(workflow.inputs);
  const upstream: Set<number>[] = workflow.steps.map(() => new Set());

  const checkSource = (
    source: InputSource,
    path: (string | number)[],
    owner: number | undefined,
  ): void => {
    if (source.from === "run_input" && !(source.name in workflow.inputs)) {
      issues.push({
        code: "unknown_input",
        path,
        message: `unknown run input "${source.name}"${didYouMean(source.name, runInputs)}`,
      });
    }
    if (source.from !== "step_output") return;
    const target = indexOf.get(source.step);
    if (target === undefined) {
      issues.push({
        code: "unknown_step",
        path,
        message: `unknown step "${source.step}"${didYouMean(source.step, indexOf.keys())}`,
      });
      return;
    }
    const outputs = Object.keys(workflow.steps[target].outputs);
    if (!outputs.includes(source.output)) {
      issues.push({
        code: "unknown_output",
        path,
        message: `step "${source.step}" declares no output "${source.output}"${
          didYouMean(source.output, outputs)
        }`,
      });
    }
    if (owner !== undefined) {
      if (target === owner) {
        issues.push({ code: "self_reference", path, message: "a step cannot take its own output" });
      } else upstream[owner].add(target);
    }
  };

  workflow.steps.forEach((step, i) => {
    step.needs.forEach((need, k) => {
      const target = indexOf.get(need);
      if (target === undefined) {
        issues.push({
          code: "unknown_step",
          path: ["steps", i, "needs", k],
          message: `unknown step "${need}"${didYouMean(need, indexOf.keys())}`,
        });
      } else if (target === i) {
        issues.push({
          code: "self_reference",
          path: ["steps", i, "needs", k],
          message: "a step cannot need itself",
        });
      } else upstream[i].add(target);
    });
    for (const [name, source] of Object.entries(step.inputs)) {
      checkSource(source, ["steps", i, "inputs", name], i);
    }
    checkRunner(step.executor, { role: "step", id: step.id, outputs: step.outputs }, ["steps", i]);
  });

  indexIds("gates", workflow.gates, issues);
  const gatesOf = new Map<string, GateSpec[]>();
  workflow.gates.forEach((gate, g) => {
    if (!indexOf.has(gate.step)) {
      issues.push({
        code: "unknown_step",
        path: ["gates", g, "step"],
        message: `unknown step "${gate.step}"${didYouMean(gate.step, indexOf.keys())}`,
      });
    } else {
      if (!gatesOf.has(gate.step)) gatesOf.set(gate.step, []);
      gatesOf.get(gate.step)!.push(gate);
    }
    for (const [name, source] of Object.entries(gate.inputs)) {
      checkSource(source, ["gates", g, "inputs", name], undefined);
    }
    checkRunner(gate.runner, { role: "gate", id: gate.id, outputs: {} }, ["gates", g]);
  });

  issues.push(...checkDerivedNames(workflow));
  const upstreamLists = upstream.map((s) => [...s].sort((a, b) => a - b));
  for (const cycle of findCycles(upstreamLists)) {
    const names = cycle.map((i) => workflow.steps[i].id);
    issues.push({
      code: "cycle",
      path: ["steps", cycle[0], "needs"],
      message: `steps form a cycle: ${[...names, names[0]].join(" → ")}`,
    });
  }
  issues.push(...checkRoutes(workflow, indexOf, upstreamLists));
  if (issues.length > 0) return failure(issues);

  const downstream: number[][] = workflow.steps.map(() => []);
  upstreamLists.forEach((ups, i) => ups.forEach((u) => downstream[u].push(i)));
  return success({
    workflow,
    steps: workflow.steps,
    indexOf,
    upstream: upstreamLists,
    downstream,
    gatesOf,
    kinds,
  });
}

/**
 * Finds the cycles of a dependency graph: one per strongly connected
 * component with more than one member, as a path where each node needs the
 * next and the last needs the first.
 * Iterative (Tarjan), so deep chains do not overflow the stack.
 *
 * @param upstream For each node, the nodes it depends on.
 * @returns Each cycle's members.
 */
export function findCycles(upstream: readonly (readonly number[])[]): number[][] {
  const n = upstream.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const cycles: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [v, next] = frame;
      if (next < upstream[v].length) {
        frame[1]++;
        const w = upstream[v][next];
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === index[v]) {
        const members: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          members.push(w);
        } while (w !== v);
        if (members.length > 1) cycles.push(cyclePath(upstream, new Set(members)));
      }
    }
  }
  return cycles.sort((a, b) => a[0] - b[0]);
}

/** A shortest cycle through the lowest member of a strongly connected set. */
function cyclePath(upstream: readonly (readonly number[])[], members: Set<number>): number[] {
  const start = Math.min(...members);
  const parent = new Map<number, number>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head];
    for (const w of upstream[v]) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(parent.get(path[0])!);
        return path;
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...members].sort((a, b) => a - b);
}
