/**
 * Starting and resuming runs of a workflow: checks the inputs before
 * anything is created, stores the workflow and the inputs in the new run,
 * journals `run_started`, and hands over to the run loop.
 *
 * @module
 */

import { basename, extname } from "node:path";
import { canonicalHash } from "../core/canonical_json.ts";
import {
  causeMessage,
  IntegrityError,
  NotFoundError,
  UsageError,
  ValidationError,
} from "../core/errors.ts";
import { assertUuid } from "../core/ids.ts";
import type { Producer } from "../store/artifact_store.ts";
import { checkFileName } from "../store/safe_path.ts";
import { WORK_ORDER_TYPE } from "../store/run_store.ts";
import type { Store } from "../store/store.ts";
import type { Workflow } from "../graph/workflow.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import { parseWorkflow } from "../graph/workflow_loader.ts";
import { foldEvents, type RunState } from "./run_events.ts";
import { executeRun, type ExecuteRunOptions } from "./run_executor.ts";
import { readJournal } from "./run_journal.ts";

/** The artifact type of a stored workflow file. */
export const WORKFLOW_FILE_TYPE = "workflow.v1";

/** The artifact type of a workflow defined with the TS API (its JSON description). */
export const WORKFLOW_DEFINITION_TYPE = "workflow_definition.v1";

/** A run input: a file to store, or an artifact that exists already. */
export type RunInputValue = { readonly path: string } | { readonly artifactId: string };

/** Options of {@linkcode startRun}. */
export interface StartRunOptions extends ExecuteRunOptions {
  /** Run inputs by name. */
  readonly inputs?: Readonly<Record<string, RunInputValue>>;
  /** The workflow file the graph was loaded from; stored in the run for resume and audit. */
  readonly workflowFile?: string;
  /**
   * Who starts the run (recorded on the stored workflow and inputs).
   * @default {{ id: "human", kind: "human" }}
   */
  readonly producer?: Producer;
  /** Told the run id as soon as the run exists, before any step starts. */
  readonly onCreated?: (runId: string) => void;
}

/**
 * A JSON description of a workflow (functions replaced by their names),
 * for hashing and storing.
 *
 * @param workflow The workflow.
 * @returns Plain JSON.
 */
export function describeWorkflow(workflow: Workflow): unknown {
  return JSON.parse(JSON.stringify(workflow, (key, value) => key === "fn" ? undefined : value));
}

/**
 * The hash that identifies a workflow's definition.
 *
 * @param workflow The workflow.
 * @returns The sha256 of its canonical JSON description.
 */
export function workflowHash(workflow: Workflow): string {
  return canonicalHash(describeWorkflow(workflow));
}

async function checkInputs(
  store: Store,
  graph: WorkflowGraph,
  inputs: Readonly<Record<string, RunInputValue>>,
  validate: ExecuteRunOptions["validate"],
): Promise<void> {
  const declared = graph.workflow.inputs;
  for (const name of Object.keys(inputs)) {
    if (!(name in declared)) {
      const known = Object.keys(declared);
      throw new UsageError(
        `Unknown run input "${name}": the workflow declares ${
          known.length ? known.map((k) => `"${k}"`).join(", ") : "no inputs"
        }`,
      );
    }
  }
  for (const [name, spec] of Object.entries(declared)) {
    const value = inputs[name];
    if (value === undefined) {
      if (spec.required) {
        throw new UsageError(
          `Missing run input "${name}" (${spec.type}): give it with --input ${name}=PATH or ` +
            `--input ${name}=@ARTIFACT_ID`,
        );
      }
      continue;
    }
    if ("artifactId" in value) {
      const ref = store.artifacts.ref(assertUuid(value.artifactId, `artifact id of input ${name}`));
      if (ref.artifact_type !== spec.type) {
        throw new UsageError(
          `Run input "${name}" expects type ${spec.type}, but artifact ${ref.artifact_id} is ${ref.artifact_type}`,
        );
      }
      continue;
    }
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(value.path);
    } catch (err) {
      throw new NotFoundError(`Run input "${name}": file ${value.path} does not exist`, {
        cause: err,
      });
    }
    if (!info.isFile) {
      throw new UsageError(`Run input "${name}": ${value.path} is not a regular file`);
    }
    checkFileName(basename(value.path), `file name of run input "${name}"`);
    if (extname(value.path) === ".json") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(await Deno.readTextFile(value.path));
      } catch (err) {
        throw new UsageError(
          `Run input "${name}": ${value.path} is not valid JSON: ${causeMessage(err)}`,
        );
      }
      const issues = validate?.(spec.type, parsed) ?? [];
      if (issues.length > 0) {
        throw new ValidationError(
          `Run input "${name}": ${value.path} does not match schema ${spec.type}: ` +
            issues.map((i) => `${i.path}: ${i.message}`).join("; "),
          { issues },
        );
      }
    }
  }
}

