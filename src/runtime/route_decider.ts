/**
 * Routing decisions (`on_fail`), as pure functions of the graph and the
 * folded run state. After an attempt fails, {@linkcode decideFailure} says
 * whether the step is retried, routed, or fails; {@linkcode takeRoute}
 * checks a route's bounds when it is about to be taken and builds its
 * `route_taken` event. Precedence: a required gate that failed and has an
 * `on_fail` routes at once (its verdict is the feedback; a blind retry
 * would repeat the same work without it); otherwise the step's `retry`
 * decides; once retries are spent (or refused), the step's own `on_fail`
 * routes; else the step fails.
 *
 * @module
 */

import { stepAndDescendants } from "../graph/graph_reach.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import { afterFailure, failuresSoFar } from "./run_decider.ts";
import type { RunEventBody, RunState } from "./run_events.ts";

/** A route chosen for a failed step, not yet taken. */
export interface PendingRoute {
  /** The route's key: `steps.<id>.on_fail` or `gates.<id>.on_fail`. */
  readonly key: string;
  /** The route in words: `step build on_fail → fix`, `gate tests on_fail → edit`. */
  readonly label: string;
  /** The step that failed. */
  readonly step: string;
  /** Its attempt that failed. */
  readonly attempt: number;
  /** The step run again. */
  readonly goto: string;
  /** The route's bound. */
  readonly max: number;
  /**
   * The failing record: a gate's `gate_result.v1`, or the step's failure
   * (stored as a `step_failure.v1` artifact when the route is taken).
   */
  readonly feedback:
    | { readonly kind: "gate"; readonly resultId: string }
    | { readonly kind: "step" };
}

/** What follows a failed attempt. */
export type FailureDecision =
  | { readonly kind: "cancelled" }
  | { readonly kind: "retry"; readonly delayMs: number; readonly reason: string }
  | { readonly kind: "route"; readonly route: PendingRoute }
  /** `reason`: why the rules let it fail, when they had a say. */
  | { readonly kind: "fail"; readonly reason: string | null };

/**
 * Decides what follows a step's failed attempt (its process failed or
 * timed out, or a required gate did not pass).
 *
 * @param graph The workflow graph.
 * @param state The run state, with the failed attempt (and its gates) folded in.
 * @param stepId The step.
 * @param failure How the attempt ended and whether the run is being cancelled.
 * @returns Cancelled, retry (with the wait), route, or fail.
 */
export function decideFailure(
  graph: WorkflowGraph,
  state: RunState,
  stepId: string,
  failure: { readonly outcome: "failed" | "timeout"; readonly cancelled: boolean },
): FailureDecision {
  if (failure.cancelled) return { kind: "cancelled" };
  const spec = graph.steps[graph.indexOf.get(stepId)!];
  const step = state.steps[stepId];
  const last = step.attempts.at(-1)!;
  const byGate = last.status === "succeeded";
  if (byGate) {
    for (const gate of graph.gatesOf.get(stepId) ?? []) {
      const record = last.gates[gate.id];
      if (
        !gate.onFail || !record?.required || (record.status !== "fail" && record.status !== "error")
      ) {
        continue;
      }
      return {
        kind: "route",
        route: {
          key: `gates.${gate.id}.on_fail`,
          label: `gate ${gate.id} on_fail → ${gate.onFail.goto}`,
          step: stepId,
          attempt: last.attempt,
          goto: gate.onFail.goto,
          max: gate.onFail.max,
          feedback: { kind: "gate", resultId: record.result_id },
        },
      };
    }
  }
  const next = afterFailure(spec.retry, {
    outcome: failure.outcome,
    failures: failuresSoFar(step),
    cancelled: false,
    exitCode: byGate ? null : last.exit_code,
    byGate,
    seed: { runId: state.run_id, stepId, attempt: last.attempt + 1 },
  });
  if (next.kind === "retry") return { kind: "retry", delayMs: next.delayMs, reason: next.reason };
  const reason = next.status === "failed" ? next.reason : null;
  if (!spec.onFail) return { kind: "fail", reason };
  return {
    kind: "route",
    route: {
      key: `steps.${stepId}.on_fail`,
      label: `step ${stepId} on_fail → ${spec.onFail.goto}`,
      step: stepId,
      attempt: last.attempt,
      goto: spec.onFail.goto,
      max: spec.onFail.max,
      feedback: { kind: "step" },
    },
  };
}

/** A route's `route_taken` event, without the feedback artifact's id. */
export type RouteTaken = Omit<Extract<RunEventBody, { type: "route_taken" }>, "feedback">;

/** Whether a route can be taken now. */
export type RouteVerdict =
  | { readonly kind: "take"; readonly event: RouteTaken }
  /** A bound is reached: the run fails with `reason`, which names the route and the bound. */
  | { readonly kind: "exceeded"; readonly reason: string };

/**
 * Checks a route's bounds against the run's counters: the route may be
 * taken at most `max` times, and the run may take at most `max_transitions`
 * routes in all. Taking it resets `goto` and every step downstream of it.
 *
 * @param graph The workflow graph (its `maxTransitions` is the run's bound).
 * @param state The run state (its `routing_counters`).
 * @param route The route chosen by {@linkcode decideFailure}.
 * @returns The event to journal, or the bound it would exceed.
 */
export function takeRoute(
  graph: WorkflowGraph,
  state: RunState,
  route: PendingRoute,
): RouteVerdict {
  const taken = state.routing_counters[route.key] ?? 0;
  if (taken >= route.max) {
    return {
      kind: "exceeded",
      reason: `route ${route.label} reached its bound: max ${route.max} ` +
        `(taken ${taken} ${taken === 1 ? "time" : "times"})`,
    };
  }
  const transitions = Object.values(state.routing_counters).reduce((a, b) => a + b, 0);
  const maxTransitions = graph.workflow.maxTransitions;
  if (transitions >= maxTransitions) {
    return {
      kind: "exceeded",
      reason: `route ${route.label} not taken: the run reached its bound ` +
        `max_transitions ${maxTransitions}`,
    };
  }
  return {
    kind: "take",
    event: {
      type: "route_taken",
      route: route.key,
      step: route.step,
      attempt: route.attempt,
      goto: route.goto,
      count: taken + 1,
      max: route.max,
      transitions: transitions + 1,
      max_transitions: maxTransitions,
      reset: stepAndDescendants(graph, route.goto),
    },
  };
}
