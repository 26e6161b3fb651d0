/**
 * Simulation (`lily run replay --simulate`): a recorded run's events are fed
 * to the decider, with a workflow (the run's own, or an edited one), and each
 * decision the record shows — which step starts and why, a retry and its
 * wait, a route and its bounds, a step's gate verdict, the run's end — is
 * compared with what the decider says at that point. What the steps and
 * gates did is served from the record (their outputs, LLM replies, exit
 * codes, gate verdicts): no process runs, nothing is read but the journal,
 * so the walk is a pure function tested without a disk. Temporal's replay
 * works the same way: feed recorded history to the workflow code and diff
 * the commands.
 *
 * What cannot be served honestly is said, not guessed: a step whose work
 * changed (executor, inputs, outputs, environment, policy, time limit), a
 * gate whose runner, inputs, environment, policy or time limit changed, a
 * new gate, or a gate the record skipped that would now run, are each a
 * divergence "cannot be simulated". A gate whose `required` or `on_fail`
 * alone changed is served (its recorded verdict) and re-judged by the
 * decider. The first divergence ends the exact simulation (after it the run
 * would leave the recorded path); later divergences are judged as if the
 * recorded decisions had been taken.
 *
 * @module
 */

import { gateWorkChanges, retypedOutputs, stepWorkChanges } from "../graph/spec_changes.ts";
import { runEnd } from "./run_decider.ts";
import { cacheLookup } from "./cache_decider.ts";
import { applyEvent, type AttemptCause, type RunEndStatus, type RunEvent } from "./run_events.ts";
import {
  afterAttempt,
  blockedBefore,
  type DecisionKind,
  type Divergence,
  routeKey,
  simulatedStart,
  type SimulationWorkflows,
  Walk,
} from "./simulation_walk.ts";

export type { DecisionKind, Divergence, SimulationWorkflows } from "./simulation_walk.ts";

/** What a simulation found. */
export interface Simulation {
  /** How many recorded decisions were compared. */
  readonly decisions: number;
  /**
   * What was served from the record: attempts (their outputs, exit codes),
   * the LLM replies of `llm` attempts among them, and gate verdicts.
   */
  readonly served: {
    readonly attempts: number;
    readonly llm_replies: number;
    readonly gates: number;
  };
  /** Every decision that differs, in journal order; the first is where the run would leave the record. */
  readonly divergences: readonly Divergence[];
  /**
   * The run's end: as recorded (null while it has not ended) and as
   * simulated (null when the run would leave the recorded path at a
   * decision that does not end it, so its end cannot be told).
   */
  readonly end: {
    readonly recorded: RunEndStatus | null;
    readonly simulated: RunEndStatus | null;
  };
}

function onAttemptStarted(walk: Walk, e: Extract<RunEvent, { type: "attempt_started" }>): void {
  walk.decisions++;
  const recorded = `start ${e.step} attempt ${e.attempt} (${e.cause ?? "unknown cause"})`;
  const base = { seq: e.seq, step: e.step, attempt: e.attempt, recorded };
  const spec = walk.stepSpec(walk.wf.current, e.step);
  if (spec === undefined) {
    walk.diverge({ ...base, kind: "start", simulated: `no step ${e.step} in the workflow` });
    return;
  }
  const before = walk.stepSpec(walk.wf.recorded, e.step);
  const changed = before === undefined ? ["the whole step"] : stepWorkChanges(before, spec);
  // Output types alone changed: the recorded outputs are re-validated in-process instead.
  const revalidated = walk.wf.outputChecks !== undefined && before !== undefined &&
    changed.length === 1 && changed[0] === "outputs" && retypedOutputs(before, spec) !== null;
  if (changed.length > 0 && !revalidated && !walk.reported.has(e.step)) {
    walk.reported.add(e.step);
    walk.diverge({
      ...base,
      kind: "unsimulable",
      simulated: `cannot be simulated: step ${e.step} changed (${changed.join(", ")})`,
    });
  }
  const start = simulatedStart(walk, e.step);
  walk.retrying.delete(e.step);
  if (typeof start === "string") {
    walk.diverge({ ...base, kind: "start", simulated: start });
    return;
  }
  // A recorded cache hit is served when the cache rule would look the key up (the lookup's answer
  // is the record's); a miss was recorded with the cause the decider gives.
  const lookup = e.cause === "cached"
    ? cacheLookup({
      enabled: spec.cache === true,
      noCache: walk.state.no_cache === true,
      attempt: start.attempt,
      cause: start.cause as AttemptCause,
    })
    : null;
  const cause = lookup?.kind === "look_up" ? "cached" : start.cause;
  if (start.attempt !== e.attempt || (e.cause !== undefined && cause !== e.cause)) {
    const why = lookup === null || lookup.kind === "look_up"
      ? ""
      : `: ${lookup.kind === "off" ? "the step does not use the cache" : lookup.reason}`;
    walk.diverge({
      ...base,
      kind: "start",
      simulated: `start ${e.step} attempt ${start.attempt} (${start.cause})${why}`,
    });
  }
}

