/**
 * The kernel's clock: wall time for timestamps, a monotonic reading for
 * durations. The wall clock may step back or jump (NTP, a resumed VM,
 * `faketime`); a duration measured on it can come out negative or huge, so
 * every duration Lily records is a difference of {@linkcode Clock.monotonicMs}
 * readings, and {@linkcode Clock.now} only stamps events.
 *
 * The system clock's monotonic readings count from the machine's boot
 * (`/proc/uptime`, read once per process, plus `performance.now()`), so a
 * reading taken by one runner can be compared with one taken by the next —
 * which is how a resume tells how long an attempt of a killed runner ran.
 * Within one process the difference is exact; across processes it is good
 * to about 10 ms. Without `/proc`, readings count from the process's start.
 *
 * @example
 * ```ts
 * import { systemClock } from "./clock.ts";
 * const started = systemClock.monotonicMs();
 * const elapsed = systemClock.monotonicMs() - started;
 * console.assert(elapsed >= 0);
 * ```
 *
 * @module
 */

/** A source of wall time and of monotonic time, injected so tests can step it. */
export interface Clock {
  /**
   * The wall-clock time, for timestamps only.
   *
   * @returns The current date.
   */
  now(): Date;
  /**
   * A reading of a clock that never goes back, in milliseconds from an
   * origin shared by every process on the machine until it reboots; only
   * differences of two readings mean anything.
   *
   * @returns Milliseconds (fractional).
   */
  monotonicMs(): number;
}

/** The offset from `performance.now()` to time since boot; 0 without (permission to read) `/proc`. */
function bootOffsetMs(): number {
  try {
    if (Deno.permissions.querySync({ name: "read", path: "/proc/uptime" }).state !== "granted") {
      return 0;
    }
    const uptime = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
    return Number.isFinite(uptime) ? uptime * 1000 - performance.now() : 0;
  } catch {
    return 0;
  }
}

let offset: number | undefined;

/** The real clock: `new Date()`, and `performance.now()` counted from the machine's boot. */
export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now() + (offset ??= bootOffsetMs()),
};

/**
 * The whole milliseconds elapsed since a monotonic reading, never negative.
 *
 * @param clock The clock the reading came from.
 * @param startedMs An earlier {@linkcode Clock.monotonicMs} reading.
 * @returns Whole milliseconds, at least 0.
 */
export function elapsedMs(clock: Clock, startedMs: number): number {
  return Math.max(0, Math.round(clock.monotonicMs() - startedMs));
}
