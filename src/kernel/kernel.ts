/**
 * The kernel object: the layers wired together once (store, contracts,
 * executors, gates, the run loop) with one set of injected dependencies — a
 * clock, id sources and the environment — behind the run operations and
 * queries every front end calls. The CLI calls only these for runs; a web
 * UI would call the same.
 *
 * The store is opened when first needed and closed by
 * {@linkcode Kernel.close}: operations that only read never create one,
 * and a run is created only once everything it needs has been checked.
 *
 * @example Run a workflow and describe the run
 * ```ts
 * import { createKernel } from "./kernel.ts";
 * import { defineWorkflow } from "../graph/workflow_loader.ts";
 * import { envFrom } from "../core/env.ts";
 *
 * const workspace = await Deno.makeTempDir();
 * const kernel = createKernel({ workspace, env: envFrom({}), jobs: 1 });
 * try {
 *   const graph = defineWorkflow({
 *     name: "hello",
 *     steps: [{
 *       id: "greet",
 *       fn: () => ({ greeting: "hello" }),
 *       outputs: { greeting: { type: "greeting.v1", path: "greeting.txt" } },
 *     }],
 *   });
 *   const { runId, state } = await kernel.runs.start(graph);
 *   console.assert(state.status === "succeeded");
 *   const run = await kernel.queries.describeRun(runId);
 *   console.assert(run.failures.length === 0);
 * } finally {
 *   kernel.close();
 *   await Deno.remove(workspace, { recursive: true });
 * }
 * ```
 *
 * @module
 */

import { type Clock, systemClock } from "../core/clock.ts";
import { actorId, type Env, systemEnv } from "../core/env.ts";
import { issuesOf } from "../core/issue.ts";
import { type ContractStore, openContractStore } from "../contracts/contract_store.ts";
import { kernelRegistry } from "../contracts/kernel_schemas.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import { readWorkflowFile, type WorkflowLoadOptions } from "../graph/workflow_loader.ts";
import {
  BUILTIN_EXECUTOR_KINDS,
  type ExecutorKinds,
  executorKinds,
} from "../graph/executor_kind.ts";
import { createGateEvaluator } from "../gates/gate_evaluator.ts";
import { approveGate } from "../gates/human_gate.ts";
import { storedRunRedactor } from "./run_redaction.ts";
import { defaultExecutors, type ExecutorRegistry } from "../runtime/executors/executor_registry.ts";
import type { LlmProvider } from "../runtime/executors/llm_provider.ts";
import {
  createLlmProvider,
  type LlmConfig,
  llmConfigFrom,
} from "../runtime/executors/llm_config.ts";
import { cancelRun } from "../runtime/run_cancel.ts";
import {
  type PreparedInput,
  preparedInputValues,
  prepareRunInputs,
  readRunState,
  resumeRun,
  type RunInputValue,
  startRun,
  type WorkflowFileBytes,
} from "../runtime/run_starter.ts";
import type {
  CacheOperations,
  Kernel,
  KernelOptions,
  RunDriveOptions,
  RunOperations,
  RunQueries,
  WorkflowSource,
} from "./kernel_api.ts";
import { readGateFailure, readLogExcerpt } from "./run_logs.ts";
import { readJournalView } from "./journal_view.ts";
import { readRunLogs } from "./run_log_stream.ts";
import { createRunTracer, traceGateDecision } from "../observe/run_tracer.ts";
import { followRunEvents } from "./run_follow.ts";
import { readProvenance } from "./provenance.ts";
import { explainStepCache } from "./cache_view.ts";
import { describeRunIn, listRunSummaries } from "./run_views.ts";
import { assertRunnable } from "./runnable_check.ts";
import { planWorkflow } from "./workflow_plan.ts";
import { storeEnvironmentSnapshot } from "../observe/environment_capture.ts";
import { readRunRecords } from "../observe/run_records.ts";
import { policyWarnings, unconfiningToolWarnings } from "./policy_warnings.ts";
import { existingWorkspace, hasStore } from "./workspace.ts";
import { replaceArtifact, rerunFrom } from "./run_replay.ts";
import { dryRunGates } from "./gates_only.ts";
import { contentOperations } from "./content_store.ts";
import { initWorkspace } from "./workspace_init.ts";
import {
  packQueries,
  workflowLoadOptions,
  type WorkspacePacks,
  workspacePacks,
} from "./kernel_packs.ts";
import { simulateStoredRun } from "./run_simulate.ts";
import { reapplyRun } from "./run_reapply.ts";
import { readRunFacts } from "./run_facts_reader.ts";
import { diffRuns } from "../observe/run_diff.ts";

