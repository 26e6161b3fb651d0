/**
 * Lily: a Deno-native workflow kernel whose every run is inspectable,
 * auditable, resumable and replayable.
 *
 * This module is the kernel library: {@linkcode createKernel} with its run
 * operations and queries, {@linkcode defineWorkflow} and the workflow model,
 * the error classes, and the injected dependencies (clock, ids,
 * environment). More lives under subpaths: `@lily/cli/workflow` (the
 * checked workflow model a graph holds), `@lily/cli/store` (the artifact
 * store), `@lily/cli/contracts` (schemas, validation, canonical hashing,
 * envelopes), `@lily/cli/executors` (the executor interface, for packs) and
 * `@lily/cli/testing` (fakes for tests). It loads no CLI dependency; run
 * `deno run -A mod.ts --help` (or `jsr:@lily/cli`) for the command line.
 *
 * Runs live in `<workspace>/.iris/`: one directory per run with its journal
 * (`events.jsonl`) and payloads, and one immutable index row per artifact in
 * `index.sqlite`. Every event is durable before it is acted on.
 *
 * @example Run a two-step workflow, then describe the run
 * ```ts
 * import { createKernel, defineWorkflow, envFrom } from "@lily/cli";
 *
 * const workspace = await Deno.makeTempDir();
 * const kernel = createKernel({ workspace, env: envFrom({ LILY_USER: "alice" }) });
 * try {
 *   const graph = defineWorkflow({
 *     name: "numbers",
 *     steps: [
 *       {
 *         id: "produce",
 *         fn: () => ({ n: { values: [1, 2, 3] } }),
 *         outputs: { n: { type: "numbers.v1", path: "n.json" } },
 *       },
 *       {
 *         id: "sum",
 *         fn: ({ inputs }) => ({
 *           total: String((inputs.n as { values: number[] }).values.reduce((a, b) => a + b)),
 *         }),
 *         inputs: { n: "steps.produce.outputs.n" },
 *         outputs: { total: { type: "total.v1", path: "total.txt" } },
 *       },
 *     ],
 *   });
 *   const { runId, state } = await kernel.runs.start(graph);
 *   console.assert(state.status === "succeeded");
 *   const run = await kernel.queries.describeRun(runId);
 *   console.assert(run.manifest.status === "succeeded" && run.failures.length === 0);
 *   console.assert(run.artifact_counts["total.v1"] === 1);
 * } finally {
 *   kernel.close();
 *   await Deno.remove(workspace, { recursive: true });
 * }
 * ```
 *
 * @module
 */

