/**
 * Starting and resuming runs of a workflow: checks the inputs before
 * anything is created, stores the workflow and the inputs in the new run,
 * journals `run_started`, announces the run (`onCreated`) only once that
 * event is durable, and hands over to the run loop.
 *
 * @module
 */

import { basename, extname, isAbsolute, relative, resolve } from "node:path";
import { canonicalHash } from "../core/canonical_json.ts";
import {
  causeMessage,
  ConflictError,
  IntegrityError,
  NotFoundError,
  UsageError,
  ValidationError,
} from "../core/errors.ts";
import { assertUuid } from "../core/ids.ts";
import type { ArtifactRef } from "../store/artifact_ref.ts";
import type { Producer } from "../store/artifact_store.ts";
import { checkFileName } from "../store/safe_path.ts";
import { isDescriptorPath, isJsonObject, readUserFile, userFileName } from "../store/user_file.ts";
import { WORK_ORDER_TYPE } from "../store/run_store.ts";
import type { Store } from "../store/store.ts";
import type { Workflow } from "../graph/workflow.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import { parseWorkflow, type WorkflowLoadOptions } from "../graph/workflow_loader.ts";
import { foldEvents, type RunState } from "./run_events.ts";
import { executeRun, type ExecuteRunOptions } from "./run_loop.ts";
import { repairRunFiles } from "./run_state_file.ts";
import { crashPoint } from "../core/crash_point.ts";
import {
  assertJournalArtifactsIndexed,
  checkRunJournal,
  INTERRUPTED_START_REASON,
  interruptedStartMessage,
  lostJournalError,
} from "./run_journal_check.ts";

/** The artifact type of a stored workflow file. */
export const WORKFLOW_FILE_TYPE = "workflow.v1";

/** The artifact type of a workflow defined with the TS API (its JSON description). */
export const WORKFLOW_DEFINITION_TYPE = "workflow_definition.v1";

/** A workflow file's bytes exactly as parsed, and the name to store them under. */
export interface WorkflowFileBytes {
  /** A file name ending in `.json`, `.yaml` or `.yml` (it picks the parser on resume). */
  readonly name: string;
  /** The bytes. */
  readonly bytes: Uint8Array;
  /**
   * Where the file was read from, when from a file: inside the workspace it
   * stays read-only for every step and gate of the run.
   */
  readonly path?: string;
}

/**
 * A run input: a file to store, an artifact that exists already, a JSON
 * value already read (stored as a JSON artifact), or bytes already read
 * (from a pipe; stored as a file named `fileName`, and read as JSON when
 * that name ends in `.json`, as a file's would be).
 */
export type RunInputValue =
  | { readonly path: string }
  | { readonly artifactId: string }
  | { readonly json: unknown }
  | { readonly bytes: Uint8Array; readonly fileName: string };

/** Options of {@linkcode startRun}. */
export interface StartRunOptions extends ExecuteRunOptions {
  /** Run inputs by name. */
  readonly inputs?: Readonly<Record<string, RunInputValue>>;
  /**
   * The workflow file the graph was parsed from, as read once (see
   * `readWorkflowFile`); its bytes are stored in the run for resume and audit.
   */
  readonly workflowFile?: WorkflowFileBytes;
  /**
   * Who starts the run (recorded on the stored workflow and inputs).
   * @default {{ id: "human", kind: "human" }}
   */
  readonly producer?: Producer;
  /**
   * `false` runs every step and gate unconfined (`--no-sandbox`), recorded
   * in `run_started` so a resume keeps it.
   * @default {true}
   */
  readonly sandbox?: boolean;
  /**
   * Takes and stores the run's environment snapshot, under the run's lease
   * before its first attempt; returns the artifact id, journaled on `run_started`.
   */
  readonly environment?: (runId: string) => Promise<string>;
  /**
   * `true` skips every step cache lookup (`lily run start --no-cache`),
   * recorded in `run_started` so a resume skips them too; results still
   * enter the cache.
   */
  readonly noCache?: boolean;
  /** The run this one re-applies (`lily run replay --reapply`), recorded in its manifest. */
  readonly reapplyOf?: string;
}

/**
 * A JSON description of a workflow (functions left out: an `fn` spec keeps
 * its name), for hashing and storing.
 *
 * @param workflow The workflow.
 * @returns Plain JSON.
 */