/**
 * Serves a recorded gate verdict (already folded), or says why it cannot be
 * served; the state keeps the verdict with the current `required`, or drops
 * a gate the workflow no longer has.
 */
function onGateFinished(walk: Walk, e: Extract<RunEvent, { type: "gate_finished" }>): void {
  if (walk.stepSpec(walk.wf.current, e.step) === undefined) return;
  walk.decisions++;
  const id = e.gate.gate_id;
  const recorded = `gate ${id} of ${e.step}#${e.attempt}: ${e.gate.status}`;
  const base = { seq: e.seq, step: e.step, attempt: e.attempt, recorded };
  const current = walk.gateSpec(walk.wf.current, e.step, id);
  const attempt = walk.attemptOf(e.step, e.attempt);
  if (current === undefined) {
    walk.diverge({
      ...base,
      kind: "gate",
      simulated: `gate ${id} is not in the workflow: not run`,
    });
    if (attempt) delete attempt.gates[id];
    return;
  }
  if (attempt) attempt.gates[id] = { ...e.gate, required: current.required };
  const before = walk.gateSpec(walk.wf.recorded, e.step, id);
  const changed = before === undefined ? ["the whole gate"] : gateWorkChanges(before, current);
  if (changed.length > 0) {
    walk.diverge({
      ...base,
      kind: "unsimulable",
      simulated: `cannot be simulated: gate ${id} changed (${changed.join(", ")})`,
    });
  } else if (e.gate.status === "skipped" && attempt && !blockedBefore(walk, e.step, attempt, id)) {
    walk.diverge({
      ...base,
      kind: "unsimulable",
      simulated: `cannot be simulated: gate ${id} would run (no required gate before it failed)`,
    });
  } else {
    walk.gates++;
  }
}

function compareDecision(
  walk: Walk,
  e: RunEvent & { readonly step: string; readonly attempt: number },
  kind: DecisionKind,
  recorded: { readonly text: string; readonly key: string },
): void {
  walk.decisions++;
  if (walk.stepSpec(walk.wf.current, e.step) === undefined) return;
  const simulated = afterAttempt(walk, e.seq, e.step, e.attempt);
  if (simulated.key === recorded.key) return;
  walk.diverge({
    seq: e.seq,
    kind,
    step: e.step,
    attempt: e.attempt,
    recorded: recorded.text,
    simulated: simulated.text,
  }, simulated.ends);
}

function onStepFinished(walk: Walk, e: Extract<RunEvent, { type: "step_finished" }>): void {
  // A cancel is a person's request, and a route left untaken because another step failed
  // follows that step's failure: both are served from the record.
  if (e.status === "cancelled" || / not taken: the run is failing$/.test(e.reason ?? "")) return;
  const text = `step ${e.step} ${
    e.status === "succeeded" ? "succeeds" : e.status === "waiting" ? "waits" : "fails"
  }${e.reason ? ` (${e.reason})` : ""}`;
  compareDecision(walk, e, "step_end", { text, key: e.status === "failed" ? "fail" : e.status });
}

function onRoute(walk: Walk, e: Extract<RunEvent, { type: "route_taken" }>): void {
  compareDecision(walk, e, "route", {
    text: `take route ${e.route} → ${e.goto} (${e.count} of max ${e.max}; reset ${
      e.reset.join(", ")
    })`,
    key: routeKey(walk.wf.current, walk.state, e),
  });
}

