/**
 * The kernel's public shape: its options (the dependencies, settled once),
 * the run operations, the queries and the views they return. Implemented by
 * `createKernel` in `kernel.ts`.
 *
 * @module
 */

import type { Durability } from "../runtime/durability.ts";
import type { Clock } from "../core/clock.ts";
import type { Env } from "../core/env.ts";
import type { IdSource } from "../core/ids.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import type { StepFunction } from "../graph/workflow.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { GateDecision } from "../gates/human_gate.ts";
import type { ExecutorRegistry } from "../runtime/executors/executor_registry.ts";
import type { LlmProvider } from "../runtime/executors/llm_provider.ts";
import type { RunEvent, RunState } from "../runtime/run_events.ts";
import type { RunInputValue } from "../runtime/run_starter.ts";
import type { Producer } from "../store/artifact_store.ts";
import type { CreatedRun } from "../store/run_store.ts";
import type { GateFailure, LogExcerpt } from "./run_logs.ts";
import type { JournalView, JournalViewOptions } from "./journal_view.ts";
import type { RunLogItem, RunLogOptions } from "./run_log_stream.ts";
import type { PollRunOptions, RunFollowItem } from "./run_follow.ts";
import type { ProvenanceGraph } from "../observe/provenance_graph.ts";
import type { ProvenanceOptions } from "./provenance.ts";
import type { RunDescription, RunSummary } from "./run_views.ts";
import type { WorkflowPlan } from "./workflow_plan.ts";
import type { GatesOnlyReport } from "./gates_only.ts";
import type { Replacement, ReplacementSource } from "./run_replay.ts";
import type { RunRecords } from "../observe/run_records.ts";
import type { ContentOperations } from "./content_store.ts";
import type { PackQueries } from "./kernel_packs.ts";
import type { InitResult } from "./workspace_init.ts";
import type { CacheEntry } from "../store/ports.ts";
import type { CacheExplanation } from "../observe/cache_explain.ts";
import type { SimulationReport } from "./run_simulate.ts";
import type { Reapplication } from "./run_reapply.ts";
import type { RunDiff } from "../observe/run_diff.ts";

/** The run durability modes, re-exported for the CLI (`--durability`). */
export { type Durability, DURABILITY_MODES } from "../runtime/durability.ts";

/** Where new ids come from. */
export interface KernelIds {
  /**
   * Makes run ids.
   * @default {newRunId}
   */
  readonly run?: IdSource;
  /**
   * Makes artifact ids.
   * @default {newArtifactId}
   */
  readonly artifact?: IdSource;
}

/** Options of `createKernel`: its dependencies, settled once. */
export interface KernelOptions {
  /** The workspace directory; it must exist (its store is created on the first run). */
  readonly workspace: string;
  /**
   * An open store of that workspace to use instead of opening one; the
   * kernel does not close it, and its own clock and ids apply to it.
   */
  readonly store?: ContractStore;
  /**
   * Wall time stamps events and artifacts; the monotonic reading times
   * attempts, gates and waits.
   * @default {systemClock}
   */
  readonly clock?: Clock;
  /** Where run and artifact ids come from. */
  readonly ids?: KernelIds;
  /**
   * The environment: steps get their subset of it; `LILY_USER` (else
   * `USER`) names who starts runs and decides gates; `LILY_LLM` (`fake`,
   * `openai`, `anthropic`, with the variables of `docs/llm.md`) picks the LLM
   * provider when no `llm` is given; `OTEL_DENO=true` traces runs with
   * OpenTelemetry (`docs/observability.md`).
   * @default {systemEnv}
   */
  readonly env?: Env;
  /** More executors by kind (from packs), beside and over the built-in ones. */
  readonly executors?: ExecutorRegistry;
  /**
   * The provider `llm` steps ask; without one (and without `LILY_LLM`),
   * `llm` steps are refused before a run is created.
   */
  readonly llm?: LlmProvider;
  /** Functions for `fn` steps and gates that name one (workflow files). */
  readonly functions?: Readonly<Record<string, StepFunction>>;
  /**
   * How many steps run at once.
   * @default {navigator.hardwareConcurrency}
   */
  readonly jobs?: number;
  /**
   * How durable each journal event is before the runner acts on it
   * (`docs/workflow.md`, Durability).
   * @default {"fsync"}
   */
  readonly durability?: Durability;
  /**
   * Imports a pack module by URL (the packs `lily.json` names and the
   * shipped ones); a test may serve a specifier from a local file.
   * @default {dynamic import()}
   */
  readonly importPack?: (url: string) => Promise<unknown>;
}

