/**
 * Replay operations that change a run's course: `runs.rerunFrom` (run a
 * step and everything downstream of it again) and `runs.replaceArtifact`
 * (put another artifact in an artifact's place, and optionally run what
 * reads it again). Each checks everything before it stores anything,
 * journals the decider's event under the run's lease, and never deletes an
 * artifact or an event. A crash at any point leaves a run that
 * `lily run resume` continues.
 *
 * @module
 */

import type { Clock } from "../core/clock.ts";
import { crashPoint } from "../core/crash_point.ts";
import { causeMessage, ConflictError, UsageError, ValidationError } from "../core/errors.ts";
import { issuesOf } from "../core/issue.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { WorkflowLoadOptions } from "../graph/workflow_loader.ts";
import {
  decideReplace,
  decideRerun,
  type ReplaceDecision,
  type ReplayRefusal,
} from "../runtime/replay_decider.ts";
import type { RunEventBody, RunState } from "../runtime/run_events.ts";
import { executeRun, type ExecuteRunOptions } from "../runtime/run_loop.ts";
import { foldEvents } from "../runtime/run_events.ts";
import { runRedactor } from "../runtime/run_secrets.ts";
import { withRunSession } from "../runtime/run_session.ts";
import { loadRunWorkflow, readRunState } from "../runtime/run_starter.ts";
import { exportRunState } from "../runtime/run_state_file.ts";
import { readUserFile } from "../store/user_file.ts";
import type { ArtifactRef } from "../store/artifact_ref.ts";

/** The artifact type of replacement records. */
export const ARTIFACT_REPLACEMENT_TYPE = "artifact_replacement.v1";

/** The refusal as the error it is: a usage error or a conflict. */
function refusalError(refusal: ReplayRefusal): Error {
  return refusal.code === "usage"
    ? new UsageError(refusal.message)
    : new ConflictError(refusal.message);
}

/**
 * Checks a request against the run as it is now, before anything is held:
 * a live runner is left to the lease, which names it.
 */
async function precheck<T>(
  store: ContractStore,
  runId: string,
  decide: (state: RunState) => ReplayRefusal | T,
): Promise<T | null> {
  if (await store.leases.isLive(runId)) return null;
  const verdict = decide(await readRunState(store, runId));
  if ((verdict as ReplayRefusal).kind === "refuse") throw refusalError(verdict as ReplayRefusal);
  return verdict as T;
}

/** Options of {@linkcode rerunFrom}. */
export interface RerunFromOptions {
  /** How the run loop runs the reset steps (executors, gates, jobs, callbacks). */
  readonly loop: ExecuteRunOptions;
  /** Who asks (recorded in `rerun_requested`). */
  readonly by: string;
  /** For runs started from a graph: the same workflow again. */
  readonly workflow?: WorkflowGraph;
  /** What the run's stored workflow file is read with (the packs' kinds and templates). */
  readonly load?: WorkflowLoadOptions;
}

/**
 * Reruns a run from a step: journals `rerun_requested` (that step and
 * everything downstream reset) under the run's lease, then drives the run
 * in the same session until it ends again. Upstream steps are not run;
 * their outputs are reused.
 *
 * @param store The open store.
 * @param runId The run; it must have ended (succeeded, failed or cancelled).
 * @param from The step to rerun from.
 * @param options The run loop's options, who asks, and the workflow of a TS API run.
 * @returns The run's state when the runner stops.
 * @throws {UsageError} When the workflow has no such step.
 * @throws {ConflictError} When a live runner holds the run, or the run has
 * not ended (it waits for a person, or its runner stopped mid-way).
 */
export async function rerunFrom(
  store: ContractStore,
  runId: string,
  from: string,
  options: RerunFromOptions,
): Promise<RunState> {
  const graph = await loadRunWorkflow(store, runId, options.workflow, options.load);
  const decide = (state: RunState) => decideRerun(graph, state, { from, by: options.by });
  await precheck(store, runId, decide);
  return await executeRun(store, graph, runId, {
    ...options.loop,
    amend: (state) => {
      const verdict = decide(state);
      if (verdict.kind === "refuse") throw refusalError(verdict);
      return Promise.resolve([verdict.event]);
    },
  });
}

