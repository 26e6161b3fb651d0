/**
 * What a workflow needs from the kernel beyond its own file — an LLM
 * provider for `llm` steps, registered functions for `fn` steps and gates
 * that name one, whatever a pack's executor needs — checked before a run is
 * created, so a run is never left behind that could only fail. Each
 * executor answers for its own kind (`Executor.unready`).
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { ExecutorSpec, StepFunction } from "../graph/workflow.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { ExecutorUse } from "../runtime/executors/executor.ts";
import { defaultExecutors, type ExecutorRegistry } from "../runtime/executors/executor_registry.ts";
import type { LlmProvider } from "../runtime/executors/llm_provider.ts";

/** What the kernel will run a workflow with. */
export interface RunnableOptions {
  /** The provider `llm` steps ask. */
  readonly llm?: LlmProvider;
  /** Functions for `fn` steps and gates that name one. */
  readonly functions?: Readonly<Record<string, StepFunction>>;
  /** Executors by kind beside (or replacing) the built-in ones. */
  readonly executors?: ExecutorRegistry;
}

/**
 * The executors a run uses: the built-in ones, given the provider and the
 * functions, with `options.executors` added over them.
 *
 * @param options The provider, functions and extra executors.
 * @returns Executors by kind.
 */
export function runExecutors(options: RunnableOptions): ExecutorRegistry {
  return {
    ...defaultExecutors({ functions: options.functions, llmProvider: options.llm }),
    ...options.executors,
  };
}

/**
 * Lists what a workflow needs and is not given, as the executors that will
 * run it say (e.g. each `llm` step when there is no provider, each `fn` step
 * or gate whose function is neither carried nor registered).
 *
 * @param graph The workflow.
 * @param options The provider, functions and executors it will run with.
 * @returns One sentence per problem; empty when it can run.
 */
export function missingForRun(graph: WorkflowGraph, options: RunnableOptions): string[] {
  const executors = runExecutors(options);
  const uses = new Map<string, ExecutorUse<ExecutorSpec>[]>();
  const add = (use: ExecutorUse<ExecutorSpec>) => {
    const list = uses.get(use.spec.kind) ?? [];
    list.push(use);
    uses.set(use.spec.kind, list);
  };
  for (const s of graph.steps) {
    add({ what: `Step ${s.id}`, role: "step", id: s.id, spec: s.executor });
  }
  for (const g of graph.workflow.gates) {
    add({ what: `Gate ${g.id}`, role: "gate", id: g.id, spec: g.runner });
  }
  const problems: string[] = [];
  for (const [kind, list] of uses) {
    const executor = Object.hasOwn(executors, kind) ? executors[kind] : undefined;
    problems.push(...executor?.unready?.(list) ?? []);
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