/** A workflow to run: a graph (from `defineWorkflow`) or a workflow file to read once. */
export type WorkflowSource =
  | WorkflowGraph
  | {
    /** A YAML file, or JSON when it ends in `.json`; `-` reads stdin. */
    readonly file: string;
  };

/** What a run operation reports while it drives a run. */
export interface RunDriveOptions {
  /**
   * How many steps run at once.
   * @default {the kernel's `jobs`}
   */
  readonly jobs?: number;
  /**
   * How durable each journal event is before the runner acts on it;
   * recorded in `run_started` (a new run) and `runner_started`.
   * @default {the kernel's `durability`}
   */
  readonly durability?: Durability;
  /** Cancels the run when aborted (as `runs.cancel` does). */
  readonly signal?: AbortSignal;
  /** Told about every event once it is durable, with the state it folds to. */
  readonly onEvent?: (event: RunEvent, state: RunState) => void;
}

/** Options of {@linkcode RunOperations.start}. */
export interface RunStartOptions extends RunDriveOptions {
  /** Run inputs by name: `{ path }`, `{ artifactId }` or `{ json }`. */
  readonly inputs?: Readonly<Record<string, RunInputValue>>;
  /**
   * Who starts the run (recorded on the stored workflow and inputs).
   * @default {{ id: LILY_USER ?? USER ?? "human", kind: "human" }}
   */
  readonly producer?: Producer;
  /**
   * Told once the workflow and the inputs are read and checked, just before
   * the store and the run are created: nothing is written before it.
   */
  readonly onPrepared?: () => void;
  /**
   * Told the run id once the run is journaled as started (so it can be
   * resumed), with what its first line must say: the sandbox off, and the
   * steps and gates whose tool list does not confine them.
   */
  readonly onCreated?: (runId: string, notes: readonly string[]) => void;
  /**
   * `false` runs every step and gate unconfined (`lily run start
   * --no-sandbox`), recorded in the run's `run_started` event.
   * @default {true, unless the kernel's environment has `LILY_SANDBOX=off`}
   */
  readonly sandbox?: boolean;
  /**
   * `true` looks nothing up in the step cache (`lily run start
   * --no-cache`): every step runs; results still enter the cache. Recorded
   * in the run's `run_started` event, so a resume keeps it.
   */
  readonly noCache?: boolean;
}

/** Options of {@linkcode RunOperations.resume}. */
export interface RunResumeOptions extends RunDriveOptions {
  /** For runs started from a graph: the same workflow again (its hash is checked). */
  readonly workflow?: WorkflowGraph;
}

/** Options of {@linkcode RunOperations.rerunFrom}. */
export interface RunRerunOptions extends RunDriveOptions {
  /** For runs started from a graph: the same workflow again (its hash is checked). */
  readonly workflow?: WorkflowGraph;
  /**
   * Who asks (recorded in the `rerun_requested` event).
   * @default {LILY_USER ?? USER ?? "human"}
   */
  readonly by?: string;
}

