/**
 * Human gates: a person's decision, recorded as the gate's result. The run
 * waits (status `waiting`, no process needed) until `approveGate` records
 * the decision; `resumeRun` then continues.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { Redactor } from "../core/redaction.ts";
import type { Store } from "../store/store.ts";
import {
  type AttemptState,
  foldEvents,
  type RunEvent,
  type RunState,
} from "../runtime/run_events.ts";
import { checkRunJournal, lostJournalError } from "../runtime/run_journal_check.ts";
import { loadRunWorkflow } from "../runtime/run_starter.ts";
import { didYouMean } from "../graph/did_you_mean.ts";
import type { GateSpec } from "../graph/workflow.ts";
import { withRunSession } from "../runtime/run_session.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import { GATE_RESULT_TYPE, type GateResultPayload } from "./gate_evaluator.ts";

/** Options of {@linkcode approveGate}. */
export interface ApproveGateOptions {
  /**
   * Reject instead of approve.
   * @default {false}
   */
  readonly reject?: boolean;
  /** Why, in words. */
  readonly reason?: string;
  /**
   * Who decides.
   * @default {"human"}
   */
  readonly by?: string;
  /**
   * The clock. A person's wait may span runners and reboots, so the gate's
   * duration is the wall-clock time from `gate_waiting` to the decision,
   * never negative.
   * @default {systemClock}
   */
  readonly clock?: Clock;
  /** The run's redactor, applied to the reason (a secret a person types is stored redacted). */
  readonly redactor?: Redactor;
}

/** What a decision on a human gate recorded (`kernel.runs.approve`, `lily approve`). */
export interface GateDecision {
  /** The step whose gate was decided. */
  readonly step_id: string;
  /** The step's attempt. */
  readonly attempt: number;
  /** The stored gate_result.v1 artifact. */
  readonly result_id: string;
  /** `pass` (approved) or `fail` (rejected). */
  readonly status: "pass" | "fail";
  /** What the person was asked, when the run journaled it. */
  readonly prompt: string | null;
}

/**
 * Throws when the gate was already decided by a person in that run, saying
 * who decided what and when.
 */
async function assertUndecided(
  store: Store,
  state: RunState,
  events: RunEvent[],
  gateId: string,
): Promise<void> {
  for (const [stepId, step] of Object.entries(state.steps)) {
    const attempt = step.attempts.at(-1);
    const record = attempt?.gates[gateId];
    const wasHuman = events.some((e) =>
      e.type === "gate_waiting" && e.step === stepId && e.gate_id === gateId &&
      e.attempt === attempt?.attempt
    );
    if (record === undefined || !wasHuman) continue;
    const ref = await store.artifacts.ref(record.result_id);
    throw new UsageError(
      `Gate ${JSON.stringify(gateId)} of run ${state.run_id} was already ` +
        `${record.status === "pass" ? "approved" : "rejected"} by ${ref.producer_id} at ` +
        `${ref.created_at}; nothing to decide`,
    );
  }
}

function findWaiting(
  state: RunState,
  gateId: string,
): { stepId: string; attempt: AttemptState } | undefined {
  for (const [stepId, step] of Object.entries(state.steps)) {
    const attempt = step.attempts.at(-1);
    if (step.status === "waiting" && attempt?.waiting_on === gateId) return { stepId, attempt };
  }
  return undefined;
}

/** The workflow's gates, or `undefined` when its definition cannot be read back (a TS API run). */
async function workflowGates(
  store: Store,
  runId: string,
): Promise<readonly GateSpec[] | undefined> {
  try {
    return (await loadRunWorkflow(store, runId)).workflow.gates;
  } catch {
    return undefined;
  }
}

/**
 * Says why a gate takes no decision: the workflow has no such gate (naming
 * its human gates), it is not a human gate, or it is not waiting (naming the
 * gates that are, or saying the run only needs resuming).
 */
