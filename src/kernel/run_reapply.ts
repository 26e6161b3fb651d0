/**
 * `runs.reapply` (`lily run replay <run_id> --reapply`): runs every step of
 * a run that ended again, in a new run started from the original's stored
 * workflow and the same run-input artifacts (the manifest's `reapply_of`
 * names the original; the step cache is bypassed, as with `--no-cache`),
 * then compares each step's output hashes with the
 * original's (`observe/output_drift.ts`). The original is not touched.
 *
 * @module
 */

import { ConflictError } from "../core/errors.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { WorkflowLoadOptions } from "../graph/workflow_loader.ts";
import { outputDrifts, type StepDrift } from "../observe/output_drift.ts";
import type { RunState } from "../runtime/run_events.ts";
import type { ExecuteRunOptions } from "../runtime/run_loop.ts";
import {
  loadRunWorkflow,
  readRunState,
  type RunInputValue,
  startRun,
  WORKFLOW_FILE_TYPE,
  type WorkflowFileBytes,
} from "../runtime/run_starter.ts";
import type { Producer } from "../store/artifact_store.ts";
import { readRunFacts } from "./run_facts_reader.ts";

/** What a re-application did and found. */
export interface Reapplication {
  /** The original run. */
  readonly original: string;
  /** The new run. */
  readonly run_id: string;
  /** How the new run ended. */
  readonly status: RunState["status"];
  /** Per step, how its outputs drifted from the original's. */
  readonly drift: readonly StepDrift[];
  /** Whether any step's outputs drifted (anything but `same`). */
  readonly drifted: boolean;
  /** The new run's state. */
  readonly state: RunState;
}

/** Options of {@linkcode reapplyRun}. */
export interface ReapplyRunOptions {
  /** How the run loop runs the steps (executors, gates, jobs, callbacks). */
  readonly loop: ExecuteRunOptions;
  /** Who starts the new run. */
  readonly producer: Producer;
  /** For runs started from a graph (TS API): the same workflow again (its hash is checked). */
  readonly workflow?: WorkflowGraph;
  /** What the run's stored workflow file is read with (the packs' kinds, templates, default policy). */
  readonly load?: WorkflowLoadOptions;
}

/**
 * Re-applies a run: a new run of the same workflow on the same inputs.
 *
 * @param store The open store.
 * @param runId The original run; it must have ended.
 * @param options The run loop's options, the producer, the graph of a TS API run.
 * @returns The new run and its drift.
 * @throws {ConflictError} When the original has not ended.
 * @throws {UsageError} When it was not started from a workflow, or a TS API graph is needed.
 * @throws {IntegrityError} When its stored workflow does not match its hash.
 */
export async function reapplyRun(
  store: ContractStore,
  runId: string,
  options: ReapplyRunOptions,
): Promise<Reapplication> {
  const original = await readRunState(store, runId);
  const graph = await loadRunWorkflow(store, runId, options.workflow, options.load);
  if (
    original.status !== "succeeded" && original.status !== "failed" &&
    original.status !== "cancelled"
  ) {
    throw new ConflictError(
      `Run ${runId} has not ended (${original.status}); re-apply a run that succeeded, ` +
        "failed or was cancelled",
    );
  }
  const ref = await store.artifacts.ref(original.workflow_ref!);
  let workflowFile: WorkflowFileBytes | undefined;
  if (ref.artifact_type === WORKFLOW_FILE_TYPE) {
    const { bytes } = await store.artifacts.readBytes(ref);
    const name = ref.rel_path.split("/").at(-1) ?? "workflow.yaml";
    const path = original.workflow_path === null
      ? undefined
      : `${store.workspace}/${original.workflow_path}`;
    workflowFile = { name, bytes, ...(path === undefined ? {} : { path }) };
  }
  const inputs: Record<string, RunInputValue> = Object.fromEntries(
    Object.entries(original.inputs).map(([name, id]) => [name, { artifactId: id }]),
  );
  const started = await startRun(store, graph, {
    ...options.loop,
    inputs,
    workflowFile,
    producer: options.producer,
    sandbox: original.sandbox !== "none",
    reapplyOf: runId,
    // Every step runs again: a cache hit would reuse the very outputs being compared.
    noCache: true,
  });
  const drift = outputDrifts(
    await readRunFacts(store, runId),
    await readRunFacts(store, started.runId),
  );
  return {
    original: runId,
    run_id: started.runId,
    status: started.state.status,
    drift,
    drifted: drift.some((d) => d.drift !== "same"),
    state: started.state,
  };
}
