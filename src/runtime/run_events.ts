/**
 * Run events and run state. A run's state is the fold of its append-only
 * event log; applying one event costs O(1), whatever the graph's size.
 *
 * @module
 */

import { IntegrityError } from "../core/errors.ts";
import type { AttemptCauseV1 } from "../contracts/kernel_schemas.ts";
import type { Durability } from "./durability.ts";
import type { LlmUsage } from "./executors/executor.ts";

/** How one attempt ended (`interrupted`: its runner died while it ran). */
export type AttemptStatus = "succeeded" | "failed" | "timeout" | "cancelled" | "interrupted";

/** Where a step is. */
export type StepStatus = "pending" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";

/**
 * How a gate run ended (`cancelled`: the run was cancelled while it ran; a
 * resume runs it again).
 */
export type GateStatus = "pass" | "fail" | "error" | "skipped" | "cancelled";

/**
 * Why an attempt started: the step's first, a retry after a failure, a
 * runner picking the step up again (after a crash, a cancel, or a failed
 * run's resume), a route (`on_fail`) that reset the step, a rerun
 * (`lily run rerun --from`) or a replaced input (`lily artifact replace`)
 * that reset it; `cached`: the step cache held a result for the same key,
 * reused without running anything.
 */
export type AttemptCause = AttemptCauseV1;

/** What a person's replay request reset a step for: a rerun or a replaced artifact. */
export type ResetCause = "rerun" | "replace";

/** The earlier attempt whose outputs a cached attempt reused. */
export interface CachedFrom {
  /** Its run. */
  readonly run: string;
  /** Its step. */
  readonly step: string;
  /** Its attempt number. */
  readonly attempt: number;
}

/** The final or paused status of a run. */
export type RunEndStatus = "succeeded" | "failed" | "cancelled" | "waiting";

/** One gate's outcome for one attempt. */
export interface GateRecord {
  /** The gate. */
  readonly gate_id: string;
  /** How it ended. */
  readonly status: GateStatus;
  /** Whether it was required. */
  readonly required: boolean;
  /** The `gate_result.v1` artifact. */
  readonly result_id: string;
}

/** One input of an attempt (a step's or a gate's) as its start recorded it. */
export interface InputRecord {
  /** The artifact the input comes from. */
  readonly artifact_id: string;
  /** The artifact's sha256 as indexed; null when the index has no such artifact (the attempt then fails). */
  readonly sha256: string | null;
}

