/**
 * The walk behind {@linkcode simulateRun} (`run_simulation.ts`): the state
 * folded from the record with simulated gate verdicts in place, and the
 * decider's answers at each point — where a step would start, what follows
 * an attempt (succeed, wait, retry, route, fail) in words with a key to
 * compare. Pure.
 *
 * @module
 */

import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { GateSpec, StepSpec } from "../graph/workflow.ts";
import { decideFailure, type FailureDecision, takeRoute } from "./route_decider.ts";
import { gatesVerdict, stepStart } from "./run_decider.ts";
import { type AttemptState, emptyRunState, type RunState } from "./run_events.ts";

/** The kind of decision that differs. */
export type DecisionKind =
  | "start"
  | "retry"
  | "route"
  | "gate"
  | "step_end"
  | "run_end"
  | "outcome"
  | "unsimulable";

/** One decision that would differ. */
export interface Divergence {
  /** The journal event (its `seq`) at which the recorded decision was made. */
  readonly seq: number;
  /** What kind of decision. */
  readonly kind: DecisionKind;
  /** The step it concerns, when one. */
  readonly step: string | null;
  /** The step's attempt it concerns, when one. */
  readonly attempt: number | null;
  /** What the record says, in words. */
  readonly recorded: string;
  /** What the decider says now, in words. */
  readonly simulated: string;
}

/** The workflows a simulation compares. */
export interface SimulationWorkflows {
  /** The workflow the run was started with (its recorded definitions). */
  readonly recorded: WorkflowGraph;
  /** The workflow to simulate (the same, or an edited one). */
  readonly current: WorkflowGraph;
  /**
   * Recorded JSON outputs re-validated in-process against the types the
   * simulated workflow declares for them (steps whose output types alone
   * changed): by `step#attempt`, null when they match, else why not. Without
   * it, such steps cannot be simulated.
   */
  readonly outputChecks?: ReadonlyMap<string, string | null>;
}

/** A decision in words, its comparison key, and the failure it ends the run with (or null). */
export type Decided = { readonly text: string; readonly key: string; readonly ends: string | null };

/**
 * What identifies a route decision: the route, its target, its count and
 * the steps it resets that both the record and the workflow have (a step
 * added downstream is reported where it would start, not at every route).
 * A changed bound shows where it is reached, not in every route taken.
 *
 * @param graph The workflow simulated.
 * @param state The walk's state.
 * @param e The route's event (recorded or simulated).
 * @returns The key.
 */
export function routeKey(
  graph: WorkflowGraph,
  state: RunState,
  e: { route: string; goto: string; count: number; reset: readonly string[] },
): string {
  const reset = e.reset.filter((id) => id in state.steps && graph.indexOf.has(id));
  return `route:${e.route}:${e.goto}:${e.count}:${reset.join(",")}`;
}

/** A failure decision in words, with a key to compare and the failure it ends the step with. */
function describeFailure(
  graph: WorkflowGraph,
  state: RunState,
  step: string,
  decision: FailureDecision,
): Decided {
  const attempt = state.steps[step]?.attempts.at(-1)?.attempt ?? 0;
  switch (decision.kind) {
    case "cancelled":
      return { text: `step ${step} is cancelled`, key: "cancelled", ends: null };
    case "retry":
      return {
        text: `retry ${step} (attempt ${attempt + 1}) after ${decision.delayMs} ms`,
        key: `retry:${decision.delayMs}`,
        ends: null,
      };
    case "fail":
      return {
        text: `step ${step} fails${decision.reason ? ` (${decision.reason})` : ""}`,
        key: "fail",
        ends: `step ${step} fails`,
      };
    case "route": {
      const verdict = takeRoute(graph, state, decision.route);
      if (verdict.kind === "exceeded") {
        return { text: `step ${step} fails: ${verdict.reason}`, key: "fail", ends: verdict.reason };
      }
      const e = verdict.event;
      return {
        text: `take route ${e.route} → ${e.goto} (${e.count} of max ${e.max}; reset ${
          e.reset.join(", ")
        })`,
        key: routeKey(graph, state, e),
        ends: null,
      };
    }
  }
}

/** The walk's state: the fold of the record, with simulated gate verdicts in place. */
export class Walk {
  readonly state: RunState;
  readonly divergences: Divergence[] = [];
  decisions = 0;
  attempts = 0;
  llmReplies = 0;
  gates = 0;
  /** The failure the first divergence ends the run with, when it ends it. */
  firstEnds: string | null = null;
  /** Steps whose last failure the decider retried, and whether a runner restarted since. */
  readonly retrying = new Map<string, { restarted: boolean }>();
  /** Steps whose changed work was reported. */
  readonly reported = new Set<string>();
  /** Attempts whose new gates were checked (`step#attempt`). */
  readonly checkedGates = new Set<string>();

  /**
   * Starts a walk with an empty state.
   *
   * @param runId The run.
   * @param wf The recorded and the simulated workflow.
   */
  constructor(runId: string, readonly wf: SimulationWorkflows) {
    this.state = emptyRunState(runId);
  }

  /**
   * Records a divergence.
   *
   * @param d The divergence.
   * @param ends The failure the simulated decision ends the run with, when it does.
   */
  diverge(d: Divergence, ends: string | null = null): void {
    if (this.divergences.length === 0) this.firstEnds = ends;
    this.divergences.push(d);
  }