export type * from "./kernel_api.ts";

/** The kernel's dependencies with their defaults applied, and its store, opened once. */
interface KernelDeps {
  readonly options: KernelOptions;
  readonly clock: Clock;
  readonly env: Env;
  readonly llm: LlmProvider | undefined;
  /** Opens the store once (creating it when asked); a failed open is tried again next time. */
  store(create: boolean): Promise<ContractStore>;
  /** Whether the workspace has a store yet (without creating one). */
  storeExists(): Promise<boolean>;
  /** Closes the store the kernel opened. */
  close(): void;
  /** Reads `lily.json` and loads the packs, once. */
  packs(): Promise<WorkspacePacks>;
}

function settle(options: KernelOptions): KernelDeps {
  const clock = options.clock ?? systemClock;
  const env = options.env ?? systemEnv;
  const load = workspacePacks({
    workspace: options.workspace,
    kinds: () => fileKinds(options),
    importModule: options.importPack,
  });
  let loaded: WorkspacePacks | undefined;
  const packs = () => load().then((p) => loaded = p);
  let opened: Promise<ContractStore> | undefined;
  let current: ContractStore | undefined;
  let llm: { readonly provider: LlmProvider | undefined } | undefined;
  const store = (create: boolean): Promise<ContractStore> => {
    if (options.store !== undefined) return Promise.resolve(options.store);
    opened ??= existingWorkspace(options.workspace).then(async (dir) =>
      openContractStore(dir, {
        // The packs' schemas validate puts once a workflow needed the packs; a command that
        // only reads runs loads none (a broken pack cannot stop it).
        registry: loaded?.schemas ?? await kernelRegistry(),
        create,
        now: () => clock.now(),
        newRunId: options.ids?.run,
        newArtifactId: options.ids?.artifact,
      })
    ).then((s) => current = s);
    const attempt = opened;
    attempt.catch(() => {
      if (opened === attempt) opened = undefined;
    });
    return attempt;
  };
  return {
    options,
    clock,
    env,
    // Read when a workflow needs it, so a bad LILY_LLM does not stop `run list`.
    get llm() {
      if (options.llm) return options.llm;
      llm ??= { provider: llmFromEnv(env, clock, { workspace: options.workspace, loaded }) };
      return llm.provider;
    },
    store,
    storeExists: async () => options.store !== undefined || await hasStore(options.workspace),
    close: () => {
      current?.close();
      current = undefined;
      opened = undefined;
    },
    packs,
  };
}

/**
 * The executor kinds a workflow file may name: the kernel's, and those of
 * the executors given to `createKernel` that are not built in.
 */
function fileKinds(options: KernelOptions): ExecutorKinds {
  const builtin = new Set(BUILTIN_EXECUTOR_KINDS.map((k) => k.kind));
  const extra = Object.values(options.executors ?? {}).filter((e) => !builtin.has(e.kind));
  return executorKinds(extra, { origin: "createKernel executors" });
}

/**
 * The provider `LILY_LLM` and its variables name over `lily.json`'s `llm`
 * section, once the packs (and so `lily.json`) are loaded (`llm_config.ts`):
 * none when neither names one.
 *
 * @throws {UsageError} For an unknown name (it is not read as "none", which
 * would blame the workflow instead), a missing key or a bad script.
 */