/** Options of {@linkcode RunOperations.replaceArtifact}. */
export interface RunReplaceOptions extends RunDriveOptions {
  /** The replacement: a file read as it is, as JSON or as text (the original's kind). */
  readonly source: ReplacementSource;
  /** Why, in words (recorded in the `artifact_replacement.v1` record). */
  readonly reason: string;
  /**
   * Run the steps that read the artifact (and everything downstream) again
   * now; else they are left reset for `runs.resume`.
   * @default {false}
   */
  readonly continue?: boolean;
  /** For runs started from a graph: the same workflow again (its hash is checked). */
  readonly workflow?: WorkflowGraph;
  /**
   * Who replaces it (recorded).
   * @default {LILY_USER ?? USER ?? "human"}
   */
  readonly by?: string;
}

/** Options of {@linkcode RunOperations.dryRunGates}. */
export interface RunDryRunGatesOptions {
  /** Only this step's gates. */
  readonly step?: string;
  /** Only this gate. */
  readonly gate?: string;
  /** Stops the gates when aborted. */
  readonly signal?: AbortSignal;
  /** For runs started from a graph: the same workflow again (its hash is checked). */
  readonly workflow?: WorkflowGraph;
}

/** Options of {@linkcode RunOperations.reapply}. */
export interface RunReapplyOptions extends RunDriveOptions {
  /** For runs started from a graph: the same workflow again (its hash is checked). */
  readonly workflow?: WorkflowGraph;
}

/** Options of {@linkcode RunQueries.simulate}. */
export interface RunSimulateOptions {
  /** The workflow to simulate (a graph, or a file read once); default: the run's own. */
  readonly workflow?: WorkflowSource;
  /** For runs started from a graph: the graph they were started with (its hash is checked). */
  readonly recorded?: WorkflowGraph;
}

/** Options of {@linkcode RunOperations.approve}. */
export interface RunApproveOptions {
  /**
   * Reject instead of approve.
   * @default {false}
   */
  readonly reject?: boolean;
  /** Why, in words. */
  readonly reason?: string;
  /**
   * Who decides.
   * @default {LILY_USER ?? USER ?? "human"}
   */
  readonly by?: string;
}

/** Options of {@linkcode RunOperations.cancel}. */
export interface RunCancelOptions {
  /**
   * How long to wait for a live runner to stop, in ms.
   * @default {30000}
   */
  readonly waitMs?: number;
}

/** Options of {@linkcode RunOperations.create}. */
export interface RunCreateOptions {
  /** A work order file to store with the run (validated as `work_order.v1` when JSON). */
  readonly workOrderPath?: string;
}

/** A run's id and its state when the runner stopped. */
export interface RunOutcome {
  /** The run. */
  readonly runId: string;
  /** Its state: succeeded, failed, cancelled or waiting for a person. */
  readonly state: RunState;
}

/**
 * What changes runs. Each checks everything before it writes anything;
 * none deletes an artifact or an event.
 */
