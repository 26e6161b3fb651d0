/**
 * The run loop: takes the run's lease, replays its journal, repairs attempts
 * a dead runner left behind, then starts ready steps (lowest declaration
 * index first, up to `jobs` at once), records every transition in the
 * journal before acting on it, and finally exports `run_state.json`. What
 * to do next — where a step resumes, retries and their backoff, gate
 * verdicts, warnings, failure reasons and the run's end — is decided by the
 * pure functions of `run_decider.ts`; this module acts on their answers.
 *
 * Durations are measured on the injected {@linkcode Clock}'s monotonic
 * reading, never on the wall clock. A cancel, a crash and a timeout at the
 * same phase of an attempt leave states from which a resume re-runs the same
 * work: an attempt whose outputs are not committed runs again; a succeeded
 * attempt whose gates were stopped keeps its outputs, and only its stopped
 * and unstarted gates run again. When the runner cannot write to the store
 * (a full disk), it stops every step, marks the run failed (as far as the
 * disk still allows) and throws a {@linkcode LilyError} naming the file.
 *
 * @module
 */

import { type Clock, elapsedMs, systemClock } from "../core/clock.ts";
import type { Store } from "../store/store.ts";
import { Scheduler } from "../graph/scheduler.ts";
import type { GateSpec, InputSource, StepSpec } from "../graph/workflow.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { ExecutorKinds } from "../graph/executor_kind.ts";
import {
  commitOutputs,
  inputRecords,
  OutputError,
  type OutputValidator,
  prepareAttemptDirs,
  removeAttemptDirs,
  storeLogs,
} from "./attempt_workspace.ts";
import { attemptConfinement, buildAttemptContext } from "./attempt_context.ts";
import type { AccessReport, ExecutionContext, ExecutionResult } from "./executors/executor.ts";
import {
  accessEntryOf,
  AccessJournal,
  type AccessSubject,
  committedEntry,
} from "./access_journal.ts";
import { stagedOutputs } from "./staged_outputs.ts";
import type { Confinement } from "../policy/policy_model.ts";
import { recordExchanges } from "./llm_exchange_records.ts";
import { recordViolations } from "./violation_records.ts";
import { executorFor, type ExecutorRegistry } from "./executors/executor_registry.ts";
import { processStartTicks } from "../core/proc_stat.ts";
import { killStaleProcessGroup } from "./executors/process_tree.ts";
import {
  applyEvent,
  type AttemptCause,
  type AttemptState,
  foldEvents,
  type GateRecord,
  type InputRecord,
  type LlmExchangeIds,
  type RunEndStatus,
  type RunEvent,
  type RunEventBody,
  type RunState,
} from "./run_events.ts";
import type { Durability } from "./durability.ts";
import type { RunJournal } from "./run_journal.ts";
import { withRunSession } from "./run_session.ts";
import { exportRunState } from "./run_state_file.ts";
import { isUnwritableDisk } from "../core/storage_error.ts";
import { crashPoint } from "../core/crash_point.ts";
import { attemptLabel } from "./log_names.ts";
import type { RunObserver } from "./run_observer.ts";
import {
  decidedGates,
  failureReason,
  gatesVerdict,
  optionalGateWarnings,
  runEnd,
  stepStart,
} from "./run_decider.ts";
import { decideFailure, type PendingRoute, takeRoute } from "./route_decider.ts";
import { routeFeedback } from "./route_feedback.ts";
import { FEEDBACK_INPUT } from "../graph/route_check.ts";
import { LilyError } from "../core/errors.ts";
import { MAX_TIMER_MS, sleep } from "../core/delay.ts";
import type { Redactor } from "../core/redaction.ts";
import { redactEvent, runRedactor } from "./run_secrets.ts";
import { AttemptRecorder } from "./attempt_recorder.ts";
import { StepCacheShell } from "./step_cache_shell.ts";
import { cacheEnvironment } from "./cache_environment.ts";
import type { CachedFrom } from "./run_events.ts";

