/**
 * The kernel's services: the layers wired together (contracts validation,
 * executors, gates, the run loop) behind the calls the CLI and library
 * users make — start, resume, cancel, approve and inspect a workflow run.
 *
 * @module
 */

import type { Clock } from "../core/clock.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import type { Producer } from "../store/artifact_store.ts";
import type { StepFunction } from "../graph/workflow.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import { readWorkflowFile } from "../graph/workflow_loader.ts";
import { defaultExecutors, type ExecutorRegistry } from "../runtime/executors/executor_registry.ts";
import type { LlmProvider } from "../runtime/executors/llm_provider.ts";
import type { RunEvent, RunState } from "../runtime/run_events.ts";
import {
  resumeRun,
  type RunInputValue,
  startRun,
  type WorkflowFileBytes,
} from "../runtime/run_starter.ts";
import { assertRunnable } from "./runnable_check.ts";
import { createGateEvaluator } from "../gates/gate_evaluator.ts";

/** Options shared by {@linkcode runWorkflow} and {@linkcode resumeWorkflow}. */
export interface WorkflowRunOptions {
  /**
   * How many steps run at once.
   * @default {navigator.hardwareConcurrency}
   */
  readonly jobs?: number;
  /** Functions for `fn` steps that name one (workflow files). */
  readonly functions?: Readonly<Record<string, StepFunction>>;
  /** The provider `llm` steps ask; without one, `llm` steps fail saying so. */
  readonly llm?: LlmProvider;
  /** More executors by kind (from packs), beside the built-in ones. */
  readonly executors?: ExecutorRegistry;
  /**
   * The kernel's environment, from which steps get their subset.
   * @default {Deno.env.toObject()}
   */
  readonly kernelEnv?: Readonly<Record<string, string>>;
  /** Cancels the run when aborted. */
  readonly signal?: AbortSignal;
  /** Told about every event once it is durable. */
  readonly onEvent?: (event: RunEvent, state: RunState) => void;
  /** Told the run id once the run is journaled as started (so it can be resumed). */
  readonly onCreated?: (runId: string) => void;
  /**
   * The clock: wall time stamps events, its monotonic reading times attempts and gates.
   * @default {systemClock}
   */
  readonly clock?: Clock;
}

/** Options of {@linkcode runWorkflow}. */
export interface RunWorkflowOptions extends WorkflowRunOptions {
  /** Run inputs by name. */
  readonly inputs?: Readonly<Record<string, RunInputValue>>;
  /** The file the graph was parsed from, as read once (its bytes are stored with the run). */
  readonly workflowFile?: WorkflowFileBytes;
  /**
   * Who starts the run (recorded on the stored workflow and inputs).
   * @default {{ id: "human", kind: "human" }}
   */
  readonly producer?: Producer;
}

function loopOptions(store: ContractStore, options: WorkflowRunOptions) {
  const executors: ExecutorRegistry = {
    ...defaultExecutors({ functions: options.functions, llmProvider: options.llm }),
    ...options.executors,
  };
  return {
    executors,
    gates: createGateEvaluator(store, {
      executors,
      kernelEnv: options.kernelEnv,
      clock: options.clock,
    }),
    jobs: options.jobs,
    kernelEnv: options.kernelEnv,
    validate: (type: string, value: unknown) =>
      store.registry.has(type) ? store.registry.validate(type, value).issues : [],
    signal: options.signal,
    onEvent: options.onEvent,
    clock: options.clock,
  };
}

/**
 * Starts a run of a workflow and drives it until it succeeds, fails, is
 * cancelled or waits for a person. Nothing is created when the workflow
 * needs what it is not given (an LLM provider, a function) or an input is
 * wrong.
 *
 * @param store A store with schema validation.
 * @param graph The workflow (from `readWorkflowFile` or `defineWorkflow`).
 * @param options Inputs, jobs, functions, provider and callbacks.
 * @returns The run id and its state when the runner stopped.
 */
export async function runWorkflow(
  store: ContractStore,
  graph: WorkflowGraph,
  options: RunWorkflowOptions = {},
): Promise<{ runId: string; state: RunState }> {
  assertRunnable(graph, options);
  return await startRun(store, graph, {
    ...loopOptions(store, options),
    inputs: options.inputs,
    workflowFile: options.workflowFile,
    producer: options.producer,
    onCreated: options.onCreated,
  });
}

/**
 * Reads a workflow file once and runs it; the bytes read are the ones stored.
 *
 * @param store A store with schema validation.
 * @param path The YAML or JSON workflow file.
 * @param options Inputs, jobs, functions, provider and callbacks.
 * @returns The run id and its state when the runner stopped.
 */
export async function runWorkflowFile(
  store: ContractStore,
  path: string,
  options: Omit<RunWorkflowOptions, "workflowFile"> = {},
): Promise<{ runId: string; state: RunState }> {
  const { graph, name, bytes } = await readWorkflowFile(path);
  return await runWorkflow(store, graph, { ...options, workflowFile: { name, bytes } });
}

/**
 * Resumes a run from its journal, with the workflow stored in the run.
 *
 * @param store A store with schema validation.
 * @param runId The run.
 * @param options Jobs, functions, provider, callbacks; for runs started with
 * the TS API, `workflow` must be the same workflow again.
 * @returns The run state when the runner stopped.
 */
export async function resumeWorkflow(
  store: ContractStore,
  runId: string,
  options: WorkflowRunOptions & { readonly workflow?: WorkflowGraph } = {},
): Promise<RunState> {
  return await resumeRun(store, runId, {
    ...loopOptions(store, options),
    workflow: options.workflow,
  });
}
