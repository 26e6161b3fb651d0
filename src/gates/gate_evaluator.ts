/**
 * Layer 3: gates. A step's attempt counts as succeeded only when its
 * required gates pass. Automated gates run first, in declaration order, with
 * the workspace read-only (their policy's `write` opens it); once a required
 * gate fails the rest are recorded as skipped; then gates whose kind waits
 * for a person (`human`) pause the run until someone decides.
 * Every gate run leaves a `gate_result.v1` artifact. A gate stopped by a
 * cancel is recorded `cancelled` and the gates after it are left undecided,
 * as a crash would leave them, so a resume runs exactly those again.
 * Durations are measured on the injected clock's monotonic reading.
 *
 * @module
 */

import { type Clock, elapsedMs, systemClock } from "../core/clock.ts";
import { LilyError } from "../core/errors.ts";
import { isUnwritableDisk } from "../core/storage_error.ts";
import type { Store } from "../store/store.ts";
import type { ExecutorSpec, GateSpec } from "../graph/workflow.ts";
import {
  inputRecords,
  prepareAttemptDirs,
  removeAttemptDirs,
  storeLogs,
} from "../runtime/attempt_workspace.ts";
import { buildAttemptContext } from "../runtime/attempt_context.ts";
import type { AccessReport, ExecutionResult } from "../runtime/executors/executor.ts";
import { gateLabel } from "../runtime/log_names.ts";
import { recordViolations } from "../runtime/violation_records.ts";
import type { GateStatus, InputRecord } from "../runtime/run_events.ts";
import { executorFor, type ExecutorRegistry } from "../runtime/executors/executor_registry.ts";
import type { GateEvaluator, GateRequest } from "../runtime/run_loop.ts";

/** The artifact type of gate results. */
export const GATE_RESULT_TYPE = "gate_result.v1";

/** A gate_result.v1 payload as this kernel writes it. */
export interface GateResultPayload {
  /** The gate. */
  readonly gate_id: string;
  /** The step it judged. */
  readonly step_id: string;
  /** The attempt of the step it judged. */
  readonly attempt: number;
  /** The verdict. */
  readonly status: GateStatus;
  /** Whether the step needs this gate to pass. */
  readonly required: boolean;
  /** Why, in words. */
  readonly reasons: readonly string[];
  /** The runner's exit code, or null. */
  readonly exit_code: number | null;
  /** How long the gate ran. */
  readonly duration_ms: number;
  /** The captured stdout artifact. */
  readonly stdout_artifact_id: string | null;
  /** The captured stderr artifact. */
  readonly stderr_artifact_id: string | null;
  /** How the gate ran (`command`, `deno`, `fn`, `human`). */
  readonly runner: string;
  /** Who decided, for human gates. */
  readonly decided_by?: string;
  /** The `policy_violation.v1` artifacts the gate caused. */
  readonly violations?: readonly string[];
  /** `gates_only` for a dry run of the gates (`lily run rerun --gates-only`). */
  readonly evaluation?: "gates_only";
}

/** Options of {@linkcode createGateEvaluator}. */
export interface GateEvaluatorOptions {
  /** Executors by kind (the same as the steps'). */
  readonly executors: ExecutorRegistry;
  /** The kernel's environment, from which gates get their subset. */
  readonly kernelEnv: Readonly<Record<string, string>>;
  /**
   * The clock whose monotonic reading times the gates.
   * @default {systemClock}
   */
  readonly clock?: Clock;
}

function verdict(result: ExecutionResult, gate: GateSpec): { status: GateStatus; reason: string } {
  switch (result.status) {
    case "succeeded":
      return { status: "pass", reason: "passed" };
    case "failed":
      return result.exitCode === null
        ? { status: "error", reason: result.message ?? "the gate could not run" }
        : { status: "fail", reason: result.message ?? `exited with code ${result.exitCode}` };
    case "timeout":
      return { status: "error", reason: `timed out after ${gate.timeoutMs} ms` };
    case "cancelled":
      return { status: "cancelled", reason: "the run was cancelled while the gate ran" };
  }
}

/**
 * Creates the gate evaluator the run loop calls after each successful attempt.
 *
 * @param store The open store.
 * @param options Executors and environment.
 * @returns The evaluator.
 */