/** What a gate evaluator is asked for one attempt of a step. */
export interface GateRequest {
  /** The run. */
  readonly runId: string;
  /** The step the gates judge. */
  readonly step: StepSpec;
  /** The attempt. */
  readonly attempt: number;
  /** The step's gates, in declaration order. */
  readonly gates: readonly GateSpec[];
  /** The executor kinds of the workflow: what each gate's runner can do. */
  readonly kinds: ExecutorKinds;
  /** The attempt's committed outputs: name → artifact id. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Resolves a gate input to an artifact id (the subject's outputs are this attempt's). */
  readonly resolveInput: (source: InputSource) => string | undefined;
  /** Gates already decided for this attempt (e.g. by a person). */
  readonly decided: Readonly<Record<string, GateRecord>>;
  /** Aborted when the run is cancelled. */
  readonly signal: AbortSignal;
  /** Records a gate's child process, so a resume can kill it if the runner dies. */
  readonly onSpawn: (gateId: string, pid: number) => Promise<void>;
  /**
   * Records one gate's outcome durably, with the inputs it ran with (when it
   * ran); call it for every gate decided now.
   */
  readonly record: (
    gate: GateRecord,
    inputs?: Readonly<Record<string, InputRecord>>,
  ) => Promise<void>;
  /** The confinement a gate runs under (the workflow's and its own policy). */
  readonly confinementOf: (gate: GateSpec) => Confinement;
  /** Told what a gate's attempt was granted and its permission decisions (the access journal). */
  readonly onAccess?: (gateId: string, report: AccessReport) => void;
  /**
   * Set for an evaluation outside the run's course (`lily run rerun
   * --gates-only`): its results are marked with it, and `label` keeps its
   * scratch dirs and logs apart from the run's own.
   */
  readonly evaluation?: { readonly kind: "gates_only"; readonly label: string };
  /** The run's redactor: what a gate's logs and results must not hold. */
  readonly redactor?: Redactor;
}

/** Runs a step's gates (Layer 3 plugs in here). */
export interface GateEvaluator {
  /**
   * Runs the gates not yet decided, recording each.
   *
   * @param request The attempt and its gates.
   * @returns The id of a gate that waits for a person, or null.
   */
  evaluate(request: GateRequest): Promise<{ readonly waitingOn: string | null }>;
}

/** Options of {@linkcode executeRun}. */
export interface ExecuteRunOptions {
  /** Executors by kind. */
  readonly executors: ExecutorRegistry;
  /** Runs gates; without one, a step with gates fails. */
  readonly gates?: GateEvaluator;
  /**
   * How many steps run at once.
   * @default {navigator.hardwareConcurrency}
   */
  readonly jobs?: number;
  /** The kernel's environment, from which steps get their subset. */
  readonly kernelEnv: Readonly<Record<string, string>>;
  /** Validates JSON outputs against their declared types. */
  readonly validate?: OutputValidator;
  /**
   * The clock: wall time stamps events, its monotonic reading times attempts.
   * @default {systemClock}
   */
  readonly clock?: Clock;
  /** Cancels the run when aborted. */
  readonly signal?: AbortSignal;
  /**
   * How durable each event is before the runner acts on it; recorded in
   * `runner_started` (and, for a new run, in `run_started`).
   * @default {"fsync"}
   */
  readonly durability?: Durability;
  /** Told about every event once it is durable, with the state after it. */
  readonly onEvent?: (event: RunEvent, state: RunState) => void;
  /** Watches the runner (e.g. OpenTelemetry tracing); closed when the runner stops. */
  readonly observer?: RunObserver;
  /**
   * How often the runner looks for a cancel request, in ms (clamped to 1 ms …
   * 2^31−1 ms). The runner also looks at every phase boundary of an attempt.
   * @default {200}
   */
  readonly cancelPollMs?: number;
  /**
   * The `run_started` event of a new run, journaled once the lease is held
   * (so nothing can slip in between; {@linkcode startRun} sets it), or a
   * function called under the lease that stores what the run starts with
   * and returns that event.
   */
  readonly start?:
    | Extract<RunEventBody, { type: "run_started" }>
    | (() => Promise<Extract<RunEventBody, { type: "run_started" }>>);
  /**
   * Told the run id once the `start` event is durable — so an id a user is
   * shown always names a run that `resumeRun` can continue.
   */
  readonly onCreated?: (runId: string) => void;
  /**
   * A request journaled under the lease before the loop starts (a rerun's
   * or a replacement's): called with the state folded from the journal, it
   * stores what its events refer to and returns them, or throws to refuse
   * (nothing is journaled then).
   */
  readonly amend?: (state: RunState) => Promise<readonly RunEventBody[]>;
}

type StepOutcome = "succeeded" | "failed" | "waiting" | "cancelled";

/** What a step's runner does next: an attempt, its gates, or the decision after a failure. */
type StepWork =
  | { readonly kind: "attempt"; readonly attempt: number; readonly cause: AttemptCause }
  | { readonly kind: "gates"; readonly attempt: AttemptState }
  | { readonly kind: "decide"; readonly attempt: number; readonly outcome: "failed" | "timeout" };

