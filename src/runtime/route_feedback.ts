/**
 * The failing record a route hands its target as the input `feedback`: a
 * failed gate's own `gate_result.v1` artifact, or for a step that failed a
 * `step_failure.v1` JSON artifact stored when the route is taken (its
 * status, exit code, message, and the ids of its stdout/stderr logs and of
 * the gate results that judged it).
 *
 * @module
 */

import type { StepFailureV1 } from "../contracts/kernel_schemas.ts";
import type { Store } from "../store/store.ts";
import type { AttemptState } from "./run_events.ts";
import type { PendingRoute } from "./route_decider.ts";

/** The artifact type of a step's failure handed to a route's target. */
export const STEP_FAILURE_TYPE = "step_failure.v1";

/**
 * Describes a failed attempt as a `step_failure.v1` payload.
 *
 * @param stepId The step.
 * @param attempt Its failed attempt.
 * @returns The payload.
 */
export function stepFailurePayload(stepId: string, attempt: AttemptState): StepFailureV1 {
  return {
    step_id: stepId,
    attempt: attempt.attempt,
    // A route follows a failure, a timeout, or a succeeded attempt whose gates failed.
    status: attempt.status === "timeout" || attempt.status === "succeeded"
      ? attempt.status
      : "failed",
    exit_code: attempt.exit_code,
    message: attempt.message,
    stdout_artifact_id: attempt.logs.stdout ?? null,
    stderr_artifact_id: attempt.logs.stderr ?? null,
    gate_result_ids: Object.values(attempt.gates).map((g) => g.result_id),
  };
}

/**
 * Stores (or finds) the feedback of a route about to be taken.
 *
 * @param store The open store.
 * @param runId The run.
 * @param route The route, with the failed step and attempt.
 * @param attempt The failed attempt's state.
 * @returns The feedback artifact's id.
 */
export async function routeFeedback(
  store: Store,
  runId: string,
  route: PendingRoute,
  attempt: AttemptState,
): Promise<string> {
  if (route.feedback.kind === "gate") return route.feedback.resultId;
  const payload = stepFailurePayload(route.step, attempt);
  const ref = await store.artifacts.putJson(runId, payload, {
    type: STEP_FAILURE_TYPE,
    name: `${route.step}.${attempt.attempt}.failure`,
    producer: { id: route.step, kind: "system" },
    inputs: [
      ...Object.values(attempt.logs),
      ...payload.gate_result_ids,
    ],
  });
  return ref.artifact_id;
}