export interface RunOperations {
  /**
   * Creates a run without a workflow (status `created`), optionally with a work order.
   *
   * @param options The work order.
   * @returns The new run.
   */
  create(options?: RunCreateOptions): Promise<CreatedRun>;
  /**
   * Starts a run of a workflow and drives it until it succeeds, fails, is
   * cancelled or waits for a person. Nothing is created when the workflow
   * needs what the kernel lacks (an LLM provider, a function) or an input
   * is wrong.
   *
   * @param workflow The graph, or the file to read once (its bytes are stored with the run).
   * @param options Inputs, producer, jobs and callbacks.
   * @returns The run id and its state when the runner stopped.
   * @throws {UsageError} For an unusable workflow or input.
   * @throws {ValidationError} When a JSON input does not match its type.
   */
  start(workflow: WorkflowSource, options?: RunStartOptions): Promise<RunOutcome>;
  /**
   * Resumes a run from its journal, with the workflow stored in the run.
   *
   * @param runId The run.
   * @param options Jobs, callbacks, and for runs started from a graph the same graph.
   * @returns The run's state when the runner stopped.
   * @throws {ConflictError} When a live runner holds the run.
   * @throws {IntegrityError} When the given workflow differs from the run's.
   */
  resume(runId: string, options?: RunResumeOptions): Promise<RunState>;
  /**
   * Cancels a run that has not finished: a live runner is told to stop (its
   * children are killed), an idle run is marked cancelled.
   *
   * @param runId The run.
   * @param options How long to wait for a live runner.
   * @returns The run's state afterwards.
   * @throws {ConflictError} When the run already ended, or the runner did not stop in time.
   */
  cancel(runId: string, options?: RunCancelOptions): Promise<RunState>;
  /**
   * Records a decision on a human gate the run waits for (resume to act on it).
   *
   * @param runId The run.
   * @param gateId The gate.
   * @param options Reject, reason and who decides.
   * @returns What was recorded.
   * @throws {UsageError} When the run does not wait on that gate or it was decided.
   */
  approve(runId: string, gateId: string, options?: RunApproveOptions): Promise<GateDecision>;
  /**
   * Reruns a run that ended from a step: that step and everything downstream
   * are reset and run again in the same run (new attempts with cause
   * `rerun`, each superseding the step's last attempt); upstream outputs are
   * reused. Drives the run until it ends again.
   *
   * @param runId The run (succeeded, failed or cancelled).
   * @param step The step to rerun from.
   * @param options Jobs, callbacks, who asks, and for TS API runs the graph.
   * @returns The run's state when the runner stopped.
   * @throws {UsageError} When the workflow has no such step.
   * @throws {ConflictError} When a live runner holds the run, or it waits for a person or did
   * not end (resume it first).
   */
  rerunFrom(runId: string, step: string, options?: RunRerunOptions): Promise<RunState>;
  /**
   * Replaces an artifact of a run that ended (a current step output, a run
   * input or an `@ARTIFACT_ID` input): the replacement is checked against
   * the original's kind and type, stored with an `artifact_replacement.v1`
   * record, and every step that reads the original reads it from then on;
   * those steps and everything downstream are reset (run again now with
   * `continue`, cause `replace`; else on resume).
   *
   * @param runId The run (succeeded, failed or cancelled).
   * @param artifactId The artifact to replace.
   * @param options The replacement, the reason, `continue`, who, jobs and callbacks.
   * @returns What was recorded and the run's state.
   * @throws {NotFoundError} When the artifact or the file does not exist.
   * @throws {UsageError} When the run's steps do not read the artifact, or the kinds differ.
   * @throws {ValidationError} When the replacement does not match the original's type.
   * @throws {ConflictError} When a live runner holds the run, or it has not ended.
   */
  replaceArtifact(
    runId: string,
    artifactId: string,
    options: RunReplaceOptions,
  ): Promise<Replacement>;
  /**
   * Runs a run's automated gates against its existing outputs without
   * executing a step or changing the run's state; each verdict is a new
   * `gate_result.v1` marked `evaluation: "gates_only"`.
   *
   * @param runId The run (any run started from a workflow, not held by a live runner).
   * @param options The step and gate to limit it to.
   * @returns The verdicts and the gates left out (human gates, steps with nothing to judge).
   * @throws {UsageError} When the scope names what the workflow lacks, or nothing can be judged.
   * @throws {ConflictError} When a live runner holds the run.
   */
  dryRunGates(runId: string, options?: RunDryRunGatesOptions): Promise<GatesOnlyReport>;
  /**
   * Re-applies a run that ended: every step runs again in a new run of the
   * run's stored workflow on the same run-input artifacts (its manifest's
   * `reapply_of` names the original), and each step's output hashes are
   * compared with the original's.
   *
   * @param runId The run (succeeded, failed or cancelled).
   * @param options Jobs, callbacks, and for TS API runs the graph.
   * @returns The new run, its state, and per step its drift (same, differs, new, missing).
   * @throws {ConflictError} When the run has not ended.
   * @throws {UsageError} When it was not started from a workflow.
   */
  reapply(runId: string, options?: RunReapplyOptions): Promise<Reapplication>;
}

