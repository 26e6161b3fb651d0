/**
 * `lily run show <run_id> --follow`: the run's events as they are
 * journaled, one line each (one JSON object per line with `--json`), until
 * the run's runner stops.
 *
 * @module
 */

import type { RunEvent } from "../runtime/run_events.ts";
import type { CliContext, GlobalOptions } from "./context.ts";
import { withKernel } from "./context.ts";

/** The fields an event line shows after its type and subject, in this order. */
const DETAILS = [
  "cause",
  "status",
  "exit_code",
  "gate_id",
  "pid",
  "delay_ms",
  "message",
  "reason",
  "goto",
  "from",
  "original",
  "replacement",
  "reset",
  "by",
];

function detail(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  return Array.isArray(value) ? value.join(",") : String(value);
}

/**
 * One event as a line: `<at> #<seq> <type> [<step>#<attempt>] key=value…`.
 *
 * @param event The event.
 * @returns The line.
 */
export function eventLine(event: RunEvent): string {
  const fields = event as unknown as Record<string, unknown>;
  const subject = typeof fields.step === "string"
    ? ` ${fields.step}${typeof fields.attempt === "number" ? `#${fields.attempt}` : ""}`
    : "";
  const gate = fields.gate as { gate_id?: string; status?: string } | undefined;
  const details = [
    ...(gate ? [`gate=${gate.gate_id}:${gate.status}`] : []),
    ...DETAILS.filter((k) => fields[k] !== undefined && fields[k] !== null).map((k) =>
      `${k}=${detail(fields[k])}`
    ),
  ];
  return `${event.at} #${event.seq} ${event.type}${subject}${
    details.length ? ` ${details.join(" ")}` : ""
  }`;
}

/**
 * Prints a run's events from the first, then each new one as it is
 * journaled, until the run's runner stops.
 *
 * @param ctx The CLI context.
 * @param g The global options.
 * @param runId The run.
 * @throws {RunnerGoneError} When the run has not finished and no runner runs it.
 */
export async function followRunShow(
  ctx: CliContext,
  g: GlobalOptions,
  runId: string,
): Promise<void> {
  await withKernel(ctx, g, async (kernel) => {
    for await (const item of kernel.queries.runEvents(runId, { follow: true })) {
      if (item.kind === "event") {
        ctx.output.out(g.json ? JSON.stringify(item.event) : eventLine(item.event));
      } else if (!g.json) {
        ctx.output.err(`Run ${runId} ${item.end?.status ?? "ended"}`);
      }
    }
  });
}