export function createGateEvaluator(store: Store, options: GateEvaluatorOptions): GateEvaluator {
  const kernelEnv = options.kernelEnv;
  const clock = options.clock ?? systemClock;
  const capabilities = (request: GateRequest, kind: string) =>
    request.kinds.get(kind)?.capabilities;

  async function recordResult(
    request: GateRequest,
    payload: GateResultPayload,
    inputs?: Readonly<Record<string, InputRecord>>,
  ): Promise<void> {
    const dryRun = request.evaluation?.kind;
    const ref = await store.artifacts.putJson(
      request.runId,
      dryRun ? { ...payload, evaluation: dryRun } : payload,
      {
        type: GATE_RESULT_TYPE,
        name: `${payload.gate_id}.${payload.step_id}.${payload.attempt}${
          dryRun ? `.${request.evaluation!.label}` : ""
        }`,
        producer: {
          id: `gate:${payload.gate_id}`,
          kind: capabilities(request, payload.runner)?.producerKind ?? "tool",
        },
        inputs: Object.values(request.outputs),
      },
    );
    await request.record({
      gate_id: payload.gate_id,
      status: payload.status,
      required: payload.required,
      result_id: ref.artifact_id,
    }, inputs);
  }

  async function runAutomated(
    request: GateRequest,
    gate: GateSpec,
  ): Promise<{ payload: GateResultPayload; inputs: Record<string, InputRecord> }> {
    const label = `${request.evaluation ? `${request.evaluation.label}.` : ""}${
      gateLabel(gate.id, request.step.id, request.attempt)
    }`;
    const dirs = await prepareAttemptDirs(store.runs.scratch(request.runId), label);
    const started = clock.monotonicMs();
    const runner: ExecutorSpec = gate.runner;
    const inputIds: Record<string, string> = Object.keys(gate.inputs).length > 0
      ? Object.fromEntries(
        Object.entries(gate.inputs).flatMap(([name, source]) => {
          const id = request.resolveInput(source);
          return id === undefined ? [] : [[name, id]];
        }),
      )
      : { ...request.outputs };
    const records = await inputRecords(store, inputIds);
    let result: ExecutionResult;
    let violations: string[] = [];
    try {
      const ctx = await buildAttemptContext(store, {
        runId: request.runId,
        subjectId: gate.id,
        attempt: request.attempt,
        dirs,
        inputIds,
        cwd: runner.cwd,
        outputs: {},
        kernelEnv,
        envPass: [],
        envSet: gate.env,
        lily: { LILY_GATE_ID: gate.id, LILY_STEP_ID: request.step.id },
        timeoutMs: gate.timeoutMs,
        signal: request.signal,
        confinement: request.confinementOf(gate),
        ...(request.onAccess
          ? { onAccess: (report: AccessReport) => request.onAccess!(gate.id, report) }
          : {}),
        redactor: request.redactor,
      });
      result = await executorFor(options.executors, runner).execute(
        runner,
        ctx,
        (pid) => request.onSpawn(gate.id, pid),
      );
      // A gates-only evaluation appends gate results and nothing else: its
      // violations are named in the result's reason, its output stays in the
      // run's live log files (`lily logs`).
      if (result.violations?.length && !request.evaluation) {
        violations = await recordViolations(store, result.violations, {
          runId: request.runId,
          stepId: request.step.id,
          gateId: gate.id,
          attempt: request.attempt,
          clock,
          redactor: request.redactor,
        });
      }
    } catch (err) {
      if (!(err instanceof LilyError) || isUnwritableDisk(err)) throw err;
      result = { status: "failed", exitCode: null, message: err.message, summary: {} };
    }
    const logs = request.evaluation ? {} : await storeLogs(store, {
      runId: request.runId,
      label,
      dirs,
      producer: { id: `gate:${gate.id}`, kind: "tool" },
      redactor: request.redactor,
    });
    await removeAttemptDirs(dirs);
    const { status, reason } = verdict(result, gate);
    const payload: GateResultPayload = {
      ...(violations.length > 0 ? { violations } : {}),
      gate_id: gate.id,
      step_id: request.step.id,
      attempt: request.attempt,
      status,
      required: gate.required,
      reasons: [request.redactor ? request.redactor.text(reason) : reason],
      exit_code: result.exitCode,
      duration_ms: elapsedMs(clock, started),
      stdout_artifact_id: logs.stdout ?? null,
      stderr_artifact_id: logs.stderr ?? null,
      runner: runner.kind,
    };
    return { payload, inputs: records };
  }

  return {
    async evaluate(request) {
      const waitsForPerson = (gate: GateSpec) =>
        capabilities(request, gate.runner.kind)?.waitsForPerson ?? false;
      const automated = request.gates.filter((g) => !waitsForPerson(g));
      const human = request.gates.filter(waitsForPerson);
      let blocker: string | null = null;
      for (const gate of [...automated, ...human]) {
        if (request.decided[gate.id]) {
          const decided = request.decided[gate.id];
          if (decided.required && decided.status !== "pass") blocker ??= gate.id;
          continue;
        }
        // Left undecided, as a crash would leave it: a resume runs it.
        if (request.signal.aborted) return { waitingOn: null };
        if (blocker !== null) {
          await recordResult(request, {
            gate_id: gate.id,
            step_id: request.step.id,
            attempt: request.attempt,
            status: "skipped",
            required: gate.required,
            reasons: [`required gate ${blocker} did not pass`],
            exit_code: null,
            duration_ms: 0,
            stdout_artifact_id: null,
            stderr_artifact_id: null,
            runner: gate.runner.kind,
          });
          continue;
        }
        if (waitsForPerson(gate)) return { waitingOn: gate.id };
        const { payload, inputs } = await runAutomated(request, gate);
        await recordResult(request, payload, inputs);
        if (gate.required && payload.status !== "pass") blocker = gate.id;
      }
      return { waitingOn: null };
    },
  };
}
