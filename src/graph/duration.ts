/**
 * Durations as workflow files write them: `500ms`, `30s`, `5m`, `1h`, or a
 * number of milliseconds; from 1 ms up to {@linkcode MAX_DURATION_MS}.
 *
 * @module
 */

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** The longest duration a workflow may give: 8760h (365 days), in ms. */
export const MAX_DURATION_MS: number = 8760 * 3_600_000;

/** What a valid duration looks like, for error messages. */
export const DURATION_HINT: string =
  "expected a duration from 1ms to 8760h (365 days) such as 500ms, 30s, 5m or 1h, " +
  "or a number of milliseconds";

/**
 * Converts a duration to milliseconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * console.assert(parseDuration("1.5s") === 1500);
 * console.assert(parseDuration("9000h") === undefined);
 * ```
 *
 * @param value A number of ms, or a string such as `30s`.
 * @returns Whole milliseconds from 1 to {@linkcode MAX_DURATION_MS}, or
 * `undefined` when the value is not a duration or lies outside that range.
 */
export function parseDuration(value: number | string): number | undefined {
  let ms: number;
  if (typeof value === "number") ms = Math.round(value);
  else {
    const match = DURATION.exec(value.trim());
    if (!match) return undefined;
    ms = Math.round(Number(match[1]) * UNITS[match[2]]);
  }
  return Number.isFinite(ms) && ms >= 1 && ms <= MAX_DURATION_MS ? ms : undefined;
}