/** Everything a run's log can say. Each event has `seq` and `at` as well. */
export type RunEventBody =
  | {
    readonly type: "run_started";
    readonly workflow_name: string;
    readonly workflow_ref: string;
    readonly workflow_sha256: string;
    readonly inputs: Readonly<Record<string, string>>;
    readonly step_ids: readonly string[];
    /** `none` when started with `--no-sandbox` (absent in older journals: `bubblewrap`). */
    readonly sandbox?: "bubblewrap" | "none";
    /** The workflow file, relative to the workspace, when it lies inside it (kept read-only). */
    readonly workflow_path?: string;
    /** The durability the run was started with (absent in older journals: `fsync`). */
    readonly durability?: Durability;
    /** The run's `environment_snapshot.v1` artifact (absent in older journals). */
    readonly environment_snapshot?: string;
    /** `true` when started with `--no-cache`: no step looks its result up in the step cache. */
    readonly no_cache?: boolean;
  }
  | {
    readonly type: "runner_started";
    readonly pid: number;
    readonly resumed: boolean;
    /** The durability this runner journals with (absent in older journals: `fsync`). */
    readonly durability?: Durability;
  }
  | {
    readonly type: "attempt_started";
    readonly step: string;
    readonly attempt: number;
    /** The runner clock's monotonic reading at the start, in ms (absent in older journals). */
    readonly monotonic_ms?: number;
    /** Why it started (absent in older journals). */
    readonly cause?: AttemptCause;
    /** The step's inputs by name (absent in older journals). */
    readonly inputs?: Readonly<Record<string, InputRecord>>;
    /**
     * The attempt of the same step whose result this one supersedes: the
     * step's last attempt when a rerun or a replacement reset it (absent
     * otherwise).
     */
    readonly supersedes?: number;
    /** With cause `cached`: the attempt whose outputs it reuses. */
    readonly cached_from?: CachedFrom;
  }
  | {
    readonly type: "attempt_spawned";
    readonly step: string;
    readonly attempt: number;
    readonly pid: number;
    readonly start_ticks: number | null;
  }
  | {
    readonly type: "attempt_finished";
    readonly step: string;
    readonly attempt: number;
    readonly status: AttemptStatus;
    readonly exit_code: number | null;
    readonly message: string | null;
    readonly duration_ms: number;
    readonly outputs: Readonly<Record<string, string>>;
    readonly logs: Readonly<Record<string, string>>;
    readonly executor: Readonly<Record<string, unknown>>;
    readonly usage?: LlmUsage;
    /** The `policy_violation.v1` artifacts the attempt caused. */
    readonly violations?: readonly string[];
    /** The `llm_request.v1` / `llm_reply.v1` artifacts of an `llm` attempt, in the order sent. */
    readonly exchanges?: readonly LlmExchangeIds[];
  }
  | {
    /** The attempt is settled (ended, its gates decided) and its `step_run_record.v1` is stored. */
    readonly type: "attempt_recorded";
    readonly step: string;
    readonly attempt: number;
    /** The `step_run_record.v1` artifact. */
    readonly record: string;
  }
  | {
    readonly type: "gate_spawned";
    readonly step: string;
    readonly attempt: number;
    readonly gate_id: string;
    readonly pid: number;
    readonly start_ticks: number | null;
  }
  | {
    readonly type: "gate_finished";
    readonly step: string;
    readonly attempt: number;
    readonly gate: GateRecord;
    /** The inputs the gate ran with, by name (absent for a gate that did not run, and in older journals). */
    readonly inputs?: Readonly<Record<string, InputRecord>>;
  }
  | {
    readonly type: "gate_waiting";
    readonly step: string;
    readonly attempt: number;
    readonly gate_id: string;
    readonly required: boolean;
    /** What the person is asked (journals written before it was recorded lack it). */
    readonly prompt?: string;
  }
  | {
    /** A failed attempt will be retried: the decision, before the wait. */
    readonly type: "retry_scheduled";
    readonly step: string;
    /** The attempt that failed. */
    readonly attempt: number;
    /** The wait before the next attempt, in ms (after jitter). */
    readonly delay_ms: number;
    /** Why it is retried and how the wait was computed. */
    readonly reason: string;
  }
  | {
    /**
     * A route (`on_fail`) was taken: `goto` and the steps downstream of it
     * (`reset`) run again, `goto` with the input `feedback`.
     */
    readonly type: "route_taken";
    /** The route: `steps.<id>.on_fail` or `gates.<id>.on_fail`. */
    readonly route: string;
    /** The step that failed. */
    readonly step: string;
    /** Its attempt that failed. */
    readonly attempt: number;
    /** The step run again. */
    readonly goto: string;
    /** How often this route has been taken in the run, this time included. */
    readonly count: number;
    /** The route's bound. */
    readonly max: number;
    /** How many routes the run has taken, this one included. */
    readonly transitions: number;
    /** The run's bound on routes. */
    readonly max_transitions: number;
    /** The failing record handed to `goto`: a `gate_result.v1` or `step_failure.v1` artifact. */
    readonly feedback: string;
    /** The steps reset: `goto` and everything downstream of it, in declaration order. */
    readonly reset: readonly string[];
  }
  | {
    /**
     * A person asked to run a step and everything downstream of it again
     * (`lily run rerun --from`): the steps in `reset` become pending, their
     * outputs cleared (the artifacts stay in the store); upstream outputs
     * are reused.
     */
    readonly type: "rerun_requested";
    /** The step the rerun starts from. */
    readonly from: string;
    /** The steps reset: `from` and everything downstream of it, in declaration order. */
    readonly reset: readonly string[];
    /** The routes whose counters start again (those of the reset steps and their gates). */
    readonly routes_reset: readonly string[];
    /** Who asked. */
    readonly by: string;
  }
  | {
    /**
     * An artifact of the run was replaced (`lily artifact replace`): every
     * reference the run's steps resolve to `original` now resolves to
     * `replacement`, and the steps that read it (and everything downstream)
     * are reset. Both artifacts stay in the store.
     */
    readonly type: "artifact_replaced";
    /** The artifact replaced. */
    readonly original: string;
    /** The artifact that takes its place. */
    readonly replacement: string;
    /** The `artifact_replacement.v1` artifact recording why, who and when. */
    readonly record: string;
    /** The steps reset: those that read `original` and everything downstream, in declaration order. */
    readonly reset: readonly string[];
    /** The routes whose counters start again (those of the reset steps and their gates). */
    readonly routes_reset: readonly string[];
    /** Who replaced it. */
    readonly by: string;
  }
  | {
    readonly type: "step_finished";
    readonly step: string;
    readonly attempt: number;
    readonly status: "succeeded" | "failed" | "waiting" | "cancelled";
    readonly warnings: readonly string[];
    /** Why the step failed, when a rule of the decider (not only the attempt) says why. */
    readonly reason?: string;
  }
  | {
    readonly type: "run_finished";
    readonly status: RunEndStatus;
    readonly reason: string | null;
  };

