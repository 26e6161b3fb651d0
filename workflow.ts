/**
 * The checked workflow model: what `defineWorkflow` and `parseWorkflow`
 * (in `@lily/cli`) return once a definition is validated and normalised —
 * the graph with its steps, gates, inputs, outputs, retries and runners —
 * for programs that inspect a workflow rather than only run it.
 *
 * @example Inspect the steps of a workflow
 * ```ts
 * import { defineWorkflow } from "@lily/cli";
 * import type { WorkflowGraph } from "@lily/cli/workflow";
 *
 * const graph: WorkflowGraph = defineWorkflow({
 *   name: "two",
 *   steps: [{ id: "a", command: ["true"] }, { id: "b", needs: ["a"], command: ["true"] }],
 * });
 * console.assert(graph.steps.map((s) => s.id).join() === "a,b");
 * console.assert(graph.upstream[1][0] === 0);
 * ```
 *
 * @module
 */

export type {
  CommandSpec,
  DenoSpec,
  ExecutorSpec,
  FnSpec,
  GateRunnerSpec,
  GateSpec,
  HumanSpec,
  InputSource,
  InputSpec,
  LlmMessage,
  LlmSpec,
  OutputKind,
  OutputSpec,
  PolicySpec,
  RetryOn,
  RetrySpec,
  RouteSpec,
  StepSpec,
  TemplateRef,
  Workflow,
} from "./src/graph/workflow.ts";
export type { WorkflowGraph } from "./src/graph/workflow_graph.ts";
