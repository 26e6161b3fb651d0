/**
 * How long a step waits before its next attempt: exponential backoff with
 * a cap.
 *
 * @module
 */

import type { RetrySpec } from "./workflow.ts";

/**
 * The wait before the attempt after the `failures`-th failure:
 * `backoffMs · backoffFactor^(failures−1)`, at most `maxBackoffMs`.
 *
 * @example
 * ```ts
 * import { retryDelayMs } from "./retry_delay.ts";
 * const retry = { maxAttempts: 50, backoffMs: 1000, backoffFactor: 10, maxBackoffMs: 60_000,
 *   on: ["failure" as const], jitter: false, exitCodes: [] };
 * console.assert(retryDelayMs(retry, 2) === 10_000);
 * console.assert(retryDelayMs(retry, 40) === 60_000);
 * ```
 *
 * @param retry The step's retry settings.
 * @param failures How many attempts have failed so far (from 1).
 * @returns The wait in milliseconds, a finite number from 0 to `maxBackoffMs`.
 */
export function retryDelayMs(retry: RetrySpec, failures: number): number {
  // 0 × Infinity is NaN, and a NaN wait would never end: no backoff is no wait.
  if (!(retry.backoffMs > 0)) return 0;
  const grown = retry.backoffMs * retry.backoffFactor ** Math.max(0, failures - 1);
  return Number.isFinite(grown) ? Math.min(grown, retry.maxBackoffMs) : retry.maxBackoffMs;
}
