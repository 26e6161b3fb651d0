/**
 * Durations as workflow files write them: `500ms`, `30s`, `5m`, `1h`, or a
 * number of milliseconds; whole milliseconds from 1 ms up to
 * {@linkcode MAX_DURATION_MS} (`1.5s` is 1500 ms; `0.5ms` and `1.0005s` are
 * refused, not rounded).
 *
 * @module
 */

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** The longest duration a workflow may give: 8760h (365 days), in ms. */
export const MAX_DURATION_MS: number = 8760 * 3_600_000;

/** What a valid duration looks like, for error messages. */
export const DURATION_HINT: string =
  "expected a duration of whole milliseconds from 1ms to 8760h (365 days) such as 500ms, 30s, " +
  "1.5s, 5m or 1h, or a number of milliseconds";

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
 * `undefined` when the value is not a duration, is not a whole number of
 * milliseconds, or lies outside that range.
 */
export function parseDuration(value: number | string): number | undefined {
  let ms: number;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return undefined;
    ms = value;
  } else {
    const match = DURATION.exec(value.trim());
    if (!match) return undefined;
    const [whole, fraction = ""] = match[1].split(".");
    // Exact decimal arithmetic: 1.001s is 1001 ms, 0.5ms is no whole number of ms.
    const scale = 10n ** BigInt(fraction.length);
    const scaled = BigInt(whole + fraction) * BigInt(UNITS[match[2]]);
    if (scaled % scale !== 0n) return undefined;
    ms = Number(scaled / scale);
  }
  return Number.isFinite(ms) && ms >= 1 && ms <= MAX_DURATION_MS ? ms : undefined;
}