/**
 * Where a replacement comes from: a file whose bytes are stored as they
 * are (`file`), read as JSON (`json`) or as UTF-8 text (`text`).
 */
export interface ReplacementSource {
  /** The file (`-` is not special: give `/dev/stdin` to read a pipe). */
  readonly path: string;
  /** How it is read; it must match the original's storage kind. */
  readonly as: "file" | "json" | "text";
}

/** Options of {@linkcode replaceArtifact}. */
export interface ReplaceArtifactOptions {
  /** The replacement. */
  readonly source: ReplacementSource;
  /** Why, in words (recorded). */
  readonly reason: string;
  /** Who replaces it (recorded). */
  readonly by: string;
  /** Run what reads the artifact again now; else only record it (a resume runs them). */
  readonly continue: boolean;
  /** The clock that stamps the record. */
  readonly clock: Clock;
  /** How the run loop runs the reset steps, with `continue`. */
  readonly loop: ExecuteRunOptions;
  /** For runs started from a graph: the same workflow again. */
  readonly workflow?: WorkflowGraph;
  /** What the run's stored workflow file is read with (the packs' kinds and templates). */
  readonly load?: WorkflowLoadOptions;
}

/** What a replacement recorded, and the run's state afterwards. */
export interface Replacement {
  /** The artifact replaced (it stays in the store). */
  readonly original: string;
  /** The stored replacement. */
  readonly replacement: string;
  /** The `artifact_replacement.v1` record. */
  readonly record: string;
  /** The steps reset (they run again with `continue`, else on resume). */
  readonly reset: readonly string[];
  /** The run's state: after the runner stopped (`continue`), else as journaled. */
  readonly state: RunState;
}

/** A replacement read and checked, ready to store. */
type PreparedPut = (run: string, producer: string, original: ArtifactRef) => Promise<ArtifactRef>;

const KIND_OPTION = { file: "--file", json: "--json-file", text: "--text-file" } as const;

/**
 * Reads the replacement and checks it against the original: the same
 * storage kind, and for JSON the original's type's schema when one is
 * registered. Nothing is stored.
 */
async function prepareReplacement(
  store: ContractStore,
  original: ArtifactRef,
  source: ReplacementSource,
): Promise<PreparedPut> {
  if (source.as !== original.storage_kind) {
    throw new UsageError(
      `Artifact ${original.artifact_id} is a ${original.storage_kind} artifact ` +
        `(${original.artifact_type}); give its replacement with ${
          KIND_OPTION[original.storage_kind]
        }, not ${KIND_OPTION[source.as]}`,
    );
  }
  const bytes = await readUserFile(source.path, "Replacement");
  const meta = (producer: string, ref: ArtifactRef) => ({
    type: ref.artifact_type,
    ...(ref.artifact_name === null ? {} : { name: ref.artifact_name }),
    producer: { id: producer, kind: "human" as const },
    inputs: [ref.artifact_id],
  });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    if (source.as !== "file") {
      throw new UsageError(`Replacement ${source.path} is not UTF-8 text`);
    }
    text = "";
  }
  if (source.as === "text") {
    return (run, by, ref) => store.artifacts.putText(run, text, meta(by, ref));
  }
  const fileName = original.rel_path.split("/").at(-1)!;
  const json = source.as === "json" || fileName.endsWith(".json") ? parseJson(text) : undefined;
  if (json !== undefined && store.registry.has(original.artifact_type)) {
    const issues = issuesOf(store.registry.validate(original.artifact_type, json.value));
    if (issues.length > 0) {
      throw new ValidationError(
        `Replacement ${source.path} does not match ${original.artifact_type}: ` +
          issues.map((i) => `${i.path}: ${i.message}`).join("; "),
        { issues },
      );
    }
  }
  if (source.as === "json") {
    if (json === undefined) {
      throw new UsageError(`Replacement ${source.path} is not valid JSON: ${parseError(text)}`);
    }
    return (run, by, ref) => store.artifacts.putJson(run, json.value, meta(by, ref));
  }
  return (run, by, ref) => store.artifacts.putBytes(run, bytes, { ...meta(by, ref), fileName });
}

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function parseError(text: string): string {
  try {
    JSON.parse(text);
    return "";
  } catch (err) {
    return causeMessage(err);
  }
}