function llmFromEnv(
  env: Env,
  clock: Clock,
  where: { readonly workspace: string; readonly loaded: WorkspacePacks | undefined },
): LlmProvider | undefined {
  // lily.json's section was validated against LlmConfigSchema when it was read.
  const config = llmConfigFrom(env, where.loaded?.config.llm as LlmConfig | undefined);
  return config && createLlmProvider(config, { env, clock, workspace: where.workspace });
}

/** A workflow read once: its graph and, for a file, the bytes to store. */
async function loadSource(
  deps: KernelDeps,
  source: WorkflowSource,
): Promise<{ graph: WorkflowGraph; file?: WorkflowFileBytes }> {
  if ("file" in source) {
    const load = workflowLoadOptions(await deps.packs());
    const { graph, name, bytes } = await readWorkflowFile(source.file, load);
    return { graph, file: { name, bytes, ...(source.file === "-" ? {} : { path: source.file }) } };
  }
  return { graph: source };
}

/** Reads a workflow and checks that the kernel has what it needs (provider, functions). */
async function loadRunnable(
  deps: KernelDeps,
  source: WorkflowSource,
): Promise<{ graph: WorkflowGraph; file?: WorkflowFileBytes }> {
  const loaded = await loadSource(deps, source);
  // Loaded before the provider is read: lily.json's llm section configures it.
  const packs = await deps.packs();
  assertRunnable(loaded.graph, {
    llm: deps.llm,
    functions: deps.options.functions,
    executors: { ...packs.executors, ...deps.options.executors },
  });
  return loaded;
}

/** Checks inputs before any store is opened or created; `@ID` inputs need an existing one. */
async function prepareInputs(
  deps: KernelDeps,
  graph: WorkflowGraph,
  inputs: Readonly<Record<string, RunInputValue>>,
): Promise<Record<string, PreparedInput>> {
  const registry = await deps.packs().then((p) => p.schemas, () => kernelRegistry());
  const validate = (type: string, value: unknown) =>
    registry.has(type) ? issuesOf(registry.validate(type, value)) : [];
  if (Object.values(inputs).some((v) => "artifactId" in v) && await deps.storeExists()) {
    const s = await deps.store(false);
    return await prepareRunInputs(graph, inputs, { ref: (id) => s.artifacts.ref(id), validate });
  }
  return await prepareRunInputs(graph, inputs, { validate });
}

/** Whether runs are traced: Deno's exporter runs for `OTEL_DENO=true`, in any letter case. */
function tracing(deps: KernelDeps): boolean {
  return deps.env.get("OTEL_DENO")?.toLowerCase() === "true";
}

/**
 * What a run's stored workflow file is read with (the packs' kinds and
 * templates); nothing is loaded when the caller gives the graph.
 */
async function storedWorkflowLoad(
  deps: KernelDeps,
  workflow: WorkflowGraph | undefined,
): Promise<WorkflowLoadOptions> {
  return workflow ? {} : workflowLoadOptions(await deps.packs());
}

/** What the run loop is given: executors, gates, validation and the drive options. */
async function loopOptions(deps: KernelDeps, store: ContractStore, drive: RunDriveOptions) {
  // Loaded before the provider is read: lily.json's llm section configures it.
  const packExecutors = await deps.packs().then((p) => p.executors, () => ({}));
  const executors: ExecutorRegistry = {
    ...defaultExecutors({
      functions: deps.options.functions,
      llmProvider: deps.llm,
      clock: deps.clock,
    }),
    ...packExecutors,
    ...deps.options.executors,
  };
  const kernelEnv = deps.env.toObject();
  return {
    executors,
    gates: createGateEvaluator(store, { executors, kernelEnv, clock: deps.clock }),
    jobs: drive.jobs ?? deps.options.jobs,
    durability: drive.durability ?? deps.options.durability,
    kernelEnv,
    validate: (type: string, value: unknown) =>
      store.registry.has(type) ? issuesOf(store.registry.validate(type, value)) : [],
    signal: drive.signal,
    onEvent: drive.onEvent,
    ...(tracing(deps) ? { observer: createRunTracer(store) } : {}),
    clock: deps.clock,
  };
}

