/**
 * Deterministic retry jitter, a pure retry rule of the policy layer. A
 * retry's wait, when `jitter: true`, is spread over its upper half ("equal
 * jitter" in the AWS Architecture Blog's "Exponential Backoff And Jitter",
 * 2015): `wait × (1 + u) / 2`, where `u`
 * in [0, 1) is a pure function of (run id, step, attempt) — the first 32
 * bits of SHA-256 over `run id NUL step NUL attempt`, divided by 2^32. Two
 * runs spread their retries apart, while one run's waits are the same on
 * every replay and after every resume. The wait never exceeds the unjittered
 * one, so `max_backoff` still bounds it, and never falls below half of it.
 *
 * @module
 */

import { sha256Hex } from "../core/canonical_json.ts";

/** What a retry's jitter is seeded by. */
export interface JitterSeed {
  /** The run. */
  readonly runId: string;
  /** The step retried. */
  readonly stepId: string;
  /** The attempt the wait comes before. */
  readonly attempt: number;
}

/**
 * The jitter fraction of one retry: a pure function of its seed.
 *
 * @param seed Run, step and the attempt the wait comes before.
 * @returns A number in [0, 1).
 */
export function jitterFraction(seed: JitterSeed): number {
  const digest = sha256Hex(`${seed.runId}\0${seed.stepId}\0${seed.attempt}`);
  return parseInt(digest.slice(0, 8), 16) / 2 ** 32;
}

/**
 * Spreads a wait over its upper half, deterministically.
 *
 * @example
 * ```ts
 * import { jitteredDelayMs } from "./retry_jitter.ts";
 * const seed = { runId: "00000000-0000-4000-8000-000000000000", stepId: "build", attempt: 2 };
 * const ms = jitteredDelayMs(1000, seed);
 * console.assert(ms >= 500 && ms <= 1000 && ms === jitteredDelayMs(1000, seed));
 * ```
 *
 * @param delayMs The wait without jitter, in ms.
 * @param seed Run, step and the attempt the wait comes before.
 * @returns A whole number of ms from `ceil(delayMs / 2)` to `delayMs`.
 */
export function jitteredDelayMs(delayMs: number, seed: JitterSeed): number {
  return Math.min(delayMs, Math.ceil((delayMs * (1 + jitterFraction(seed))) / 2));
}