  /**
   * A step of a workflow.
   *
   * @param graph The workflow.
   * @param id The step.
   * @returns Its spec, or undefined when the workflow has no such step.
   */
  stepSpec(graph: WorkflowGraph, id: string): StepSpec | undefined {
    const i = graph.indexOf.get(id);
    return i === undefined ? undefined : graph.steps[i];
  }

  /**
   * A gate of a step in a workflow.
   *
   * @param graph The workflow.
   * @param step The step it checks.
   * @param gate The gate.
   * @returns Its spec, or undefined.
   */
  gateSpec(graph: WorkflowGraph, step: string, gate: string): GateSpec | undefined {
    return graph.gatesOf.get(step)?.find((g) => g.id === gate);
  }

  /**
   * An attempt in the walk's state.
   *
   * @param step The step.
   * @param attempt The attempt number.
   * @returns The attempt, or undefined.
   */
  attemptOf(step: string, attempt: number): AttemptState | undefined {
    return this.state.steps[step]?.attempts.find((a) => a.attempt === attempt);
  }
}

/**
 * Decides where a step would start now, as the run loop would: a retry the
 * decider chose (`resume` when a runner restarted since), else
 * `stepStart`, after deciding a failure a dead runner left undecided.
 *
 * @param walk The walk.
 * @param step The step (in the simulated workflow).
 * @returns The attempt and its cause, or why it would not start now, in words.
 */
export function simulatedStart(
  walk: Walk,
  step: string,
): { attempt: number; cause: string } | string {
  const graph = walk.wf.current;
  const index = graph.indexOf.get(step)!;
  const waits = (graph.upstream[index] ?? []).map((i) => graph.steps[i]!.id).filter((id) =>
    walk.state.steps[id]?.status !== "succeeded"
  );
  if (waits.length > 0) return `${step} waits for ${waits.join(", ")}`;
  const retry = walk.retrying.get(step);
  const last = walk.state.steps[step]?.attempts.at(-1)?.attempt ?? 0;
  if (retry) return { attempt: last + 1, cause: retry.restarted ? "resume" : "retry" };
  const start = stepStart(walk.state.steps[step]!);
  if (start.kind === "new_attempt") return { attempt: start.attempt, cause: start.cause };
  if (start.kind === "decide_failure") {
    const outcome = start.attempt.status === "timeout" ? "timeout" : "failed";
    const next = decideFailure(graph, walk.state, step, { outcome, cancelled: false });
    if (next.kind === "retry") return { attempt: last + 1, cause: "resume" };
    return describeFailure(graph, walk.state, step, next).text;
  }
  return `${step} first finishes attempt ${start.attempt.attempt}'s gates`;
}

/**
 * Whether a required gate declared before `gate` blocks the attempt (so
 * the gate evaluator skips `gate`).
 *
 * @param walk The walk.
 * @param step The step.
 * @param attempt Its attempt.
 * @param gate The gate.
 * @returns True when an earlier required gate failed or errored.
 */
export function blockedBefore(
  walk: Walk,
  step: string,
  attempt: AttemptState,
  gate: string,
): boolean {
  for (const g of walk.wf.current.gatesOf.get(step) ?? []) {
    if (g.id === gate) return false;
    const r = attempt.gates[g.id];
    if (r && g.required && (r.status === "fail" || r.status === "error")) return true;
  }
  return false;
}

/** Reports the gates of the workflow an attempt has no recorded verdict for (once per attempt). */
function checkNewGates(walk: Walk, seq: number, step: string, attempt: AttemptState): void {
  const key = `${step}#${attempt.attempt}`;
  if (walk.checkedGates.has(key) || attempt.status !== "succeeded") return;
  walk.checkedGates.add(key);
  for (const gate of walk.wf.current.gatesOf.get(step) ?? []) {
    if (
      attempt.gates[gate.id] !== undefined || attempt.waiting_on === gate.id ||
      blockedBefore(walk, step, attempt, gate.id)
    ) {
      continue;
    }
    walk.diverge({
      seq,
      kind: "unsimulable",
      step,
      attempt: attempt.attempt,
      recorded: `gate ${gate.id} of ${key}: not run`,
      simulated: `cannot be simulated: gate ${gate.id} would run and has no recorded verdict`,
    });
  }
}

/**
 * What the decider does after an attempt (and its gates): succeed, wait,
 * or what follows a failure (retry, route, fail). Reports, once per
 * attempt, the gates the workflow has that the record has no verdict for.
 *
 * @param walk The walk.
 * @param seq The event at which the decision is compared.
 * @param step The step.
 * @param attemptNo The attempt.
 * @returns The decision in words with its key.
 */
export function afterAttempt(walk: Walk, seq: number, step: string, attemptNo: number): Decided {
  const graph = walk.wf.current;
  const attempt = walk.attemptOf(step, attemptNo);
  if (attempt === undefined) return { text: "unknown attempt", key: "?", ends: null };
  checkNewGates(walk, seq, step, attempt);
  if (attempt.status === "succeeded") {
    const verdict = gatesVerdict(graph.gatesOf.get(step) ?? [], attempt.gates, {
      waitingOn: attempt.waiting_on,
      cancelled: false,
    });
    if (verdict === "succeeded") {
      return { text: `step ${step} succeeds`, key: "succeeded", ends: null };
    }
    if (verdict === "waiting") return { text: `step ${step} waits`, key: "waiting", ends: null };
  }
  const outcome = attempt.status === "timeout" ? "timeout" : "failed";
  const decision = decideFailure(graph, walk.state, step, { outcome, cancelled: false });
  return describeFailure(graph, walk.state, step, decision);
}