function runOperations(deps: KernelDeps): RunOperations {
  const actor = () => actorId(deps.env);
  return {
    async create(options = {}) {
      const store = await deps.store(true);
      return await store.runs.create({
        workOrderPath: options.workOrderPath,
        workOrderProducer: { id: actor(), kind: "human" },
      });
    },
    async start(workflow, options = {}) {
      const sandbox = options.sandbox ?? deps.env.get("LILY_SANDBOX") !== "off";
      const { graph, file } = await loadRunnable(deps, workflow);
      const inputs = preparedInputValues(await prepareInputs(deps, graph, options.inputs ?? {}));
      options.onPrepared?.();
      const store = await deps.store(true);
      return await startRun(store, graph, {
        ...await loopOptions(deps, store, options),
        inputs,
        workflowFile: file,
        producer: options.producer ?? { id: actor(), kind: "human" },
        sandbox,
        environment: async (runId) =>
          (await storeEnvironmentSnapshot(store, runId, {
            workspace: store.workspace,
            sandboxed: sandbox,
            clock: deps.clock,
            env: deps.env.toObject(),
          })).artifact_id,
        noCache: options.noCache,
        onCreated: (runId) =>
          options.onCreated?.(runId, [
            ...(sandbox ? [] : [
              `sandbox off (${
                options.sandbox === false ? "--no-sandbox" : "LILY_SANDBOX=off"
              }): steps and gates run unconfined`,
            ]),
            ...unconfiningToolWarnings(graph.workflow),
          ]),
      });
    },
    async resume(runId, options = {}) {
      const load = await storedWorkflowLoad(deps, options.workflow);
      const store = await deps.store(false);
      return await resumeRun(store, runId, {
        ...await loopOptions(deps, store, options),
        workflow: options.workflow,
        load,
      });
    },
    async cancel(runId, options = {}) {
      const store = await deps.store(false);
      return await cancelRun(store, runId, { waitMs: options.waitMs, clock: deps.clock });
    },
    async approve(runId, gateId, options = {}) {
      const store = await deps.store(false);
      const decision = await approveGate(store, runId, gateId, {
        reject: options.reject,
        reason: options.reason,
        by: options.by ?? actor(),
        clock: deps.clock,
        redactor: await storedRunRedactor(store, runId, deps.env.toObject()),
      });
      if (tracing(deps)) await traceGateDecision(store, runId);
      return decision;
    },
    async rerunFrom(runId, step, options = {}) {
      const load = await storedWorkflowLoad(deps, options.workflow);
      const store = await deps.store(false);
      return await rerunFrom(store, runId, step, {
        loop: await loopOptions(deps, store, options),
        by: options.by ?? actor(),
        workflow: options.workflow,
        load,
      });
    },
    async replaceArtifact(runId, artifactId, options) {
      const load = await storedWorkflowLoad(deps, options.workflow);
      const store = await deps.store(false);
      return await replaceArtifact(store, runId, artifactId, {
        source: options.source,
        reason: options.reason,
        by: options.by ?? actor(),
        continue: options.continue ?? false,
        clock: deps.clock,
        loop: await loopOptions(deps, store, options),
        workflow: options.workflow,
        load,
      });
    },
    async dryRunGates(runId, options = {}) {
      const load = await storedWorkflowLoad(deps, options.workflow);
      const store = await deps.store(false);
      const { executors, kernelEnv } = await loopOptions(deps, store, {});
      return await dryRunGates(store, runId, {
        ...options,
        load,
        executors,
        kernelEnv,
        clock: deps.clock,
      });
    },
    async reapply(runId, options = {}) {
      const store = await deps.store(false);
      const load = await storedWorkflowLoad(deps, options.workflow);
      return await reapplyRun(store, runId, {
        loop: await loopOptions(deps, store, options),
        producer: { id: actor(), kind: "human" },
        workflow: options.workflow,
        load,
      });
    },
  };
}