export function describeWorkflow(workflow: Workflow): unknown {
  return JSON.parse(JSON.stringify(workflow));
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

/** A run input checked (and, for JSON, read and validated) before the run exists. */
export type PreparedInput =
  | { readonly kind: "artifact"; readonly artifactId: string }
  | { readonly kind: "json"; readonly value: unknown }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "bytes"; readonly bytes: Uint8Array; readonly fileName: string };

/** Options of {@linkcode prepareRunInputs}. */
export interface PrepareRunInputsOptions {
  /**
   * Looks up an existing artifact for `@ID` inputs; throws when there is
   * none. Without it, `@ID` inputs are rejected as unknown.
   */
  readonly ref?: (artifactId: string) => Promise<ArtifactRef>;
  /** Checks a JSON input against its declared type; empty when valid. */
  readonly validate?: ExecuteRunOptions["validate"];
}

/**
 * Checks run inputs against the workflow's declarations without storing
 * anything: every name is declared, every required input is given, `@ID`
 * artifacts exist with the declared type, files are regular files with a
 * storable name, and `.json` files are read once, parsed and validated (the
 * value read is the value later stored). A pipe, FIFO or device (`/dev/stdin`,
 * a shell's `<(…)`) is read once: a JSON object or array read from it is a
 * JSON input; anything else is stored as a file named after the input.
 *
 * @param graph The workflow graph.
 * @param inputs Run inputs by name.
 * @param options The artifact lookup and the JSON validator.
 * @returns The inputs ready to store, by name.
 * @throws {UsageError} For unknown, missing or unreadable inputs.
 * @throws {NotFoundError} For missing files or artifacts.
 * @throws {ValidationError} When a JSON input does not match its type.
 */
export async function prepareRunInputs(
  graph: WorkflowGraph,
  inputs: Readonly<Record<string, RunInputValue>>,
  options: PrepareRunInputsOptions = {},
): Promise<Record<string, PreparedInput>> {
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
  const prepared: Record<string, PreparedInput> = {};
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
      const id = assertUuid(value.artifactId, `artifact id of input ${name}`);
      if (options.ref === undefined) {
        throw new NotFoundError(`Run input "${name}": artifact ${id} does not exist (no store)`);
      }
      const ref = await options.ref(id);
      if (ref.artifact_type !== spec.type) {
        throw new UsageError(
          `Run input "${name}" expects type ${spec.type}, but artifact ${ref.artifact_id} is ${ref.artifact_type}`,
        );
      }
      prepared[name] = { kind: "artifact", artifactId: ref.artifact_id };
    } else if ("json" in value) {
      checkJson(name, "the value", spec.type, value.json, options.validate);
      prepared[name] = { kind: "json", value: value.json };
    } else if ("bytes" in value) {
      prepared[name] = prepareBytes(name, spec.type, value, { validate: options.validate });
    } else prepared[name] = await prepareFile(name, spec.type, value.path, options.validate);
  }
  return prepared;
}

async function prepareFile(
  name: string,
  type: string,
  path: string,
  validate: ExecuteRunOptions["validate"],
): Promise<PreparedInput> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw new NotFoundError(`Run input "${name}": file ${path} does not exist`, { cause: err });
  }
  if (info.isDirectory) {
    throw new UsageError(`Run input "${name}": ${path} is a directory; expected a file or a pipe`);
  }
  if (!info.isFile || isDescriptorPath(path)) {
    // A pipe can be read once: what is checked is what is stored.
    const bytes = await readUserFile(path, `Run input "${name}"`);
    const fileName = userFileName(path, isJsonObject(bytes) ? `${name}.json` : name);
    return prepareBytes(name, type, { bytes, fileName }, { validate, where: path });
  }
  checkFileName(basename(path), `file name of run input "${name}"`);
  if (extname(path) !== ".json") return { kind: "file", path };
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new UsageError(
      `Run input "${name}": ${path} is not valid JSON: ${causeMessage(err)}`,
    );
  }
  checkJson(name, path, type, parsed, validate);
  return { kind: "json", value: parsed };
}

