/**
 * Durations as workflow files write them: `500ms`, `30s`, `5m`, `1h`, or a
 * number of milliseconds.
 *
 * @module
 */

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/**
 * Converts a duration to milliseconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * console.assert(parseDuration("1.5s") === 1500);
 * ```
 *
 * @param value A number of ms, or a string such as `30s`.
 * @returns Whole milliseconds, or `undefined` when the value is not a duration.
 */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
  }
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * UNITS[match[2]]);
  return ms > 0 ? ms : undefined;
}