function runQueries(deps: KernelDeps): RunQueries {
  return {
    async listRuns() {
      return await deps.storeExists() ? await listRunSummaries(await deps.store(false)) : [];
    },
    async describeRun(runId) {
      return await describeRunIn(await deps.store(false), runId, deps.clock.now());
    },
    async checkWorkflow(workflow, options = {}) {
      const { graph } = await loadRunnable(deps, workflow);
      await prepareInputs(deps, graph, options.inputs ?? {});
      return {
        ...planWorkflow(graph, options.inputs ?? {}),
        warnings: await policyWarnings(graph.workflow, deps.options.workspace),
      };
    },
    async attemptLog(logs) {
      return await readLogExcerpt(await deps.store(false), logs);
    },
    async gateFailure(resultId) {
      return await readGateFailure(await deps.store(false), resultId);
    },
    async journal(runId, options = {}) {
      return await readJournalView(await deps.store(false), runId, options);
    },
    async *runLogs(runId, options = {}) {
      yield* readRunLogs(await deps.store(false), runId, options);
    },
    async *runEvents(runId, options) {
      yield* followRunEvents(await deps.store(false), runId, options);
    },
    async runRecords(runId) {
      const store = await deps.store(false);
      return await readRunRecords(store, await readRunState(store, runId));
    },
    async provenance(artifactId, options) {
      return await readProvenance(await deps.store(false), artifactId, options);
    },
    async simulate(runId, options = {}) {
      const current = options.workflow === undefined ? undefined : "file" in options.workflow
        ? {
          graph: (await loadSource(deps, options.workflow)).graph,
          source: "file" as const,
          file: options.workflow.file,
        }
        : { graph: options.workflow, source: "graph" as const };
      const store = await deps.store(false);
      return await simulateStoredRun(store, runId, {
        current,
        recorded: options.recorded,
        load: await storedWorkflowLoad(deps, options.recorded),
        validate: (type, value) =>
          store.registry.has(type) ? issuesOf(store.registry.validate(type, value)) : [],
      });
    },
    async diffRuns(a, b) {
      const store = await deps.store(false);
      return diffRuns(await readRunFacts(store, a), await readRunFacts(store, b));
    },
  };
}

function cacheOperations(deps: KernelDeps): CacheOperations {
  return {
    async explain(runId, step) {
      return await explainStepCache(await deps.store(false), runId, step);
    },
    async list(scope = {}) {
      return await deps.storeExists() ? await (await deps.store(false)).cache.list(scope) : [];
    },
    async clear(scope = {}) {
      if (!(await deps.storeExists())) return { removed: 0 };
      return { removed: await (await deps.store(false)).cache.clear(scope) };
    },
  };
}

/**
 * Creates a kernel over a workspace. Nothing is opened or read until an
 * operation or query needs it.
 *
 * @param options The workspace and the dependencies, settled once.
 * @returns The kernel; close it when done.
 */
export function createKernel(options: KernelOptions): Kernel {
  const deps = settle(options);
  return {
    workspace: options.workspace,
    runs: runOperations(deps),
    queries: runQueries(deps),
    content: contentOperations({
      store: () => deps.store(false),
      storeExists: deps.storeExists,
      clock: deps.clock,
      actor: () => actorId(deps.env),
      newId: () => crypto.randomUUID(),
      kernelEnv: () => deps.env.toObject(),
    }),
    packs: packQueries(deps.packs),
    init: async (init = {}) =>
      await initWorkspace(options.workspace, { packs: await deps.packs(), pack: init.pack }),
    cache: cacheOperations(deps),
    close: deps.close,
    [Symbol.dispose]: deps.close,
  };
}
