/**
 * Timers for durations of any size. `setTimeout` holds at most 2^31−1 ms
 * (about 24.8 days); a longer delay fires at once (HTML Living Standard,
 * "timer initialisation steps", which clamps to a signed 32-bit int). These
 * helpers chain shorter timers instead, so a `timeout: 597h` waits 597 hours.
 *
 * @module
 */

/** The longest delay one `setTimeout` holds, in ms (2^31−1). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer started by {@linkcode startTimer}. */
export interface Timer {
  /** Stops it; the callback will not run. Calling it again does nothing. */
  clear(): void;
}

/**
 * Calls `fn` once after `ms` milliseconds, for any finite `ms`: delays
 * beyond {@linkcode MAX_TIMER_MS} are waited in chunks of at most that size.
 * A non-positive `ms` fires on the next turn of the event loop; an infinite
 * one never fires.
 *
 * @example
 * ```ts
 * import { startTimer } from "./delay.ts";
 * const timer = startTimer(() => console.log("never"), 597 * 3_600_000);
 * timer.clear();
 * ```
 *
 * @param fn What to call.
 * @param ms The delay in milliseconds.
 * @returns A handle whose `clear()` cancels the timer.
 */
export function startTimer(fn: () => void, ms: number): Timer {
  let handle: ReturnType<typeof setTimeout> | undefined;
  let cleared = false;
  const due = performance.now() + Math.max(0, ms);
  const arm = () => {
    if (cleared) return;
    const left = due - performance.now();
    if (!Number.isFinite(left)) return;
    if (left <= 0) {
      cleared = true;
      fn();
      return;
    }
    handle = setTimeout(arm, Math.min(Math.ceil(left), MAX_TIMER_MS));
  };
  handle = setTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  return {
    clear() {
      cleared = true;
      clearTimeout(handle);
    },
  };
}

/**
 * Waits `ms` milliseconds (any size, see {@linkcode startTimer}), or until
 * `signal` is aborted, whichever comes first. It never rejects.
 *
 * @example
 * ```ts
 * import { sleep } from "./delay.ts";
 * await sleep(1);
 * ```
 *
 * @param ms The delay in milliseconds; non-positive resolves at once.
 * @param signal Ends the wait early when aborted.
 * @returns Resolves when the time is up or the signal is aborted.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const done = () => {
      timer.clear();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = startTimer(done, ms);
    signal?.addEventListener("abort", done);
  });
}
