/**
 * How reruns, replacements and superseded attempts read in `lily run show`.
 *
 * @module
 */

import type { AttemptHistoryEntry, ReplayEvent } from "../kernel/run_history.ts";
import { table } from "./output.ts";

/**
 * Lists the reruns and replacements a run took, numbered, under `Replays:`.
 *
 * @param replays The `rerun_requested` and `artifact_replaced` events, in journal order.
 * @returns The lines (none when the run took none).
 */
export function describeReplays(replays: readonly ReplayEvent[]): string[] {
  if (replays.length === 0) return [];
  return [
    "Replays:",
    ...replays.map((e, i) => {
      const reset = e.reset.length > 0 ? `reset ${e.reset.join(", ")}` : "nothing reset";
      return e.type === "rerun_requested"
        ? `  ${i + 1}. rerun from ${e.from} by ${e.by} at ${e.at}; ${reset}`
        : `  ${i + 1}. ${e.original} replaced by ${e.replacement} (record ${e.record}) ` +
          `by ${e.by} at ${e.at}; ${reset}`;
    }),
  ];
}

/**
 * Lays out every attempt of a run under `History:`, marking the current
 * ones and those superseded.
 *
 * @param history The run's attempts.
 * @returns The lines.
 */
export function describeHistory(history: readonly AttemptHistoryEntry[]): string[] {
  return [
    "History:",
    ...table(
      ["  ATTEMPT", "CAUSE", "STATUS", "RESULT", "OUTPUTS"],
      history.map((a) => [
        `  ${a.step}#${a.attempt}`,
        a.cause ?? "-",
        a.status,
        a.current
          ? "current"
          : a.superseded_by !== null
          ? `superseded by #${a.superseded_by}`
          : "-",
        Object.entries(a.outputs).map(([name, id]) =>
          `${name}=${id}${a.replaced[name] ? ` (replaced by ${a.replaced[name]})` : ""}`
        ).join(" ") || "-",
      ]),
    ),
  ];
}