/** A run event as stored: its body plus sequence number and time. */
export type RunEvent = RunEventBody & { readonly seq: number; readonly at: string };

/** One attempt, as the state shows it. */
export interface AttemptState {
  /** Attempt number, from 1. */
  attempt: number;
  /** Why it started (`null` in journals older than causes). */
  cause: AttemptCause | null;
  /** How it ended, or `running`. */
  status: AttemptStatus | "running";
  /** When it started (wall clock). */
  started_at: string;
  /** The monotonic clock's reading at its start, when recorded; durations are measured from it. */
  started_monotonic_ms: number | null;
  /** Its inputs by name, as its start recorded them (empty in older journals). */
  inputs: Record<string, InputRecord>;
  /** Its `step_run_record.v1` artifact, once it is settled and recorded. */
  record: string | null;
  /** When it ended. */
  ended_at: string | null;
  /** How long it took, in ms, on the monotonic clock. */
  duration_ms: number | null;
  /** Exit code of its process. */
  exit_code: number | null;
  /** Why it failed. */
  message: string | null;
  /** Child process id and start time, while it may be alive. */
  pid: number | null;
  /** Kernel ticks of the child's start (guards against pid reuse). */
  start_ticks: number | null;
  /** Output artifact ids by name. */
  outputs: Record<string, string>;
  /** stdout/stderr artifact ids. */
  logs: Record<string, string>;
  /** Gate outcomes by gate id. */
  gates: Record<string, GateRecord>;
  /** Child processes of gates, by gate id, while they may be alive. */
  gate_pids: Record<string, { pid: number; start_ticks: number | null }>;
  /** The gate it waits on, when it waits for a person. */
  waiting_on: string | null;
  /** What was run. */
  executor: Record<string, unknown>;
  /** Token usage of an `llm` attempt. */
  usage?: LlmUsage;
  /** The decision to retry after it failed: the wait and why. */
  retry?: { delay_ms: number; reason: string };
  /** The `policy_violation.v1` artifacts the attempt caused. */
  violations?: string[];
  /** The attempt of the same step it supersedes (after a rerun or a replacement). */
  supersedes?: number;
  /** The `llm_request.v1` / `llm_reply.v1` artifacts of an `llm` attempt, in the order sent. */
  exchanges?: LlmExchangeIds[];
  /** With cause `cached`: the attempt whose outputs it reused. */
  cached_from?: CachedFrom;
}