function prepareBytes(
  name: string,
  type: string,
  value: { readonly bytes: Uint8Array; readonly fileName: string },
  { validate, where = value.fileName }: {
    validate: ExecuteRunOptions["validate"];
    where?: string;
  },
): PreparedInput {
  const fileName = checkFileName(value.fileName, `file name of run input "${name}"`);
  if (extname(fileName) !== ".json") return { kind: "bytes", bytes: value.bytes, fileName };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(value.bytes));
  } catch (err) {
    throw new UsageError(`Run input "${name}": ${where} is not valid JSON: ${causeMessage(err)}`);
  }
  checkJson(name, where, type, parsed, validate);
  return { kind: "json", value: parsed };
}

function checkJson(
  name: string,
  where: string,
  type: string,
  value: unknown,
  validate: ExecuteRunOptions["validate"],
): void {
  const issues = validate?.(type, value) ?? [];
  if (issues.length > 0) {
    throw new ValidationError(
      `Run input "${name}": ${where} does not match schema ${type}: ` +
        issues.map((i) => `${i.path}: ${i.message}`).join("; "),
      { issues },
    );
  }
}

/**
 * Turns prepared inputs back into run input values that need no second
 * read: JSON files become their values.
 *
 * @param prepared Inputs from {@linkcode prepareRunInputs}.
 * @returns Run input values by name.
 */
export function preparedInputValues(
  prepared: Readonly<Record<string, PreparedInput>>,
): Record<string, RunInputValue> {
  return Object.fromEntries(
    Object.entries(prepared).map(([name, input]) => [
      name,
      input.kind === "artifact"
        ? { artifactId: input.artifactId }
        : input.kind === "json"
        ? { json: input.value }
        : input.kind === "bytes"
        ? { bytes: input.bytes, fileName: input.fileName }
        : { path: input.path },
    ]),
  );
}

/**
 * Creates a run of a workflow and executes it. Inputs are checked before
 * anything is created; JSON input files are stored (and validated) as JSON
 * artifacts, other files as file artifacts. The workflow file's bytes are
 * stored exactly as they were parsed.
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
  const inputs = await prepareRunInputs(graph, options.inputs ?? {}, {
    ref: (id) => store.artifacts.ref(id),
    validate: options.validate,
  });
  const producer = options.producer ?? { id: "human", kind: "human" };
  const { manifest } = await store.runs.create();
  const runId = manifest.run_id;
  // Stored under the run's lease (taken by the run loop before `start` is
  // called): a crash leaves a run that `lily verify` reports as interrupted
  // while starting, and a clean-up never marks a start still in progress.
  const start = async () => {
    const workflowRef = options.workflowFile !== undefined
      ? await store.artifacts.putBytes(runId, options.workflowFile.bytes, {
        type: WORKFLOW_FILE_TYPE,
        name: graph.workflow.name,
        fileName: options.workflowFile.name,
        producer,
      })
      : await store.artifacts.putJson(runId, describeWorkflow(graph.workflow), {
        type: WORKFLOW_DEFINITION_TYPE,
        name: graph.workflow.name,
        producer,
      });
    const inputIds: Record<string, string> = {};
    for (const [name, input] of Object.entries(inputs)) {
      if (input.kind === "artifact") {
        inputIds[name] = input.artifactId;
        continue;
      }
      const meta = { type: graph.workflow.inputs[name].type, name, producer };
      const ref = input.kind === "json"
        ? await store.artifacts.putJson(runId, input.value, meta)
        : input.kind === "bytes"
        ? await store.artifacts.putBytes(runId, input.bytes, { ...meta, fileName: input.fileName })
        : await store.artifacts.putFile(runId, input.path, meta);
      inputIds[name] = ref.artifact_id;
    }
    const inputRefs = await Promise.all(
      Object.values(inputIds).map((id) => store.artifacts.ref(id)),
    );
    const workOrder = inputRefs.find((ref) => ref.artifact_type === WORK_ORDER_TYPE);
    if (workOrder) await store.runs.update(runId, () => ({ work_order_ref: workOrder }));
    const environment = await options.environment?.(runId);
    if (options.reapplyOf) {
      await store.runs.update(runId, () => ({ reapply_of: options.reapplyOf }));
    }
    crashPoint("run_created");
    const workflowPath = workspacePath(store.workspace, options.workflowFile?.path);
    return {
      type: "run_started" as const,
      workflow_name: graph.workflow.name,
      workflow_ref: workflowRef.artifact_id,
      workflow_sha256: workflowHash(graph.workflow),
      inputs: inputIds,
      step_ids: graph.steps.map((s) => s.id),
      ...(options.sandbox === false ? { sandbox: "none" as const } : {}),
      ...(workflowPath ? { workflow_path: workflowPath } : {}),
      durability: options.durability ?? "fsync",
      ...(environment ? { environment_snapshot: environment } : {}),
      ...(options.noCache ? { no_cache: true } : {}),
    };
  };
  return { runId, state: await executeRun(store, graph, runId, { ...options, start }) };
}

/** A path relative to the workspace when it lies inside it. */
function workspacePath(workspace: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const rel = relative(workspace, resolve(path));
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? undefined : rel;
}