async function notWaiting(store: Store, state: RunState, gateId: string): Promise<UsageError> {
  const runId = state.run_id;
  const open = Object.values(state.steps).flatMap((s) => s.attempts.at(-1)?.waiting_on ?? []);
  const waiting = open.length ? `; waiting: ${open.join(", ")}` : "";
  const gates = await workflowGates(store, runId);
  const gate = gates?.find((g) => g.id === gateId);
  if (gates !== undefined && gate === undefined) {
    const human = gates.filter((g) => g.runner.kind === "human").map((g) => g.id);
    return new UsageError(
      `Run ${runId}'s workflow has no gate ${JSON.stringify(gateId)}` +
        didYouMean(gateId, gates.map((g) => g.id)) + "; " +
        (human.length ? `its human gates: ${human.join(", ")}` : "it has no human gate") + waiting,
    );
  }
  if (gate !== undefined && gate.runner.kind !== "human") {
    return new UsageError(
      `Gate ${JSON.stringify(gateId)} of run ${runId} runs a ${gate.runner.kind}, not a person; ` +
        `only a human gate takes a decision${waiting}`,
    );
  }
  const why = open.length
    ? `waiting: ${open.join(", ")}`
    : state.status === "waiting"
    ? `no gate is waiting, every decision is recorded; continue with \`lily run resume ${runId}\``
    : `no gate is waiting (the run is ${state.status})`;
  return new UsageError(
    `Gate ${JSON.stringify(gateId)} of run ${runId} is not waiting for a decision; ${why}`,
  );
}

/**
 * Records a person's decision on a gate the run waits for.
 *
 * @param store The open store.
 * @param runId The run.
 * @param gateId The gate.
 * @param options Reject, reason and who decides.
 * @returns What was recorded.
 * @throws {UsageError} When that gate is not waiting in that run.
 * @throws {ConflictError} When a runner is live on the run.
 * @throws {IntegrityError} When the run's journal is lost or damaged.
 */
export async function approveGate(
  store: Store,
  runId: string,
  gateId: string,
  options: ApproveGateOptions = {},
): Promise<GateDecision> {
  const clock = options.clock ?? systemClock;
  // Check before taking the lease, so a wrong gate id changes nothing on disk.
  const { events: before, verdict } = await checkRunJournal(store, runId);
  if (verdict.kind === "lost") throw lostJournalError(store, runId, verdict.evidence);
  const state = foldEvents(runId, before);
  await assertUndecided(store, state, before, gateId);
  if (findWaiting(state, gateId) === undefined) throw await notWaiting(store, state, gateId);
  return await withRunSession(store, runId, async ({ journal, events }) => {
    const current = foldEvents(runId, events);
    await assertUndecided(store, current, events, gateId);
    const found = findWaiting(current, gateId);
    if (found === undefined) throw await notWaiting(store, current, gateId);
    const { stepId, attempt } = found;
    const status = options.reject ? "fail" : "pass";
    const reason = options.reason ?? (options.reject ? "rejected" : "approved");
    const by = options.by ?? "human";
    const waited = events.findLast((e) =>
      e.type === "gate_waiting" && e.gate_id === gateId && e.step === stepId
    );
    const waitedSince = waited?.at;
    const required = waited?.type === "gate_waiting" ? waited.required : true;
    const payload: GateResultPayload = {
      gate_id: gateId,
      step_id: stepId,
      attempt: attempt.attempt,
      status,
      required,
      reasons: [options.redactor ? options.redactor.text(reason) : reason],
      exit_code: null,
      duration_ms: waitedSince ? Math.max(0, clock.now().getTime() - Date.parse(waitedSince)) : 0,
      stdout_artifact_id: null,
      stderr_artifact_id: null,
      runner: "human",
      decided_by: by,
    };
    const ref = await store.artifacts.putJson(runId, payload, {
      type: GATE_RESULT_TYPE,
      name: `${gateId}.${stepId}.${attempt.attempt}`,
      producer: { id: by, kind: "human" },
      inputs: Object.values(attempt.outputs),
    });
    await journal.append({
      type: "gate_finished",
      step: stepId,
      attempt: attempt.attempt,
      gate: { gate_id: gateId, status, required, result_id: ref.artifact_id },
    });
    return {
      step_id: stepId,
      attempt: attempt.attempt,
      result_id: ref.artifact_id,
      status,
      prompt: waited?.type === "gate_waiting" ? waited.prompt ?? null : null,
    };
  }, { clock });
}