/** A failure's message: a Lily error's own, anything else marked as unexpected. */
function describeError(err: unknown): string {
  if (err instanceof LilyError) return err.message;
  return `unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Resolves a step or gate input to an artifact id from the run state.
 *
 * @param source Where the input comes from.
 * @param state The run state.
 * @returns The artifact id, or `undefined` when the source has none (yet).
 */
export function resolveInputSource(
  source: InputSource,
  state: RunState,
): string | undefined {
  switch (source.from) {
    case "artifact":
      return state.replacements[source.artifactId] ?? source.artifactId;
    case "run_input":
      return state.inputs[source.name];
    case "step_output":
      return state.steps[source.step]?.outputs[source.output];
  }
}

/**
 * Executes (or resumes) a run until it succeeds, fails, is cancelled or
 * waits for a person. Finished steps are never run again; an attempt that
 * was running when a runner died is recorded as `interrupted` and its
 * leftover processes are killed before a new attempt starts.
 *
 * @param store The open store.
 * @param graph The run's workflow graph.
 * @param runId The run, created with its `run_started` event already journaled.
 * @param options Executors, gates, jobs, environment and callbacks.
 * @returns The run state when the runner stops.
 * @throws {ConflictError} When another live runner holds the run's lease.
 */
export async function executeRun(
  store: Store,
  graph: WorkflowGraph,
  runId: string,
  options: ExecuteRunOptions,
): Promise<RunState> {
  const clock = options.clock ?? systemClock;
  // A request already there was meant for an earlier runner; one that appears later is for this one.
  const staleCancel = await store.control.pendingCancel(runId);
  return await withRunSession(store, runId, async ({ journal, events }) => {
    if (events.length === 0 && options.start) {
      const start = typeof options.start === "function" ? await options.start() : options.start;
      events.push(await journal.append(start));
      options.observer?.observe(events[0], foldEvents(runId, events));
      options.onCreated?.(runId);
      crashPoint("run_announced");
    }
    if (options.amend) {
      for (const body of await options.amend(foldEvents(runId, events))) {
        events.push(await journal.append(body));
      }
      crashPoint("replay_requested");
    }
    const state = foldEvents(runId, events);
    const access = await AccessJournal.open(store.access, runId, {
      clock,
      durability: options.durability,
    });
    const redactor = runRedactor(graph, options.kernelEnv);
    const loop = new RunLoop(store, graph, state, journal, {
      ...options,
      clock,
      staleCancel,
      access,
      redactor,
    });
    try {
      return await loop.run();
    } catch (err) {
      // Once run_finished is durable the run's outcome stands; only its exports failed.
      if (!loop.finished) await recordFatal(store, { journal, runId, error: err, redactor });
      throw err;
    } finally {
      await access.close();
      await options.observer?.close();
    }
  }, { clock, durability: options.durability });
}

/**
 * Marks a run failed after an error the runner could not record (best
 * effort: with a full disk, the journal or the manifest may not take it).
 */
async function recordFatal(
  store: Store,
  { journal, runId, error, redactor }: {
    journal: RunJournal;
    runId: string;
    error: unknown;
    redactor: Redactor;
  },
): Promise<void> {
  const reason = redactor.text(describeError(error));
  await journal.append({ type: "run_finished", status: "failed", reason }).catch(() => {});
  await store.runs.update(runId, () => ({ status: "failed" })).catch(() => {});
}

class RunLoop {
  #store: Store;
  #graph: WorkflowGraph;
  #state: RunState;
  #journal: RunJournal;
  #access: AccessJournal;
  #options: ExecuteRunOptions & { readonly staleCancel: string | null };
  #clock: Clock;
  #controller = new AbortController();
  /**
   * `attempt_finished` records of succeeded attempts without gates, held
   * back so that `#finish` queues them with the `step_finished` that follows
   * in one task: the journal writes and fsyncs both in one batch.
   */
  #heldEnds = new Map<string, RunEventBody>();
  /** Staging dirs being removed off the critical path; awaited before the runner stops. */
  #cleanups: Promise<void>[] = [];
  #kernelEnv: Readonly<Record<string, string>>;
  #redactor: Redactor;
  #records: AttemptRecorder;
  #cache: StepCacheShell;
  #finished = false;

  constructor(
    store: Store,
    graph: WorkflowGraph,
    state: RunState,
    journal: RunJournal,
    options: ExecuteRunOptions & {
      readonly clock: Clock;
      readonly staleCancel: string | null;
      readonly access: AccessJournal;
      readonly redactor: Redactor;
    },
  ) {
    this.#redactor = options.redactor;
    this.#records = new AttemptRecorder(store, graph, {
      redactor: options.redactor,
      journal: (body) => this.#record(body),
      onError: () => this.#controller.abort(),
    });
    this.#clock = options.clock;
    this.#access = options.access;
    this.#store = store;
    this.#graph = graph;
    this.#state = state;
    this.#journal = journal;
    this.#options = options;
    this.#kernelEnv = options.kernelEnv;
    this.#cache = new StepCacheShell(store, {
      clock: options.clock,
      environment: () => cacheEnvironment(store, this.#state.environment_snapshot),
    });
  }

  /**
   * Applies an event to the state at once and resolves when it is durable.
   * Nothing outside the runner acts on an event before that.
   */
  async #record(body: RunEventBody): Promise<void> {
    const { event, durable } = this.#journal.appendNow(redactEvent(body, this.#redactor));
    applyEvent(this.#state, event);
    await durable;
    this.#options.observer?.observe(event, this.#state);
    this.#options.onEvent?.(event, this.#state);
  }

  #confinement(subject: Parameters<typeof attemptConfinement>[1]): Confinement {
    return attemptConfinement(this.#graph.workflow, subject, {
      workspace: this.#store.workspace,
      mode: this.#state.sandbox === "none" ? "none" : "sandbox",
      workflowPath: this.#state.workflow_path,
    });
  }

  /** Whether this runner's `run_finished` event is durable. */
  get finished(): boolean {
    return this.#finished;
  }

  get #runId(): string {
    return this.#state.run_id;
  }

  async run(): Promise<RunState> {
    if (this.#state.status === "succeeded") {
      // Maybe a runner that died between run_finished and its exports.
      await exportRunState(this.#store, this.#state);
      return this.#state;
    }
    if (this.#options.staleCancel !== null) {
      await this.#store.control.clearCancel(this.#runId, this.#options.staleCancel).catch(() => {});
    }
    const resumed = this.#state.last_seq > 1;
    await this.#repairInterrupted();
    await this.#record({
      type: "runner_started",
      pid: Deno.pid,
      resumed,
      durability: this.#options.durability ?? "fsync",
    });
    await this.#store.runs.update(this.#runId, () => ({ status: "running" }));

    const stopWatching = this.#watchForCancel();
    this.#checkCancel();
    let end: { status: RunEndStatus; reason: string | null };
    try {
      end = await this.#schedule();
    } finally {
      stopWatching();
      await Promise.all(this.#cleanups);
    }
    await this.#record({ type: "run_finished", ...end });
    this.#finished = true;
    crashPoint("run_finished");
    await this.#store.control.clearCancel(this.#runId).catch(() => {});
    await exportRunState(this.#store, this.#state);
    return this.#state;
  }

  #watchForCancel(): () => void {
    const signal = this.#options.signal;
    const abort = () => this.#controller.abort();
    signal?.addEventListener("abort", abort);
    if (signal?.aborted) abort();
    const every = Math.min(Math.max(this.#options.cancelPollMs ?? 200, 1), MAX_TIMER_MS);
    const timer = setInterval(() => {
      this.#store.control.cancelRequested(this.#runId).then((asked) => {
        if (asked) abort();
      }, () => {});
    }, every);
    return () => {
      clearInterval(timer);
      signal?.removeEventListener("abort", abort);
    };
  }

  /**
   * Looks for a cancel request at once (the poll may be up to
   * `cancelPollMs` late), so a cancel is seen at every phase boundary.
   */
  async #checkCancel(): Promise<boolean> {
    if (this.#controller.signal.aborted) return true;
    if (!(await this.#store.control.cancelRequested(this.#runId))) return false;
    this.#controller.abort();
    return true;
  }

  /** How long an attempt ran: on the monotonic clock when its start was read on it. */
  #durationOf(attempt: AttemptState): number {
    if (attempt.started_monotonic_ms !== null) {
      return elapsedMs(this.#clock, attempt.started_monotonic_ms);
    }
    // Journals of older runners recorded only the wall-clock start.
    return Math.max(0, this.#clock.now().getTime() - Date.parse(attempt.started_at));
  }

  async #repairInterrupted(): Promise<void> {
    for (const [stepId, step] of Object.entries(this.#state.steps)) {
      const attempt = step.attempts.at(-1);
      for (const [gateId, child] of Object.entries(attempt?.gate_pids ?? {})) {
        if (attempt!.gates[gateId] === undefined && child.start_ticks !== null) {
          await killStaleProcessGroup(child.pid, child.start_ticks);
        }
      }
      if (!attempt || attempt.status !== "running") continue;
      if (attempt.pid !== null && attempt.start_ticks !== null) {
        await killStaleProcessGroup(attempt.pid, attempt.start_ticks);
      }
      await this.#record({
        type: "attempt_finished",
        step: stepId,
        attempt: attempt.attempt,
        status: "interrupted",
        exit_code: null,
        message: "The runner stopped while this attempt ran",
        duration_ms: this.#durationOf(attempt),
        outputs: {},
        logs: {},
        executor: attempt.executor,
      });
    }
    // Every settled attempt gets its record, also those a dead runner left unrecorded.
    for (const [stepId, step] of Object.entries(this.#state.steps)) {
      for (const a of step.attempts) await this.#records.settleNow(this.#state, stepId, a.attempt);
    }
  }

  /** Records an attempt (in the background) once it is settled. */
  #settle(stepId: string, attemptNo: number): void {
    this.#records.settle(this.#state, stepId, attemptNo);
  }

  async #schedule(): Promise<{ status: RunEndStatus; reason: string | null }> {
    const succeeded = new Set(
      Object.entries(this.#state.steps).filter(([, s]) => s.status === "succeeded").map(([id]) =>
        id
      ),
    );
    const scheduler = new Scheduler(this.#graph, succeeded);
    const jobs = Math.max(1, this.#options.jobs ?? navigator.hardwareConcurrency ?? 1);
    const running = new Map<string, Promise<void>>();
    let failure: string | null = null;
    let fatal: { error: unknown } | null = null;
    let waiting = 0;
    // Routes wait until no step runs, so that no reset step is reset while it runs.
    const routes: PendingRoute[] = [];
    const signal = this.#controller.signal;
    while (true) {
      if (failure === null && fatal === null && routes.length === 0 && !signal.aborted) {
        for (const id of scheduler.take(jobs - running.size)) {
          const task = this.#runStep(id).then((outcome) => {
            if (typeof outcome === "object") routes.push(outcome);
            else if (outcome === "succeeded") scheduler.succeeded(id);
            else if (outcome === "failed") {
              const step = this.#state.steps[id];
              failure ??= failureReason(id, step.attempts.at(-1), step.reason);
            } else if (outcome === "waiting") waiting++;
          }, (error) => {
            // The runner cannot record what happens (e.g. the disk is full):
            // stop every other step, then let executeRun mark the run failed.
            fatal ??= { error };
            this.#controller.abort();
          }).finally(() => running.delete(id));
          running.set(id, task);
        }
      }
      if (running.size === 0 && routes.length > 0 && fatal === null) {
        const stop = failure !== null || signal.aborted;
        const taken = await this.#takeRoutes(routes.splice(0), stop);
        if (taken.failure !== null) failure ??= taken.failure;
        scheduler.reset(taken.reset);
        continue;
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    await this.#records.drain().catch((error) => {
      fatal ??= { error };
    });
    if (fatal !== null) throw (fatal as { error: unknown }).error;
    return runEnd({ cancelled: signal.aborted, failure, waiting });
  }

  async #runStep(stepId: string): Promise<StepOutcome | PendingRoute> {
    const step = this.#graph.steps[this.#graph.indexOf.get(stepId)!];
    const start = stepStart(this.#state.steps[stepId]);
    let work: StepWork = start.kind === "new_attempt"
      ? { kind: "attempt", attempt: start.attempt, cause: start.cause }
      : start.kind === "decide_failure"
      ? {
        kind: "decide",
        attempt: start.attempt.attempt,
        outcome: start.attempt.status === "timeout" ? "timeout" : "failed",
      }
      : { kind: "gates", attempt: start.attempt };
    // A step picked up mid-way (gates to finish or decide, a failure to decide after a crash)
    // that is retried starts its next attempt at once, as a resume: no backoff is waited out twice.
    let pickedUp = start.kind !== "new_attempt";
    while (true) {
      const attemptNo = work.kind === "gates" ? work.attempt.attempt : work.attempt;
      const outcome = work.kind === "attempt"
        ? await this.#attempt(step, attemptNo, work.cause)
        : work.kind === "gates"
        ? await this.#gate(step, work.attempt)
        : work.outcome;
      this.#settle(stepId, attemptNo);
      if (outcome === "succeeded" || outcome === "waiting" || outcome === "cancelled") {
        return await this.#finish(step, attemptNo, outcome);
      }
      const next = decideFailure(this.#graph, this.#state, stepId, {
        outcome,
        cancelled: this.#controller.signal.aborted,
      });
      if (next.kind === "cancelled") return await this.#finish(step, attemptNo, "cancelled");
      if (next.kind === "fail") return await this.#finish(step, attemptNo, "failed", next.reason);
      if (next.kind === "route") return next.route;
      if (!pickedUp) {
        await this.#record({
          type: "retry_scheduled",
          step: stepId,
          attempt: attemptNo,
          delay_ms: next.delayMs,
          reason: next.reason,
        });
        this.#settle(stepId, attemptNo);
        await sleep(next.delayMs, this.#controller.signal);
      }
      if (await this.#checkCancel()) return await this.#finish(step, attemptNo, "cancelled");
      this.#settle(stepId, attemptNo);
      const attempt = this.#state.steps[stepId].attempts.at(-1)!.attempt + 1;
      work = { kind: "attempt", attempt, cause: pickedUp ? "resume" : "retry" };
      pickedUp = false;
    }
  }

  /**
   * Takes the routes chosen while steps ran, in the order they were chosen:
   * checks each one's bounds, stores its feedback and journals it. When the
   * run is stopping (another step failed, a cancel) or a bound is reached,
   * the routed step finishes instead.
   *
   * @returns The steps to schedule again, and the run's failure when a bound was reached.
   */
  async #takeRoutes(
    routes: readonly PendingRoute[],
    stop: boolean,
  ): Promise<{ reset: string[]; failure: string | null }> {
    const reset: string[] = [];
    let failure: string | null = null;
    for (const route of routes) {
      const spec = this.#graph.steps[this.#graph.indexOf.get(route.step)!];
      if (stop || failure !== null) {
        const cancelled = this.#controller.signal.aborted;
        await this.#finish(
          spec,
          route.attempt,
          cancelled ? "cancelled" : "failed",
          cancelled ? null : `route ${route.label} not taken: the run is failing`,
        );
        continue;
      }
      const verdict = takeRoute(this.#graph, this.#state, route);
      if (verdict.kind === "exceeded") {
        await this.#finish(spec, route.attempt, "failed", verdict.reason);
        const step = this.#state.steps[route.step];
        failure = failureReason(route.step, step.attempts.at(-1), verdict.reason);
        continue;
      }
      const attempt = this.#state.steps[route.step].attempts.at(-1)!;
      const feedback = await routeFeedback(this.#store, this.#runId, route, attempt);
      crashPoint("route_taking");
      await this.#record({ ...verdict.event, feedback });
      this.#settle(route.step, route.attempt);
      crashPoint("route_taken");
      reset.push(...verdict.event.reset);
    }
    return { reset, failure };
  }

  async #finish(
    step: StepSpec,
    attempt: number,
    outcome: StepOutcome,
    reason: string | null = null,
  ): Promise<StepOutcome> {
    const gates = this.#state.steps[step.id].attempts.find((a) => a.attempt === attempt)?.gates ??
      {};
    const warnings = optionalGateWarnings(gates);
    const held = this.#heldEnds.get(step.id);
    this.#heldEnds.delete(step.id);
    await Promise.all([
      held && this.#record(held),
      this.#record({
        type: "step_finished",
        step: step.id,
        attempt,
        status: outcome,
        warnings,
        ...(reason === null ? {} : { reason }),
      }),
    ]);
    this.#settle(step.id, attempt);
    if (outcome === "succeeded") await this.#cache.remember(this.#state, step, attempt);
    return outcome;
  }

  async #attempt(
    step: StepSpec,
    attemptNo: number,
    cause: AttemptCause,
  ): Promise<"succeeded" | "waiting" | "cancelled" | "failed" | "timeout"> {
    const runId = this.#runId;
    const inputIds: Record<string, string> = {};
    for (const [name, source] of Object.entries(step.inputs)) {
      const id = resolveInputSource(source, this.#state);
      if (id !== undefined) inputIds[name] = id;
    }
    const feedback = this.#state.steps[step.id].feedback;
    if (feedback !== null) inputIds[FEEDBACK_INPUT] = feedback;
    const inputs = await inputRecords(this.#store, inputIds);
    const confinement = this.#confinement({ kind: "step", spec: step });
    const cached = await this.#cache.lookup(this.#state, {
      step,
      attempt: attemptNo,
      cause,
      inputs,
      confinement,
    });
    const started = this.#clock.monotonicMs();
    const supersedes = this.#state.steps[step.id].supersedes;
    if (cached?.kind === "use_cached") {
      return await this.#reuse(step, attemptNo, { inputs, started, supersedes, ...cached });
    }
    await this.#record({
      type: "attempt_started",
      step: step.id,
      attempt: attemptNo,
      monotonic_ms: Math.max(0, started),
      cause,
      inputs,
      ...(supersedes === null ? {} : { supersedes }),
    });
    const subject: AccessSubject = { step: step.id, attempt: attemptNo };
    if (Object.keys(inputs).length > 0) this.#access.record(subject, { type: "inputs", inputs });
    crashPoint("attempt_started");
    await this.#checkCancel();
    const label = attemptLabel(step.id, attemptNo);
    const capabilities = this.#graph.kinds.get(step.executor.kind)?.capabilities;
    const dirs = await prepareAttemptDirs(this.#store.runs.scratch(runId), label, {
      processes: !(capabilities?.inProcess ?? false),
      inputs: Object.keys(step.inputs).length > 0 || this.#state.steps[step.id].feedback !== null,
      outputs: Object.keys(step.outputs).length > 0,
    });
    const producer = { id: step.id, kind: capabilities?.producerKind ?? "tool" };
    let result: ExecutionResult;
    let spawned: Promise<void> | undefined;
    let outputs: Record<string, string> = {};
    let violations: string[] = [];
    let exchanges: LlmExchangeIds[] = [];
    let env: Readonly<Record<string, string>> | undefined;
    try {
      const ctx = await buildAttemptContext(this.#store, {
        runId,
        subjectId: step.id,
        attempt: attemptNo,
        dirs,
        inputIds,
        cwd: step.executor.cwd,
        outputs: step.outputs,
        kernelEnv: this.#kernelEnv,
        envPass: step.envPass,
        envSet: step.env,
        lily: { LILY_STEP_ID: step.id },
        timeoutMs: step.timeoutMs,
        signal: this.#controller.signal,
        confinement,
        onAccess: (report) =>
          this.#access.record(subject, this.#redactor.value(accessEntryOf(report))),
        redactor: this.#redactor,
        llm: this.#options.executors.llm as ExecutionContext["llm"],
      });
      env = ctx.env;
      const executor = executorFor(this.#options.executors, step.executor);
      // The child already runs; its record is made durable while it does,
      // and before the attempt's end is recorded.
      result = await executor.execute(step.executor, ctx, (pid) => {
        spawned = processStartTicks(pid).then((ticks) =>
          this.#record({
            type: "attempt_spawned",
            step: step.id,
            attempt: attemptNo,
            pid,
            start_ticks: ticks ?? null,
          })
        );
        // Awaited below (or surfaced by the attempt's end record if execute throws).
        spawned.catch(() => {});
      });
      await spawned;
      if (Object.keys(step.outputs).length > 0) {
        const outputs = await stagedOutputs(dirs.outputDir, step.outputs);
        await this.#access.append(subject, { type: "staged", outputs });
      }
      if (result.exchanges?.length) {
        exchanges = await recordExchanges(this.#store, result.exchanges, {
          runId,
          stepId: step.id,
          attempt: attemptNo,
          inputs: Object.values(inputIds),
        });
      }
      if (result.violations?.length) {
        violations = await recordViolations(this.#store, result.violations, {
          runId,
          stepId: step.id,
          attempt: attemptNo,
          clock: this.#clock,
          redactor: this.#redactor,
        });
        result = {
          ...result,
          status: "failed",
          message: `${result.message ?? "Policy violation"} (policy_violation.v1 ${
            violations.join(", ")
          })`,
        };
      }
      if (result.status === "succeeded") crashPoint("outputs_committing");
      // Uncommitted outputs are unfinished work: a cancel now is a cancel of the attempt.
      if (result.status === "succeeded" && (await this.#checkCancel())) {
        result = {
          ...result,
          status: "cancelled",
          message: "Cancelled before its outputs were committed",
        };
      }
      if (result.status === "succeeded") {
        const committed = await commitOutputs(this.#store, {
          runId,
          stepId: step.id,
          outputs: step.outputs,
          outputDir: dirs.outputDir,
          producer,
          inputs: Object.values(inputIds),
          validate: this.#options.validate,
        });
        outputs = Object.fromEntries(Object.entries(committed).map(([k, r]) => [k, r.artifact_id]));
        this.#access.record(subject, committedEntry(committed));
      }
    } catch (err) {
      if (isUnwritableDisk(err)) throw err;
      result = {
        status: "failed",
        exitCode: err instanceof OutputError ? 0 : null,
        message: describeError(err),
        summary: { executor: step.executor.kind },
      };
    }
    let logs: Record<string, string> = {};
    try {
      logs = await storeLogs(this.#store, {
        runId,
        label,
        dirs,
        producer,
        redactor: this.#redactor,
      });
    } catch (err) {
      if (isUnwritableDisk(err)) throw err;
      result = {
        ...result,
        status: "failed",
        message: `${result.message ? `${result.message}; ` : ""}${describeError(err)}`,
      };
    }
    // What the attempt read, was allowed and committed is on disk before its end is.
    await this.#access.settle();
    const end: RunEventBody = {
      type: "attempt_finished",
      step: step.id,
      attempt: attemptNo,
      status: result.status,
      exit_code: result.exitCode,
      message: result.message ?? null,
      duration_ms: elapsedMs(this.#clock, started),
      outputs,
      logs,
      executor: { ...result.summary, ...(env ? { env } : {}) },
      ...(result.usage ? { usage: result.usage } : {}),
      ...(violations.length > 0 ? { violations } : {}),
      ...(exchanges.length > 0 ? { exchanges } : {}),
    };
    // Staging of an ended attempt is not kept: what a step left there never reaches the store.
    this.#cleanups.push(removeAttemptDirs(dirs));
    if (result.status !== "succeeded") {
      await this.#record(end);
      return result.status;
    }
    if (!this.#graph.gatesOf.has(step.id)) {
      // Written and fsynced together with the step_finished that follows.
      this.#heldEnds.set(step.id, end);
      return "succeeded";
    }
    await this.#record(end);
    crashPoint("gates_starting");
    await this.#checkCancel();
    return await this.#gate(step, this.#state.steps[step.id].attempts.at(-1)!);
  }

  /**
   * A cache hit: the attempt reuses an earlier attempt's outputs (the same
   * artifact ids) and runs no process; its gates still judge them.
   */
  async #reuse(
    step: StepSpec,
    attemptNo: number,
    hit: {
      readonly inputs: Readonly<Record<string, InputRecord>>;
      readonly started: number;
      readonly supersedes: number | null;
      readonly from: CachedFrom;
      readonly outputs: Readonly<Record<string, string>>;
    },
  ): Promise<"succeeded" | "waiting" | "failed" | "cancelled"> {
    await this.#record({
      type: "attempt_started",
      step: step.id,
      attempt: attemptNo,
      monotonic_ms: Math.max(0, hit.started),
      cause: "cached",
      inputs: hit.inputs,
      ...(hit.supersedes === null ? {} : { supersedes: hit.supersedes }),
      cached_from: hit.from,
    });
    crashPoint("attempt_started");
    if (Object.keys(hit.inputs).length > 0) {
      this.#access.record({ step: step.id, attempt: attemptNo }, {
        type: "inputs",
        inputs: hit.inputs,
      });
    }
    await this.#access.settle();
    const end: RunEventBody = {
      type: "attempt_finished",
      step: step.id,
      attempt: attemptNo,
      status: "succeeded",
      exit_code: null,
      message: null,
      duration_ms: elapsedMs(this.#clock, hit.started),
      outputs: { ...hit.outputs },
      logs: {},
      executor: { executor: step.executor.kind },
    };
    if (!this.#graph.gatesOf.has(step.id)) {
      this.#heldEnds.set(step.id, end);
      return "succeeded";
    }
    await this.#record(end);
    crashPoint("gates_starting");
    await this.#checkCancel();
    return await this.#gate(step, this.#state.steps[step.id].attempts.at(-1)!);
  }

  async #gate(
    step: StepSpec,
    attempt: AttemptState,
  ): Promise<"succeeded" | "waiting" | "failed" | "cancelled"> {
    const gates = this.#graph.gatesOf.get(step.id) ?? [];
    if (gates.length === 0) return "succeeded";
    if (!this.#options.gates) {
      throw new LilyError(`Step ${step.id} has gates but the runner was given no gate evaluator`);
    }
    const { waitingOn } = await this.#options.gates.evaluate({
      runId: this.#runId,
      step,
      attempt: attempt.attempt,
      gates,
      kinds: this.#graph.kinds,
      outputs: attempt.outputs,
      resolveInput: (source) =>
        source.from === "step_output" && source.step === step.id
          ? attempt.outputs[source.output]
          : resolveInputSource(source, this.#state),
      decided: decidedGates(attempt.gates),
      signal: this.#controller.signal,
      confinementOf: (gate) => this.#confinement({ kind: "gate", spec: gate }),
      onAccess: (gateId, report) =>
        this.#access.record(
          { step: step.id, attempt: attempt.attempt, gate: gateId },
          this.#redactor.value(accessEntryOf(report)),
        ),
      redactor: this.#redactor,
      onSpawn: async (gateId, pid) => {
        await this.#record({
          type: "gate_spawned",
          step: step.id,
          attempt: attempt.attempt,
          gate_id: gateId,
          pid,
          start_ticks: (await processStartTicks(pid)) ?? null,
        });
      },
      record: async (gate, inputs) => {
        if (inputs && Object.keys(inputs).length > 0) {
          const subject = { step: step.id, attempt: attempt.attempt, gate: gate.gate_id };
          this.#access.record(subject, { type: "inputs", inputs });
        }
        await this.#access.settle();
        await this.#record({
          type: "gate_finished",
          step: step.id,
          attempt: attempt.attempt,
          gate,
          ...(inputs ? { inputs } : {}),
        });
      },
    });
    const verdict = gatesVerdict(gates, attempt.gates, {
      waitingOn,
      cancelled: this.#controller.signal.aborted,
    });
    if (verdict !== "waiting") return verdict;
    const gate = gates.find((g) => g.id === waitingOn);
    // A runner that waits for a person may carry what the person is asked.
    const prompt = (gate?.runner as { readonly prompt?: unknown } | undefined)?.prompt;
    await this.#record({
      type: "gate_waiting",
      step: step.id,
      attempt: attempt.attempt,
      gate_id: waitingOn!,
      required: gate?.required ?? true,
      ...(typeof prompt === "string" ? { prompt } : {}),
    });
    return "waiting";
  }
}