/**
 * Reads a run's state from its journal, without taking the lease. When no
 * runner is live and the run has stopped, `run_state.json` and the
 * manifest's status are re-derived from the journal if a runner died before
 * writing them.
 *
 * @param store The open store.
 * @param runId The run.
 * @returns The state (empty for a run that never started a workflow).
 * @throws {IntegrityError} When the journal is damaged, or missing although
 * the run's other files show it started (the message names the file), or it
 * names artifacts the index lacks (the index was lost).
 */
export async function readRunState(store: Store, runId: string): Promise<RunState> {
  const { events, verdict } = await checkRunJournal(store, runId);
  if (verdict.kind === "lost") throw lostJournalError(store, runId, verdict.evidence);
  await assertJournalArtifactsIndexed(store, runId, events);
  const state = foldEvents(runId, events);
  await repairRunFiles(store, state);
  return state;
}

/**
 * Why a run made by `lily run new` cannot be resumed, rerun or followed.
 *
 * @param runId The run.
 * @returns The message.
 */
function notFromWorkflow(runId: string): string {
  return `Run ${runId} was not started from a workflow (lily run new made it): it has no steps ` +
    `or gates to run, and no runner`;
}

/**
 * Loads the workflow a run was started with, from the run's own stored copy
 * (never from the user's possibly edited file), and checks its hash.
 *
 * @param store The open store.
 * @param runId The run.
 * @param definition For runs started with the TS API: the same workflow again.
 * @param load What a stored workflow file is read with (executor kinds, templates).
 * @returns The graph.
 * @throws {UsageError} When the run has no workflow, or a TS API workflow is
 * needed and not given.
 * @throws {ConflictError} When the run was interrupted while starting (nothing ran).
 * @throws {IntegrityError} When the given or stored workflow does not match the run's hash.
 */
export async function loadRunWorkflow(
  store: Store,
  runId: string,
  definition?: WorkflowGraph,
  load: WorkflowLoadOptions = {},
): Promise<WorkflowGraph> {
  const state = await readRunState(store, runId);
  if (state.workflow_ref === null && state.reason === INTERRUPTED_START_REASON) {
    throw new ConflictError(`Run ${runId} was marked failed: it was ${INTERRUPTED_START_REASON}`);
  }
  if (state.workflow_ref === null) {
    if ((await checkRunJournal(store, runId)).verdict.kind === "interrupted_start") {
      throw new ConflictError(interruptedStartMessage(runId));
    }
    throw new UsageError(notFromWorkflow(runId));
  }
  const ref = await store.artifacts.ref(state.workflow_ref);
  let graph = definition;
  if (graph === undefined) {
    if (ref.artifact_type !== WORKFLOW_FILE_TYPE) {
      throw new UsageError(
        `Run ${runId} was started from the TS API; resume it from the library with the same workflow`,
      );
    }
    const { bytes } = await store.artifacts.readBytes(ref);
    graph = parseWorkflow(new TextDecoder().decode(bytes), basename(ref.rel_path), load);
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
  options: ExecuteRunOptions & {
    readonly workflow?: WorkflowGraph;
    /** What the stored workflow file is read with (the packs' kinds and templates). */
    readonly load?: WorkflowLoadOptions;
  },
): Promise<RunState> {
  const graph = await loadRunWorkflow(store, runId, options.workflow, options.load);
  return await executeRun(store, graph, runId, options);
}