/** One request an `llm` attempt sent and its reply, as artifact ids. */
export interface LlmExchangeIds {
  /** The `llm_request.v1` artifact. */
  readonly request: string;
  /** The `llm_reply.v1` artifact; null when nothing came back before the attempt ended. */
  readonly reply: string | null;
}

/** One step, as the state shows it. */
export interface StepState {
  /** Where it is. */
  status: StepStatus;
  /** Every attempt, oldest first. */
  attempts: AttemptState[];
  /** The outputs of its succeeded attempt. */
  outputs: Record<string, string>;
  /** Optional gate failures of its last attempt. */
  warnings: string[];
  /** The failing record a route handed it, as its input `feedback` (`null`: none). */
  feedback: string | null;
  /**
   * The first attempt its retry budget counts (a route's reset and a failed
   * finish start a new budget; a crash or a cancel does not).
   */
  retry_from: number;
  /** Whether a route reset it and no attempt has started since. */
  routed: boolean;
  /** Why it failed, when the decider said more than its last attempt. */
  reason: string | null;
  /** Whether a rerun or a replacement reset it and no attempt has started since. */
  reset_cause: ResetCause | null;
  /**
   * The attempt its new attempts supersede (its last attempt when a rerun or
   * a replacement reset it), until one of them succeeds.
   */
  supersedes: number | null;
}

/** The run state: what `run_state.json` holds. */
export interface RunState {
  /** The run. */
  run_id: string;
  /** Running, or how it ended or paused. */
  status: "created" | "running" | RunEndStatus;
  /** Why it failed, when it did. */
  reason: string | null;
  /** The workflow's name. */
  workflow_name: string | null;
  /** The stored workflow artifact. */
  workflow_ref: string | null;
  /** Hash of the workflow definition. */
  workflow_sha256: string | null;
  /** Run input artifact ids by name. */
  inputs: Record<string, string>;
  /** Steps by id, in declaration order. */
  steps: Record<string, StepState>;
  /** How often each route was taken, by route (`steps.<id>.on_fail`, `gates.<id>.on_fail`). */
  routing_counters: Record<string, number>;
  /** Replaced artifacts: original id → the id that takes its place (`artifact_replaced`). */
  replacements: Record<string, string>;
  /** `none` when the run was started with `--no-sandbox`. */
  sandbox: "bubblewrap" | "none";
  /** The workflow file relative to the workspace, when it lies inside it. */
  workflow_path: string | null;
  /** The run's `environment_snapshot.v1` artifact (`null` for runs started before snapshots). */
  environment_snapshot: string | null;
  /** `true` when the run was started with `--no-cache` (absent otherwise). */
  no_cache?: boolean;
  /** The last applied event's sequence number. */
  last_seq: number;
  /** When the state last changed. */
  updated_at: string | null;
}

/**
 * The state of a run with no events.
 *
 * @param runId The run.
 * @returns The empty state.
 */
export function emptyRunState(runId: string): RunState {
  return {
    run_id: runId,
    status: "created",
    reason: null,
    workflow_name: null,
    workflow_ref: null,
    workflow_sha256: null,
    inputs: {},
    steps: {},
    routing_counters: {},
    replacements: {},
    sandbox: "bubblewrap",
    workflow_path: null,
    environment_snapshot: null,
    last_seq: 0,
    updated_at: null,
  };
}

/**
 * The state of a step that has not run.
 *
 * @returns A pending step with no attempts.
 */
export function newStepState(): StepState {
  return {
    status: "pending",
    attempts: [],
    outputs: {},
    warnings: [],
    feedback: null,
    retry_from: 1,
    routed: false,
    reason: null,
    reset_cause: null,
    supersedes: null,
  };
}

/**
 * The state of an attempt that has just started.
 *
 * @param attempt The attempt number, from 1.
 * @param options Why it started, its wall-clock start (ISO 8601) and the monotonic clock's reading
 *   then, in ms (`null` when not recorded).
 * @returns A `running` attempt with nothing recorded yet.
 */