/**
 * Replaces an artifact in a run: stores the replacement (checked against
 * the original's type first) and an `artifact_replacement.v1` record, then
 * journals `artifact_replaced`, so every step that reads the original reads
 * the replacement from now on; the steps that read it, and everything
 * downstream, are reset. With `continue` the run is driven until it ends
 * again (their new attempts have cause `replace`); without, the run is left
 * for `lily run resume` (its status is `running` while steps are reset).
 *
 * @param store The open store.
 * @param runId The run; it must have ended (succeeded, failed or cancelled).
 * @param artifactId A current step output, a run input or an `@ARTIFACT_ID` input of the run.
 * @param options The replacement, why, who, whether to continue, and the run loop's options.
 * @returns What was recorded and the run's state.
 * @throws {NotFoundError} When the artifact or the replacement file does not exist.
 * @throws {UsageError} When the artifact is not one the run's steps read, or
 * the replacement's kind differs from the original's.
 * @throws {ValidationError} When the replacement does not match the original's type.
 * @throws {ConflictError} When a live runner holds the run, or the run has not ended.
 */
export async function replaceArtifact(
  store: ContractStore,
  runId: string,
  artifactId: string,
  options: ReplaceArtifactOptions,
): Promise<Replacement> {
  if (options.reason.trim() === "") throw new UsageError("--reason needs a reason in words");
  const graph = await loadRunWorkflow(store, runId, options.workflow, options.load);
  const original = await store.artifacts.ref(artifactId);
  await precheck<ReplaceDecision>(store, runId, (s) => decideReplace(graph, s, artifactId));
  const put = await prepareReplacement(store, original, options.source);
  let recorded: Omit<Replacement, "state"> | undefined;
  const amend = async (state: RunState): Promise<RunEventBody[]> => {
    const verdict = decideReplace(graph, state, artifactId);
    if (verdict.kind === "refuse") throw refusalError(verdict);
    const replacement = await put(runId, options.by, original);
    const record = await store.artifacts.putJson(runId, {
      original_artifact_id: artifactId,
      replacement_artifact_id: replacement.artifact_id,
      reason: runRedactor(graph, options.loop.kernelEnv).text(options.reason),
      replaced_at: options.clock.now().toISOString(),
      replaced_by: options.by,
      run_id: runId,
      reset_steps: verdict.reset,
    }, {
      type: ARTIFACT_REPLACEMENT_TYPE,
      name: `replace.${original.artifact_name ?? artifactId}`,
      producer: { id: options.by, kind: "human" },
      inputs: [artifactId, replacement.artifact_id],
    });
    crashPoint("replacement_stored");
    recorded = {
      original: artifactId,
      replacement: replacement.artifact_id,
      record: record.artifact_id,
      reset: verdict.reset,
    };
    return [{
      type: "artifact_replaced",
      original: artifactId,
      replacement: replacement.artifact_id,
      record: record.artifact_id,
      reset: verdict.reset,
      routes_reset: verdict.routes_reset,
      by: options.by,
    }];
  };
  if (options.continue) {
    const state = await executeRun(store, graph, runId, { ...options.loop, amend });
    return { ...recorded!, state };
  }
  const state = await withRunSession(store, runId, async ({ journal, events }) => {
    for (const body of await amend(foldEvents(runId, events))) {
      events.push(await journal.append(body));
    }
    crashPoint("replay_requested");
    const state = foldEvents(runId, events);
    await exportRunState(store, state);
    return state;
  }, { clock: options.clock, durability: options.loop.durability });
  return { ...recorded!, state };
}
