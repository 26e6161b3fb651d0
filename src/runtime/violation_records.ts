/**
 * Stores the refusals an attempt's executor reported as `policy_violation.v1`
 * artifacts, whose ids the attempt's record links.
 *
 * @module
 */

import type { Redactor } from "../core/redaction.ts";
import type { Clock } from "../core/clock.ts";
import { POLICY_VIOLATION_TYPE, type PolicyViolation } from "../policy/policy_violation.ts";
import type { Store } from "../store/store.ts";

/** Who the violation belongs to. */
export interface ViolationOwner {
  /** The run. */
  readonly runId: string;
  /** The step (for a gate, the step it judged). */
  readonly stepId: string;
  /** The gate, when a gate caused them. */
  readonly gateId?: string;
  /** The attempt. */
  readonly attempt: number;
}

/**
 * Stores each violation as a `policy_violation.v1` JSON artifact.
 *
 * @param store The store.
 * @param violations What the executor reported.
 * @param options The owner and the clock that stamps them.
 * @returns The artifact ids, in order.
 */
export async function recordViolations(
  store: Store,
  violations: readonly PolicyViolation[],
  options: ViolationOwner & { readonly clock: Clock; readonly redactor?: Redactor },
): Promise<string[]> {
  const ids: string[] = [];
  const redact = (text: string) => options.redactor ? options.redactor.text(text) : text;
  for (const [i, v] of violations.entries()) {
    const ref = await store.artifacts.putJson(options.runId, {
      run_id: options.runId,
      step_id: options.stepId,
      ...(options.gateId ? { gate_id: options.gateId } : {}),
      attempt: options.attempt,
      kind: v.kind,
      target: redact(v.target),
      decided_by: v.decidedBy,
      message: redact(v.message),
      occurred_at: options.clock.now().toISOString(),
    }, {
      type: POLICY_VIOLATION_TYPE,
      name: `violation.${options.gateId ?? options.stepId}.${options.attempt}.${i + 1}`,
      producer: { id: "policy", kind: "system" },
    });
    ids.push(ref.artifact_id);
  }
  return ids;
}
