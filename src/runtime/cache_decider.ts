/**
 * The step cache's rules, as pure functions: whether an attempt looks its
 * key up, and whether the entry found is reused (`UseCached`) or the step
 * runs. The run loop computes the key, looks it up through the
 * step cache port (`StepCache`) and acts; a reused result is journaled as an
 * attempt with cause `cached` and its `cached_from`, so replaying a run's
 * events gives the decision back: a recorded `cached_from` is the entry the
 * lookup found.
 *
 * @module
 */

import type { CacheEntry, CacheOutcome } from "../store/ports.ts";
import type { AttemptCause, CachedFrom } from "./run_events.ts";

/**
 * Causes whose attempts look their key up. A retry (after a failure in this
 * run) and a rerun (a person asked for the step to run again) run the step;
 * a replaced input is looked up under its new hash.
 */
const LOOKUP_CAUSES: readonly AttemptCause[] = ["first", "resume", "route", "replace"];

/** Whether and how an attempt meets the cache. */
export type CacheLookup =
  /** The step does not use the cache: no key, no probe. */
  | { readonly kind: "off" }
  /** Its key is recorded but not looked up; `reason` says why. */
  | { readonly kind: "bypass"; readonly reason: string }
  /** Look the key up. */
  | { readonly kind: "look_up" };

/**
 * Decides whether an attempt looks its key up.
 *
 * @param request Whether the step has `cache: true`, whether the run was started with `--no-cache`, and the attempt's number and cause.
 * @returns `off` when the step does not cache; `bypass` with the reason
 * under `--no-cache` or for a retry; else `look_up`.
 */
export function cacheLookup(
  request: {
    readonly enabled: boolean;
    readonly noCache: boolean;
    readonly attempt: number;
    readonly cause: AttemptCause;
  },
): CacheLookup {
  if (!request.enabled) return { kind: "off" };
  if (request.noCache) {
    return { kind: "bypass", reason: "the run was started with --no-cache: no lookup" };
  }
  if (!LOOKUP_CAUSES.includes(request.cause)) {
    return {
      kind: "bypass",
      reason: `attempt ${request.attempt} is a ${request.cause}: it runs the step again`,
    };
  }
  return { kind: "look_up" };
}

/** What follows a lookup. */
export type CacheDecision =
  /** Reuse the entry's outputs (the same artifact ids); run no process. */
  | {
    readonly kind: "use_cached";
    readonly from: CachedFrom;
    readonly outputs: Readonly<Record<string, string>>;
    readonly reason: string;
  }
  /** Run the step. */
  | {
    readonly kind: "run";
    readonly outcome: Exclude<CacheOutcome, "hit">;
    readonly reason: string;
  };

/**
 * Decides what a looked-up entry means for the attempt.
 *
 * @param found The entry with the attempt's key (`undefined`: none), and the
 * names of its outputs no longer in the store.
 * @returns `use_cached` when an entry exists and every output is still
 * there; else `run`, with the reason of the miss.
 */
export function useCached(
  found: { readonly entry: CacheEntry | undefined; readonly missing: readonly string[] },
): CacheDecision {
  const { entry, missing } = found;
  if (entry === undefined) return { kind: "run", outcome: "miss", reason: "no entry has this key" };
  const from = `run ${entry.run_id} step ${entry.step_id} attempt ${entry.attempt}`;
  if (missing.length > 0) {
    const names = missing.map((name) => `${name} (${entry.outputs[name]})`).join(", ");
    return {
      kind: "run",
      outcome: "miss",
      reason: `the entry of ${from} has outputs no longer in the store: ${names}`,
    };
  }
  return {
    kind: "use_cached",
    from: { run: entry.run_id, step: entry.step_id, attempt: entry.attempt },
    outputs: entry.outputs,
    reason: `the key matches the entry of ${from}`,
  };
}

/**
 * The cause a replay of a recorded run gives an attempt start: the recorded
 * lookup stands in for the lookup (a recorded `cached_from` is the entry it
 * found; none recorded, none was found), so a replay under the recorded
 * workflow gives back `cached` exactly where the run reused a result, and
 * one under an edited workflow (the step's `cache` turned off) diverges
 * there.
 *
 * @param request What {@linkcode cacheLookup} is given, with the cause the decider chose.
 * @param recorded The recorded `attempt_started` event's `cached_from`, if any.
 * @returns `cached` when the rules look up and the run found an entry; else the decider's cause.
 */
export function replayedCause(
  request: Parameters<typeof cacheLookup>[0],
  recorded: { readonly cached_from?: CachedFrom },
): AttemptCause {
  const plan = cacheLookup(request);
  return plan.kind === "look_up" && recorded.cached_from !== undefined ? "cached" : request.cause;
}

/**
 * Whether a finished attempt's result enters the cache: it succeeded, did
 * not itself come from the cache, and every gate passed (or was skipped).
 *
 * @param attempt The attempt's status, cause and gate results.
 * @returns Whether to store an entry.
 */
export function cacheable(
  attempt: {
    readonly status: string;
    readonly cause: AttemptCause | null;
    readonly gates: Readonly<Record<string, { readonly status: string }>>;
  },
): boolean {
  return attempt.status === "succeeded" && attempt.cause !== "cached" &&
    Object.values(attempt.gates).every((g) => g.status === "pass" || g.status === "skipped");
}
