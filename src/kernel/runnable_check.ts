/**
 * What a workflow needs from the kernel beyond its own file — an LLM
 * provider for `llm` steps, registered functions for `fn` steps and gates
 * that name one — checked before a run is created, so a run is never left
 * behind that could only fail.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { StepFunction } from "../graph/workflow.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { ExecutorRegistry } from "../runtime/executors/executor_registry.ts";
import type { LlmProvider } from "../runtime/executors/llm_provider.ts";

/** What the kernel will run a workflow with. */
export interface RunnableOptions {
  /** The provider `llm` steps ask. */
  readonly llm?: LlmProvider;
  /** Functions for `fn` steps and gates that name one. */
  readonly functions?: Readonly<Record<string, StepFunction>>;
  /** Executors by kind that replace the built-in ones (then their needs are theirs). */
  readonly executors?: ExecutorRegistry;
}

/**
 * Lists what a workflow needs and is not given: each `llm` step when there
 * is no provider, each `fn` step or gate whose function is neither carried
 * nor registered. Kinds whose executor is replaced are not checked.
 *
 * @param graph The workflow.
 * @param options The provider, functions and executors it will run with.
 * @returns One sentence per problem; empty when it can run.
 */
export function missingForRun(graph: WorkflowGraph, options: RunnableOptions): string[] {
  const own = (kind: string) =>
    options.executors !== undefined && Object.hasOwn(options.executors, kind);
  const problems: string[] = [];
  const llmSteps = graph.steps.filter((s) => s.executor.kind === "llm").map((s) => s.id);
  if (llmSteps.length > 0 && options.llm === undefined && !own("llm")) {
    problems.push(
      `${llmSteps.length === 1 ? "Step" : "Steps"} ${llmSteps.join(", ")} ` +
        `${llmSteps.length === 1 ? "is an llm step" : "are llm steps"}, and no LLM provider is ` +
        "configured: set LILY_LLM=fake for the deterministic fake (CLI), or pass llm (library)",
    );
  }
  if (!own("fn")) {
    const runners = [
      ...graph.steps.map((s) => ({ what: `Step ${s.id}`, spec: s.executor })),
      ...graph.workflow.gates.map((g) => ({ what: `Gate ${g.id}`, spec: g.runner })),
    ];
    for (const { what, spec } of runners) {
      if (spec.kind !== "fn" || spec.fn !== undefined) continue;
      if (options.functions !== undefined && Object.hasOwn(options.functions, spec.name)) continue;
      problems.push(
        `${what} calls the function "${spec.name}", which is not registered: pass it in ` +
          "functions (library); the CLI registers no functions, so a workflow run from it " +
          "cannot use fn",
      );
    }
  }
  return problems;
}

/**
 * Throws when a workflow cannot run with these options (see {@linkcode missingForRun}).
 *
 * @param graph The workflow.
 * @param options The provider, functions and executors it will run with.
 * @throws {UsageError} Naming every step or gate that could not run.
 */
export function assertRunnable(graph: WorkflowGraph, options: RunnableOptions): void {
  const problems = missingForRun(graph, options);
  if (problems.length > 0) throw new UsageError(problems.join("; "));
}