function onRunFinished(walk: Walk, e: Extract<RunEvent, { type: "run_finished" }>): void {
  walk.decisions++;
  if (e.status === "cancelled") return;
  const graph = walk.wf.current;
  const steps = walk.state.steps;
  if (e.status === "succeeded") {
    for (const spec of graph.steps) {
      if (steps[spec.id]?.status === "succeeded") continue;
      const start = spec.id in steps ? simulatedStart(walk, spec.id) : null;
      walk.diverge({
        seq: e.seq,
        kind: "start",
        step: spec.id,
        attempt: null,
        recorded: `the run ends without step ${spec.id}`,
        simulated: start === null
          ? `start ${spec.id}: it is not in the recorded run (cannot be simulated)`
          : typeof start === "string"
          ? `step ${spec.id} never runs: ${start}`
          : `start ${spec.id} attempt ${start.attempt} (${start.cause})`,
      });
    }
  }
  const failed = Object.entries(steps).find(([, s]) => s.status === "failed");
  const end = runEnd({
    cancelled: false,
    failure: failed ? `step ${failed[0]} failed` : null,
    waiting: Object.values(steps).filter((s) => s.status === "waiting").length,
  });
  if (end.status !== e.status) {
    walk.diverge({
      seq: e.seq,
      kind: "run_end",
      step: null,
      attempt: null,
      recorded: `the run ends ${e.status}`,
      simulated: `the run ends ${end.status}`,
    });
  }
}

/**
 * Re-judges a succeeded attempt whose recorded outputs were re-validated
 * against new types: when they no longer match, the attempt would have
 * failed at commit (as the run loop fails it, exit code 0), and the walk
 * goes on from that failure.
 */
function onOutputsChecked(walk: Walk, e: Extract<RunEvent, { type: "attempt_finished" }>): void {
  const why = walk.wf.outputChecks?.get(`${e.step}#${e.attempt}`);
  if (why === undefined || why === null) return;
  const attempt = walk.attemptOf(e.step, e.attempt);
  if (attempt === undefined) return;
  walk.decisions++;
  attempt.status = "failed";
  attempt.exit_code = 0;
  attempt.message = why;
  attempt.outputs = {};
  const next = afterAttempt(walk, e.seq, e.step, e.attempt);
  walk.diverge({
    seq: e.seq,
    kind: "outcome",
    step: e.step,
    attempt: e.attempt,
    recorded: `attempt ${e.step}#${e.attempt} succeeds`,
    simulated: `attempt ${e.step}#${e.attempt} fails: ${why}; then ${next.text}`,
  }, next.ends);
}

/** Compares the decision an event records (if it records one), before it is folded. */
function judge(walk: Walk, e: RunEvent): void {
  switch (e.type) {
    case "runner_started":
      for (const retry of walk.retrying.values()) retry.restarted = true;
      return;
    case "attempt_started":
      return onAttemptStarted(walk, e);
    case "retry_scheduled":
      walk.retrying.set(e.step, { restarted: false });
      return compareDecision(walk, e, "retry", {
        text: `retry ${e.step} (attempt ${e.attempt + 1}) after ${e.delay_ms} ms`,
        key: `retry:${e.delay_ms}`,
      });
    case "route_taken":
      return onRoute(walk, e);
    case "step_finished":
      return onStepFinished(walk, e);
    case "run_finished":
      return onRunFinished(walk, e);
    default:
      return;
  }
}

/**
 * Simulates a recorded run under a workflow.
 *
 * @param runId The run.
 * @param events Its journal, in order.
 * @param workflows The workflow it was started with, and the one to simulate.
 * @returns The decisions compared, what was served, every divergence and the run's end.
 */
export function simulateRun(
  runId: string,
  events: readonly RunEvent[],
  workflows: SimulationWorkflows,
): Simulation {
  const walk = new Walk(runId, workflows);
  for (const e of events) {
    judge(walk, e);
    applyEvent(walk.state, e);
    if (e.type === "gate_finished") onGateFinished(walk, e);
    if (e.type === "attempt_finished" && e.status === "succeeded") onOutputsChecked(walk, e);
    if (e.type === "attempt_finished" && e.status !== "interrupted") {
      walk.attempts++;
      walk.llmReplies += (e.exchanges ?? []).filter((x) => x.reply !== null).length;
    }
  }
  const recorded = walk.state.status === "running" || walk.state.status === "created"
    ? null
    : walk.state.status;
  const first = walk.divergences.length > 0;
  return {
    decisions: walk.decisions,
    served: { attempts: walk.attempts, llm_replies: walk.llmReplies, gates: walk.gates },
    divergences: walk.divergences,
    end: {
      recorded,
      simulated: !first ? recorded : walk.firstEnds !== null ? "failed" : null,
    },
  };
}