export function newAttemptState(
  attempt: number,
  options: { cause: AttemptCause | null; startedAt: string; startedMonotonicMs: number | null },
): AttemptState {
  return {
    attempt,
    cause: options.cause,
    status: "running",
    started_at: options.startedAt,
    started_monotonic_ms: options.startedMonotonicMs,
    inputs: {},
    record: null,
    ended_at: null,
    duration_ms: null,
    exit_code: null,
    message: null,
    pid: null,
    start_ticks: null,
    outputs: {},
    logs: {},
    gates: {},
    gate_pids: {},
    waiting_on: null,
    executor: {},
  };
}

function attemptOf(state: RunState, step: string, attempt: number): AttemptState | undefined {
  return state.steps[step]?.attempts.find((a) => a.attempt === attempt);
}

/**
 * Applies one event to a state, in place.
 *
 * @param state The state to change.
 * @param event The next event.
 */
export function applyEvent(state: RunState, event: RunEvent): void {
  state.last_seq = event.seq;
  state.updated_at = event.at;
  switch (event.type) {
    case "run_started":
      state.workflow_name = event.workflow_name;
      state.workflow_ref = event.workflow_ref;
      state.workflow_sha256 = event.workflow_sha256;
      state.inputs = { ...event.inputs };
      state.sandbox = event.sandbox ?? "bubblewrap";
      state.workflow_path = event.workflow_path ?? null;
      state.environment_snapshot = event.environment_snapshot ?? null;
      if (event.no_cache) state.no_cache = true;
      for (const id of event.step_ids) {
        state.steps[id] = newStepState();
      }
      state.status = "running";
      return;
    case "runner_started":
      state.status = "running";
      state.reason = null;
      return;
    case "attempt_started": {
      const step = state.steps[event.step];
      step.status = "running";
      step.routed = false;
      step.reason = null;
      step.reset_cause = null;
      const started = newAttemptState(event.attempt, {
        cause: event.cause ?? null,
        startedAt: event.at,
        startedMonotonicMs: event.monotonic_ms ?? null,
      });
      if (event.supersedes !== undefined) started.supersedes = event.supersedes;
      if (event.inputs) started.inputs = { ...event.inputs };
      if (event.cached_from) started.cached_from = { ...event.cached_from };
      step.attempts.push(started);
      return;
    }
    case "attempt_spawned": {
      const attempt = attemptOf(state, event.step, event.attempt);
      if (attempt) [attempt.pid, attempt.start_ticks] = [event.pid, event.start_ticks];
      return;
    }
    case "attempt_finished": {
      const attempt = attemptOf(state, event.step, event.attempt);
      if (!attempt) return;
      attempt.status = event.status;
      attempt.ended_at = event.at;
      attempt.duration_ms = event.duration_ms;
      attempt.exit_code = event.exit_code;
      attempt.message = event.message;
      attempt.outputs = { ...event.outputs };
      attempt.logs = { ...event.logs };
      attempt.executor = { ...event.executor };
      if (event.usage) attempt.usage = event.usage;
      if (event.violations?.length) attempt.violations = [...event.violations];
      if (event.exchanges?.length) attempt.exchanges = event.exchanges.map((x) => ({ ...x }));
      if (event.status === "interrupted") state.steps[event.step].status = "pending";
      return;
    }
    case "attempt_recorded": {
      const attempt = attemptOf(state, event.step, event.attempt);
      if (attempt) attempt.record = event.record;
      return;
    }
    case "gate_spawned": {
      const attempt = attemptOf(state, event.step, event.attempt);
      if (attempt) {
        attempt.gate_pids[event.gate_id] = { pid: event.pid, start_ticks: event.start_ticks };
      }
      return;
    }
    case "gate_finished": {
      const attempt = attemptOf(state, event.step, event.attempt);
      if (!attempt) return;
      attempt.gates[event.gate.gate_id] = event.gate;
      if (attempt.waiting_on === event.gate.gate_id) attempt.waiting_on = null;
      return;
    }
    case "gate_waiting": {
      const attempt = attemptOf(state, event.step, event.attempt);
      if (attempt) attempt.waiting_on = event.gate_id;
      state.steps[event.step].status = "waiting";
      return;
    }
    case "retry_scheduled": {
      const attempt = attemptOf(state, event.step, event.attempt);
      if (attempt) attempt.retry = { delay_ms: event.delay_ms, reason: event.reason };
      return;
    }
    case "route_taken": {
      state.routing_counters[event.route] = event.count;
      for (const id of event.reset) {
        const step = state.steps[id];
        if (!step) continue;
        step.status = "pending";
        step.outputs = {};
        step.warnings = [];
        step.reason = null;
        step.routed = true;
        step.retry_from = (step.attempts.at(-1)?.attempt ?? 0) + 1;
      }
      const target = state.steps[event.goto];
      if (target) target.feedback = event.feedback;
      return;
    }
    case "rerun_requested":
      resetSteps(state, event.reset, event.routes_reset, "rerun");
      return;
    case "artifact_replaced":
      replaceArtifact(state, event.original, event.replacement);
      resetSteps(state, event.reset, event.routes_reset, "replace");
      return;
    case "step_finished": {
      const step = state.steps[event.step];
      step.status = event.status;
      if (event.status === "succeeded") step.supersedes = null;
      step.warnings = [...event.warnings];
      step.reason = event.reason ?? null;
      // A failed step that runs again (a resume) starts a new retry budget.
      if (event.status === "failed") step.retry_from = event.attempt + 1;
      const attempt = attemptOf(state, event.step, event.attempt);
      step.outputs = event.status === "succeeded" && attempt ? { ...attempt.outputs } : {};
      return;
    }
    case "run_finished":
      state.status = event.status;
      state.reason = event.reason;
      return;
  }
}

