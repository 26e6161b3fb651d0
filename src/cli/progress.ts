/**
 * Progress of a live run on stderr: one line per transition, and under a
 * failed attempt or gate the last lines of its log and the command that
 * prints all of it.
 *
 * @module
 */

import type { RunQueries } from "../kernel/kernel.ts";
import type { RunEvent } from "../runtime/run_events.ts";
import { routeDetails, routeLabel } from "./route_view.ts";
import { type CommandHint, gateFailureLines, logLines } from "./run_details.ts";

function seconds(ms: number | null): string {
  return ms === null ? "" : ` in ${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}

/** What {@linkcode progressLines} reads details from. */
export interface ProgressContext {
  /** The kernel's queries, for logs and gate results. */
  readonly queries: RunQueries;
  /** Spells a `lily` command so that it works as typed. */
  readonly hint: CommandHint;
}

/**
 * Describes one event as progress lines (none for events not worth a line).
 * The run's end is not among them: the command's report says it once.
 *
 * @param event The event.
 * @param runId The run.
 * @param ctx Where details come from.
 * @returns The lines.
 */
export async function progressLines(
  event: RunEvent,
  runId: string,
  ctx: ProgressContext,
): Promise<string[]> {
  const time = event.at.slice(11, 23);
  const line = (text: string) => `[${time}] ${text}`;
  const indent = " ".repeat(time.length + 5);
  switch (event.type) {
    case "runner_started":
      return [line(`${event.resumed ? "resumed" : "started"} run ${runId}`)];
    case "attempt_started":
      return [
        line(
          `${event.step}#${event.attempt} started` +
            (event.cause && event.cause !== "first" ? ` (${event.cause})` : ""),
        ),
      ];
    case "retry_scheduled":
      return [line(`${event.step}#${event.attempt} will be retried: ${event.reason}`)];
    case "route_taken":
      return [line(`route ${routeLabel(event)}: ${routeDetails(event)}`)];
    case "attempt_finished": {
      const failed = event.status === "failed" || event.status === "timeout";
      return [
        line(
          `${event.step}#${event.attempt} ${event.status}${seconds(event.duration_ms)}` +
            (event.message ? `: ${event.message}` : ""),
        ),
        ...(failed ? logLines(await ctx.queries.attemptLog(event.logs), ctx.hint, indent) : []),
      ];
    }
    case "gate_finished": {
      const failed = event.gate.status === "fail" || event.gate.status === "error";
      return [
        line(
          `  gate ${event.gate.gate_id} on ${event.step}#${event.attempt}: ${event.gate.status}` +
            (event.gate.required ? "" : " (optional)"),
        ),
        ...(failed
          ? gateFailureLines(
            await ctx.queries.gateFailure(event.gate.result_id),
            ctx.hint,
            `${indent}  `,
          )
          : []),
      ];
    }
    case "gate_waiting":
      return [
        line(
          `${event.step}#${event.attempt} waits for gate ${event.gate_id}` +
            (event.prompt ? `: ${JSON.stringify(event.prompt)}` : ""),
        ),
        `${indent}decide with: ${ctx.hint(["approve", runId, event.gate_id])} ` +
        `(or add --reject --reason TEXT)`,
      ];
    case "step_finished":
      return [
        ...(event.warnings.length > 0
          ? [line(`${event.step} ${event.status} with warnings: ${event.warnings.join("; ")}`)]
          : []),
        ...(event.reason ? [line(`${event.step} ${event.status}: ${event.reason}`)] : []),
      ];
    default:
      return [];
  }
}