/**
 * Creates a run of a workflow and executes it. Inputs are checked before
 * anything is created; JSON input files are stored (and validated) as JSON
 * artifacts, other files as file artifacts.
 *
 * @param store The open store.
 * @param graph The workflow graph.
 * @param options Inputs, the workflow file, executors, gates and callbacks.
 * @returns The run id and its state when the runner stops.
 */
export async function startRun(
  store: Store,
  graph: WorkflowGraph,
  options: StartRunOptions,
): Promise<{ runId: string; state: RunState }> {
  const inputs = options.inputs ?? {};
  await checkInputs(store, graph, inputs, options.validate);
  const producer = options.producer ?? { id: "human", kind: "human" };
  const { manifest } = await store.runs.create();
  const runId = manifest.run_id;
  const workflowRef = options.workflowFile !== undefined
    ? await store.artifacts.putFile(runId, options.workflowFile, {
      type: WORKFLOW_FILE_TYPE,
      name: graph.workflow.name,
      producer,
    })
    : await store.artifacts.putJson(runId, describeWorkflow(graph.workflow), {
      type: WORKFLOW_DEFINITION_TYPE,
      name: graph.workflow.name,
      producer,
    });
  const inputIds: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs)) {
    if ("artifactId" in value) {
      inputIds[name] = value.artifactId;
      continue;
    }
    const meta = { type: graph.workflow.inputs[name].type, name, producer };
    const ref = extname(value.path) === ".json"
      ? await store.artifacts.putJson(runId, JSON.parse(await Deno.readTextFile(value.path)), meta)
      : await store.artifacts.putFile(runId, value.path, meta);
    inputIds[name] = ref.artifact_id;
  }
  const workOrder = Object.values(inputIds).map((id) => store.artifacts.ref(id)).find((ref) =>
    ref.artifact_type === WORK_ORDER_TYPE
  );
  if (workOrder) await store.runs.update(runId, () => ({ work_order_ref: workOrder }));
  options.onCreated?.(runId);
  const start = {
    type: "run_started" as const,
    workflow_name: graph.workflow.name,
    workflow_ref: workflowRef.artifact_id,
    workflow_sha256: workflowHash(graph.workflow),
    inputs: inputIds,
    step_ids: graph.steps.map((s) => s.id),
  };
  return { runId, state: await executeRun(store, graph, runId, { ...options, start }) };
}

/**
 * Reads a run's state from its journal, without taking the lease.
 *
 * @param store The open store.
 * @param runId The run.
 * @returns The state (empty for a run that never started a workflow).
 */
export async function readRunState(store: Store, runId: string): Promise<RunState> {
  const run = store.runs.paths(runId);
  await store.runs.get(runId);
  return foldEvents(runId, (await readJournal(run.events)).events);
}

/**
 * Loads the workflow a run was started with, from the run's own stored copy
 * (never from the user's possibly edited file), and checks its hash.
 *
 * @param store The open store.
 * @param runId The run.
 * @param definition For runs started with the TS API: the same workflow again.
 * @returns The graph.
 * @throws {UsageError} When the run has no workflow, or a TS API workflow is
 * needed and not given.
 * @throws {IntegrityError} When the given or stored workflow does not match the run's hash.
 */
export async function loadRunWorkflow(
  store: Store,
  runId: string,
  definition?: WorkflowGraph,
): Promise<WorkflowGraph> {
  const state = await readRunState(store, runId);
  if (state.workflow_ref === null) {
    throw new UsageError(`Run ${runId} was not started from a workflow; nothing to resume`);
  }
  const ref = store.artifacts.ref(state.workflow_ref);
  let graph = definition;
  if (graph === undefined) {
    if (ref.artifact_type !== WORKFLOW_FILE_TYPE) {
      throw new UsageError(
        `Run ${runId} was started from the TS API; resume it from the library with the same workflow`,
      );
    }
    const { bytes } = await store.artifacts.readBytes(ref);
    graph = parseWorkflow(new TextDecoder().decode(bytes), basename(ref.rel_path));
  }
  const hash = workflowHash(graph.workflow);
  if (hash !== state.workflow_sha256) {
    throw new IntegrityError(
      `The workflow given for run ${runId} differs from the one it was started with ` +
        `(sha256 ${hash}, expected ${state.workflow_sha256})`,
    );
  }
  return graph;
}

/**
 * Resumes a run: finished steps stay finished, interrupted attempts are
 * recorded and retried, failed and cancelled steps get new attempts, and
 * steps waiting on a decided gate finish.
 *
 * @param store The open store.
 * @param runId The run.
 * @param options Executors, gates, callbacks, and for TS API runs the workflow.
 * @returns The run state when the runner stops.
 */
export async function resumeRun(
  store: Store,
  runId: string,
  options: ExecuteRunOptions & { readonly workflow?: WorkflowGraph },
): Promise<RunState> {
  const graph = await loadRunWorkflow(store, runId, options.workflow);
  return await executeRun(store, graph, runId, options);
}