/** Options of {@linkcode RunQueries.checkWorkflow}. */
export interface CheckWorkflowOptions {
  /** Run inputs to check, as {@linkcode RunStartOptions.inputs}. */
  readonly inputs?: Readonly<Record<string, RunInputValue>>;
}

/** What reads runs; none of them writes or creates anything. */
export interface RunQueries {
  /**
   * Lists the workspace's runs, oldest first; none when it has no store.
   *
   * @returns One summary per run.
   */
  listRuns(): Promise<RunSummary[]>;
  /**
   * Describes one run: manifest, state, liveness, human gates, failures with log excerpts.
   *
   * @param runId The run.
   * @returns The description.
   * @throws {NotFoundError} When there is no store or no such run.
   */
  describeRun(runId: string): Promise<RunDescription>;
  /**
   * Checks a workflow and its inputs as `runs.start` would, and plans it.
   *
   * @param workflow The graph or the file.
   * @param options The inputs to check.
   * @returns The plan.
   * @throws {UsageError} For an unusable workflow or input.
   * @throws {ValidationError} When a JSON input does not match its type.
   */
  checkWorkflow(workflow: WorkflowSource, options?: CheckWorkflowOptions): Promise<WorkflowPlan>;
  /**
   * Reads the end of an attempt's log (stderr, else stdout).
   *
   * @param logs Log artifact ids by stream, as in `attempt_finished`.
   * @returns The excerpt, or `null` when there is no log.
   */
  attemptLog(logs: Readonly<Record<string, string | null | undefined>>): Promise<LogExcerpt | null>;
  /**
   * Reads why a gate failed: its reasons and the end of its log.
   *
   * @param resultId The `gate_result.v1` artifact.
   * @returns The reasons and log excerpt.
   */
  gateFailure(resultId: string): Promise<GateFailure>;
  /**
   * Reads a run's access journal: per step and attempt, what it read, was
   * granted and allowed (every `deno` permission decision), staged and committed.
   *
   * @param runId The run.
   * @param options Only one step.
   * @returns The journal grouped by step and attempt; a torn last entry is skipped with a warning.
   * @throws {NotFoundError} When there is no store or no such run.
   * @throws {UsageError} When the step is not one of the run's.
   */
  journal(runId: string, options?: JournalViewOptions): Promise<JournalView>;
  /**
   * Reads the output a run's attempts and gates captured (`lily logs`): all
   * of it so far, and with `follow`, new output as it is written until the
   * run's runner stops. Reads only; another process may be running the run.
   *
   * @param runId The run.
   * @param options Step, attempt and stream filters; whether to follow.
   * @returns The output piece by piece, then one `end` item.
   * @throws {NotFoundError} When there is no store, run, step or attempt.
   * @throws {RunnerGoneError} When following a run that has not finished and no runner runs.
   */
  runLogs(runId: string, options?: RunLogOptions): AsyncIterable<RunLogItem>;
  /**
   * A run's events from the first, as they are journaled (`lily run show
   * --follow`): once, or with `follow` until the run's runner stops.
   *
   * @param runId The run.
   * @param options Whether to follow and how often to look.
   * @returns Each event, then one `end` item.
   * @throws {NotFoundError} When there is no store or run.
   * @throws {RunnerGoneError} When following a run that has not finished and no runner runs.
   */
  runEvents(runId: string, options: PollRunOptions): AsyncIterable<RunFollowItem>;
  /**
   * Reads a run's records: its `environment_snapshot.v1` and the
   * `step_run_record.v1` of every recorded attempt.
   *
   * @param runId The run.
   * @returns The snapshot (or `null` for runs older than snapshots) and the records.
   * @throws {NotFoundError} When there is no store or no such run.
   */
  runRecords(runId: string): Promise<RunRecords>;
  /**
   * An artifact's provenance, from the store alone: what produced it and
   * from which inputs (ids and hashes), the gates and violations of that
   * attempt, its run's environment and the replacements naming it, and the
   * same for its lineage up, down or both ways, across runs.
   *
   * @param artifactId The artifact.
   * @param options Direction (default `up`) and depth (default: unlimited).
   * @returns The provenance graph.
   * @throws {UsageError} When the id is not a UUID or the depth is negative.
   * @throws {NotFoundError} When there is no store or no such artifact.
   */
  provenance(artifactId: string, options?: ProvenanceOptions): Promise<ProvenanceGraph>;
  /**
   * Simulates a run: its recorded events are fed to the decider under its
   * own workflow or another, serving recorded outputs and gate verdicts;
   * no process runs and nothing is written.
   *
   * @param runId The run.
   * @param options The workflow to simulate, and the graph of a TS API run.
   * @returns The decisions compared and every one that differs, the first named.
   * @throws {NotFoundError} When there is no store or no such run.
   * @throws {UsageError} When the run was not started from a workflow, or the workflow is unusable.
   * @throws {IntegrityError} When the journal is lost or the stored workflow does not match.
   */
  simulate(runId: string, options?: RunSimulateOptions): Promise<SimulationReport>;
  /**
   * Compares two runs step by step: status, attempts, input and output
   * hashes, executor summaries, workflows, inputs and environment snapshots.
   *
   * @param a The first run.
   * @param b The second run.
   * @returns The comparison, with the first step whose inputs or outputs diverge.
   * @throws {NotFoundError} When there is no store or either run does not exist.
   */
  diffRuns(a: string, b: string): Promise<RunDiff>;
}