/**
 * Resets steps for a rerun or a replacement: each becomes pending with no
 * current outputs (its attempts and their artifacts stay), its next
 * attempt has `cause` and supersedes its last one, and its retry budget
 * starts again; the named routes' counters start again; a run with a reset
 * step is running again (a resume continues it).
 */
function resetSteps(
  state: RunState,
  reset: readonly string[],
  routes: readonly string[],
  cause: ResetCause,
): void {
  for (const id of reset) {
    const step = state.steps[id];
    if (!step) continue;
    const last = step.attempts.at(-1)?.attempt ?? 0;
    step.status = "pending";
    step.outputs = {};
    step.warnings = [];
    step.reason = null;
    step.routed = false;
    step.reset_cause = cause;
    step.supersedes = last > 0 ? last : null;
    step.retry_from = last + 1;
  }
  for (const route of routes) delete state.routing_counters[route];
  if (reset.length > 0) {
    state.status = "running";
    state.reason = null;
  }
}

/**
 * Makes every reference the run resolves — a step's current outputs, a run
 * input, an earlier replacement — name `replacement` instead of `original`.
 */
function replaceArtifact(state: RunState, original: string, replacement: string): void {
  for (const [from, to] of Object.entries(state.replacements)) {
    if (to === original) state.replacements[from] = replacement;
  }
  state.replacements[original] = replacement;
  for (const step of Object.values(state.steps)) {
    for (const [name, id] of Object.entries(step.outputs)) {
      if (id === original) step.outputs[name] = replacement;
    }
  }
  for (const [name, id] of Object.entries(state.inputs)) {
    if (id === original) state.inputs[name] = replacement;
  }
}

/**
 * Folds events into a state.
 *
 * @param runId The run.
 * @param events Its events, in order.
 * @returns The state after the last event.
 * @throws {IntegrityError} When an event names a step the run does not have.
 */
export function foldEvents(runId: string, events: Iterable<RunEvent>): RunState {
  const state = emptyRunState(runId);
  for (const event of events) {
    if ("step" in event && !(event.step in state.steps)) {
      throw new IntegrityError(
        `Run ${runId}'s journal names step ${JSON.stringify(event.step)} at event ${event.seq}, ` +
          "which its run_started event does not declare",
      );
    }
    applyEvent(state, event);
  }
  return state;
}
