/**
 * Progress of a live run on stderr: one line per transition.
 *
 * @module
 */

import type { RunEvent, RunState } from "../runtime/run_events.ts";

function seconds(ms: number | null): string {
  return ms === null ? "" : ` in ${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}

/**
 * Describes one event as a progress line, or `undefined` for events not
 * worth a line.
 *
 * @param event The event.
 * @param state The run state after it.
 * @returns The line.
 */
export function progressLine(event: RunEvent, state: RunState): string | undefined {
  const time = event.at.slice(11, 23);
  const line = (text: string) => `[${time}] ${text}`;
  switch (event.type) {
    case "runner_started":
      return line(`${event.resumed ? "resumed" : "started"} run ${state.run_id}`);
    case "attempt_started":
      return line(`${event.step}#${event.attempt} started`);
    case "attempt_finished":
      return line(
        `${event.step}#${event.attempt} ${event.status}${seconds(event.duration_ms)}` +
          (event.message ? `: ${event.message}` : ""),
      );
    case "gate_finished":
      return line(
        `  gate ${event.gate.gate_id} on ${event.step}#${event.attempt}: ${event.gate.status}` +
          (event.gate.required ? "" : " (optional)"),
      );
    case "gate_waiting":
      return line(
        `${event.step}#${event.attempt} waits for gate ${event.gate_id}: ` +
          `lily approve ${state.run_id} ${event.gate_id} [--reject]`,
      );
    case "step_finished":
      return event.warnings.length > 0
        ? line(`${event.step} ${event.status} with warnings: ${event.warnings.join("; ")}`)
        : undefined;
    case "run_finished":
      return line(`run ${state.run_id} ${event.status}${event.reason ? `: ${event.reason}` : ""}`);
    default:
      return undefined;
  }
}