/** Which cache entries a listing or a clear covers. */
export interface CacheScope {
  /** Only this step's entries. */
  readonly step?: string;
}

/** The step cache's operations (`lily cache …`). */
export interface CacheOperations {
  /**
   * Why a step of a run hit or missed the cache: its key parts beside the
   * nearest earlier entry's, naming each part that differs.
   *
   * @param runId The run.
   * @param step The step.
   * @returns The explanation.
   * @throws {NotFoundError} When there is no store or no such run.
   * @throws {UsageError} When the step is not one of the run's.
   */
  explain(runId: string, step: string): Promise<CacheExplanation>;
  /**
   * Lists entries, newest first (none when the workspace has no store).
   *
   * @param scope Only one step's.
   * @returns The entries.
   */
  list(scope?: CacheScope): Promise<CacheEntry[]>;
  /**
   * Removes entries; the artifacts they name stay, later runs miss and run.
   *
   * @param scope Only one step's; all without one.
   * @returns How many were removed.
   */
  clear(scope?: CacheScope): Promise<{ readonly removed: number }>;
}

/** The kernel: run operations and queries over one workspace. */
export interface Kernel extends Disposable {
  /** The workspace directory. */
  readonly workspace: string;
  /** What changes runs. */
  readonly runs: RunOperations;
  /** What reads runs. */
  readonly queries: RunQueries;
  /** Pins and gc of the content store. */
  readonly content: ContentOperations;
  /** What reads the workspace's packs and `lily.json`. */
  readonly packs: PackQueries;
  /**
   * Writes `lily.json` and an example workflow (`lily init`), the pack's
   * own example with `pack`; nothing when either file exists.
   *
   * @param options The pack whose example to write.
   * @returns The files written.
   * @throws {UsageError} When a file exists (naming each) or the pack has no example.
   * @throws {NotFoundError} When the workspace or the pack does not exist.
   */
  init(options?: { readonly pack?: string }): Promise<InitResult>;
  /** The step cache: explain, list, clear. */
  readonly cache: CacheOperations;
  /** Closes the store the kernel opened (not one it was given). */
  close(): void;
}
