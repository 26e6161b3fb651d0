/**
 * A clock that moves only when told: for tests and simulations that need
 * stamps and durations they can predict.
 *
 * @example Step the clock
 * ```ts
 * import { ManualClock } from "./manual_clock.ts";
 * const clock = new ManualClock({ start: new Date("2030-01-01T00:00:00Z") });
 * const started = clock.monotonicMs();
 * clock.advance(1500);
 * console.assert(clock.monotonicMs() - started === 1500);
 * console.assert(clock.now().toISOString() === "2030-01-01T00:00:01.500Z");
 * ```
 *
 * @module
 */

import { UsageError } from "./errors.ts";
import type { Clock } from "./clock.ts";

/** Options of {@linkcode ManualClock}. */
export interface ManualClockOptions {
  /**
   * The wall time it starts at.
   * @default {new Date(0)}
   */
  readonly start?: Date;
}

/** A {@linkcode Clock} whose wall and monotonic readings move together, only on {@linkcode ManualClock.advance}. */
export class ManualClock implements Clock {
  #wallMs: number;
  #monotonicMs = 0;

  /**
   * Creates the clock.
   *
   * @param options Where wall time starts.
   */
  constructor(options: ManualClockOptions = {}) {
    this.#wallMs = (options.start ?? new Date(0)).getTime();
  }

  /**
   * The wall time.
   *
   * @returns A new date at the current reading.
   */
  now(): Date {
    return new Date(this.#wallMs);
  }

  /**
   * The monotonic reading, from 0 at creation.
   *
   * @returns Milliseconds.
   */
  monotonicMs(): number {
    return this.#monotonicMs;
  }

  /**
   * Moves both readings forward.
   *
   * @param ms How far, in milliseconds (0 or more).
   * @throws {UsageError} When `ms` is negative or not finite.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new UsageError(`Invalid clock step ${ms}: expected a finite number of ms, 0 or more`);
    }
    this.#wallMs += ms;
    this.#monotonicMs += ms;
  }
}
