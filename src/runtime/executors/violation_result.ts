/**
 * How policy violations change an attempt's result: an attempt that caused
 * any fails (a timeout or cancellation keeps its status), its message names
 * them, and the result carries them.
 *
 * @module
 */

import { type PolicyViolation, violationMessage } from "../../policy/policy_violation.ts";
import type { ExecutionResult } from "./executor.ts";

/**
 * The result of an attempt with the violations it caused.
 *
 * @param result The result as the process ended.
 * @param violations What the attempt was refused (may be empty).
 * @returns `result` when there are none; else failed (unless it timed out or was cancelled),
 *   with a `Policy violation: …` message and the violations.
 */
export function withViolations(
  result: ExecutionResult,
  violations: readonly PolicyViolation[],
): ExecutionResult {
  if (violations.length === 0) return result;
  return {
    ...result,
    status: result.status === "succeeded" ? "failed" : result.status,
    message: violationMessage(violations),
    violations,
  };
}
