/**
 * When an HTTP LLM provider tries a request again, and how long it waits
 * first: pure decisions from the reply's status, its `Retry-After` header
 * and the number of tries so far, so they are tested without a server.
 *
 * `Retry-After` is read as RFC 9110 §10.2.3 defines it: a number of seconds
 * or an HTTP date. Backoff is exponential without jitter (deterministic, so
 * a run's waits can be explained from its record).
 *
 * @module
 */

/** How a provider retries; all durations in milliseconds. */
export interface LlmRetryPolicy {
  /** Tries in all, the first included (at least 1). */
  readonly maxAttempts: number;
  /** The wait after the first failed try; doubled after each further one. */
  readonly baseDelayMs: number;
  /** No wait is longer, a `Retry-After` included. */
  readonly maxDelayMs: number;
}

/** The retry policy providers use unless told otherwise. */
export const DEFAULT_LLM_RETRY: LlmRetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
};

/**
 * Whether a reply's status is worth trying again: 429 (rate limited) and
 * every 5xx (server trouble, Anthropic's 529 "overloaded" included).
 *
 * @param status The HTTP status.
 * @returns True for 429 and 500–599.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/**
 * Reads a `Retry-After` header value.
 *
 * @example
 * ```ts
 * import { retryAfterMs } from "./llm_retry.ts";
 * const now = new Date("2026-01-01T00:00:00Z");
 * console.assert(retryAfterMs("2", now) === 2000);
 * console.assert(retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", now) === 5000);
 * console.assert(retryAfterMs("soon", now) === undefined);
 * ```
 *
 * @param value The header's value, or null when it was absent.
 * @param now The current time, for an HTTP date.
 * @returns The wait in ms (0 for a date in the past); undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | null, now: Date): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** What {@linkcode retryDelayMs} decides from. */
export interface RetryFacts {
  /** The HTTP status of the failed try; null when there was no reply (timeout, network). */
  readonly status: number | null;
  /** The reply's `Retry-After` value, when it had one. */
  readonly retryAfter: string | null;
  /** The try that failed, from 1. */
  readonly attempt: number;
  /** The current time, for a `Retry-After` date. */
  readonly now: Date;
}

/**
 * How long to wait before the next try, or that there is none.
 *
 * @example
 * ```ts
 * import { DEFAULT_LLM_RETRY, retryDelayMs } from "./llm_retry.ts";
 * const now = new Date(0);
 * const at = (attempt: number, status: number | null, retryAfter: string | null = null) =>
 *   retryDelayMs({ status, retryAfter, attempt, now }, DEFAULT_LLM_RETRY);
 * console.assert(at(1, 503) === 1000 && at(2, 503) === 2000 && at(3, null) === 4000);
 * console.assert(at(1, 429, "7") === 7000);
 * console.assert(at(1, 429, "3600") === 60_000);
 * console.assert(at(4, 503) === null && at(1, 400) === null);
 * ```
 *
 * @param facts The failed try: status, `Retry-After`, its number, the time.
 * @param policy Tries in all and the delays.
 * @returns The wait in ms (`Retry-After` when given, else `baseDelayMs · 2^(attempt−1)`,
 * both capped at `maxDelayMs`); null when the status is not retryable
 * (see {@linkcode isRetryableStatus}) or no try is left.
 */
export function retryDelayMs(facts: RetryFacts, policy: LlmRetryPolicy): number | null {
  if (facts.status !== null && !isRetryableStatus(facts.status)) return null;
  if (facts.attempt >= policy.maxAttempts) return null;
  const asked = retryAfterMs(facts.retryAfter, facts.now);
  const backoff = policy.baseDelayMs * 2 ** (facts.attempt - 1);
  return Math.min(asked ?? backoff, policy.maxDelayMs);
}