export {
  type CacheOperations,
  type CacheScope,
  type CheckWorkflowOptions,
  createKernel,
  type Kernel,
  type KernelIds,
  type KernelOptions,
  type RunApproveOptions,
  type RunCancelOptions,
  type RunCreateOptions,
  type RunDriveOptions,
  type RunDryRunGatesOptions,
  type RunOperations,
  type RunOutcome,
  type RunQueries,
  type RunReapplyOptions,
  type RunReplaceOptions,
  type RunRerunOptions,
  type RunResumeOptions,
  type RunSimulateOptions,
  type RunStartOptions,
  type WorkflowSource,
} from "./src/kernel/kernel.ts";
export type {
  ContentOperations,
  GcOptions,
  GcReport,
  PinOptions,
  PinResult,
} from "./src/kernel/content_store.ts";
export type { GcPlan, GcSelection } from "./src/kernel/gc_plan.ts";
export type {
  FailureView,
  HumanGateView,
  RouteTaken,
  RunDescription,
  RunSummary,
} from "./src/kernel/run_views.ts";
export type { GateFailure, LogExcerpt } from "./src/kernel/run_logs.ts";
export type {
  JournalAccess,
  JournalAttempt,
  JournalGate,
  JournalGrant,
  JournalPermission,
  JournalStep,
  JournalView,
  JournalViewOptions,
} from "./src/kernel/journal_view.ts";
export type {
  AccessEntry,
  AccessEntryBase,
  AccessEntryBody,
  CommittedOutput,
  StagedOutput,
} from "./src/runtime/access_entry.ts";
export type {
  LogFilter,
  LogSource,
  RunLogItem,
  RunLogOptions,
} from "./src/kernel/run_log_stream.ts";
export type { LogStream } from "./src/runtime/log_names.ts";
export type { PollRunOptions, RunEnd, RunFollowItem } from "./src/kernel/run_follow.ts";
export { RunnerGoneError } from "./src/kernel/run_follow.ts";
export type {
  RunRecords,
  StoredEnvironmentSnapshot,
  StoredStepRunRecord,
} from "./src/observe/run_records.ts";
export type { ProvenanceOptions } from "./src/kernel/provenance.ts";
export type {
  AttemptSummary,
  EnvironmentFacts,
  ProvenanceDirection,
} from "./src/observe/provenance_facts.ts";
export type {
  ProvenanceEdge,
  ProvenanceGate,
  ProvenanceGraph,
  ProvenanceInput,
  ProvenanceNode,
  ProvenanceProducer,
  ProvenanceReplacement,
  ProvenanceRole,
  ProvenanceRun,
  ProvenanceViolation,
} from "./src/observe/provenance_graph.ts";
export { renderProvenanceTree } from "./src/observe/provenance_tree.ts";
export { renderProvenanceDot, renderProvenanceMermaid } from "./src/observe/provenance_diagram.ts";
export type { PendingRetry } from "./src/kernel/pending_retry.ts";
export type {
  CacheDifference,
  CacheExplanation,
  CacheKeyPart,
  NearestEntry,
  PartSideBySide,
} from "./src/observe/cache_explain.ts";
export type { GatesOnlyReport, GatesOnlyResult } from "./src/kernel/gates_only.ts";
export type { Replacement, ReplacementSource } from "./src/kernel/run_replay.ts";
export type { SimulationReport } from "./src/kernel/run_simulate.ts";
export type { DecisionKind, Divergence, Simulation } from "./src/runtime/run_simulation.ts";
export type { Reapplication } from "./src/kernel/run_reapply.ts";
export type { Drift, OutputDrift, StepDrift } from "./src/observe/output_drift.ts";
export type { FirstDivergence, RunDiff, StepDiff, ValueDiff } from "./src/observe/run_diff.ts";
export type { ReplayEvent } from "./src/kernel/run_history.ts";
export type { GateLeftOut } from "./src/runtime/replay_decider.ts";
export type {
  PlannedGate,
  PlannedInput,
  PlannedStep,
  WorkflowPlan,
} from "./src/kernel/workflow_plan.ts";
export type { GateDecision } from "./src/gates/human_gate.ts";
export type { RunInputValue } from "./src/runtime/run_starter.ts";
export { type Durability, DURABILITY_MODES } from "./src/runtime/durability.ts";
export type {
  AttemptCause,
  AttemptState,
  AttemptStatus,
  CachedFrom,
  GateRecord,
  GateStatus,
  InputRecord,
  LlmExchangeIds,
  ResetCause,
  RunEndStatus,
  RunEvent,
  RunEventBody,
  RunState,
  StepState,
  StepStatus,
} from "./src/runtime/run_events.ts";
export { defineWorkflow, parseWorkflow, WorkflowError } from "./src/graph/workflow_loader.ts";
export type { WorkflowIssue, WorkflowLoadOptions } from "./src/graph/workflow_loader.ts";
export { type ExecutorKinds, executorKinds } from "./src/graph/executor_kind.ts";
export type {
  GateDefinition,
  OnFailDefinition,
  OutputDefinition,
  PolicyDefinition,
  RouteUseDefinition,
  RunnerDefinition,
  StepDefinition,
  TemplateUseDefinition,
  WorkflowDefinition,
} from "./src/graph/workflow_definition.ts";
export type { PackQueries } from "./src/kernel/kernel_packs.ts";
export type { InitResult } from "./src/kernel/workspace_init.ts";
export type { FailedPack, LoadedPack, PackRecord, PackSource } from "./src/packs/pack_loader.ts";
export type { PackItem } from "./src/packs/pack_items.ts";
export type { PackIssue } from "./src/packs/define_pack.ts";
export type { LilyConfig } from "./src/packs/workspace_config.ts";
export type { FnContext, StepFunction } from "./src/graph/workflow.ts";
export type { LlmProvider, LlmReply, LlmRequest } from "./src/runtime/executors/llm_provider.ts";
export type {
  LlmExchange,
  LlmReceived,
  LlmSent,
  LlmTranscript,
} from "./src/runtime/executors/llm_transcript.ts";
export { OpenAiProvider } from "./src/runtime/executors/llm_openai.ts";
export {
  AnthropicProvider,
  type AnthropicProviderOptions,
} from "./src/runtime/executors/llm_anthropic.ts";
export type { HttpLlmProviderOptions } from "./src/runtime/executors/llm_http.ts";
export { DEFAULT_LLM_RETRY, type LlmRetryPolicy } from "./src/runtime/executors/llm_retry.ts";
export {
  ConflictError,
  DamagedFileError,
  IntegrityError,
  isLilyError,
  LilyError,
  type LilyErrorOptions,
  NotFoundError,
  PathSecurityError,
  StorageError,
  UsageError,
  ValidationError,
} from "./src/core/errors.ts";
export type { Issue, Result } from "./src/core/issue.ts";
export { type Clock, systemClock } from "./src/core/clock.ts";
export { type Env, envFrom, systemEnv } from "./src/core/env.ts";
export type { IdSource } from "./src/core/ids.ts";
export type { JsonValue } from "./src/core/canonical_json.ts";
export { KERNEL_VERSION } from "./src/core/version.ts";

if (import.meta.main) {
  const { main } = await import("./src/cli/main.ts");
  Deno.exit(await main(Deno.args));
}
