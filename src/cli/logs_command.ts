/**
 * `lily logs <run_id> [--step S] [--attempt N] [--stream stdout|stderr]
 * [--follow]`: the output a run's attempts and gates captured, each block
 * headed by where it comes from; with `--follow`, new output as it is
 * written, until the run's runner stops.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import { UsageError } from "../core/errors.ts";
import type { LogSource } from "../kernel/run_log_stream.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, withKernel } from "./context.ts";

function parseAttempt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`Invalid --attempt ${JSON.stringify(value)}: expected a positive integer`);
  }
  return n;
}

/** The header of a block: `==> build#1 stdout <==`, `==> build#1 gate tests stderr <==`. */
function header(source: LogSource): string {
  const gate = source.gate_id === null ? "" : ` gate ${source.gate_id}`;
  return `==> ${source.step}#${source.attempt}${gate} ${source.stream} <==`;
}

function sameSource(a: LogSource | null, b: LogSource): boolean {
  return a !== null && a.step === b.step && a.attempt === b.attempt &&
    a.gate_id === b.gate_id && a.stream === b.stream;
}

/**
 * Adds `lily logs` to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerLogsCommand(program: Command, ctx: CliContext): void {
  program.command("logs")
    .description(
      "Print the output a run's steps and gates captured; --follow streams it while the run is live",
    )
    .argument("<run_id>", "the run")
    .option("--step <step>", "only this step's attempts and the gates that judged them")
    .option("--attempt <n>", "only this attempt of --step", parseAttempt)
    .addOption(
      new Option("--stream <stream>", "only this stream").choices(["stdout", "stderr"] as const),
    )
    .option("--follow", "keep printing new output until the run's runner stops")
    .action(async (runId, opts, cmd) => {
      const g = globalOptions(cmd);
      const follow = opts.follow ?? false;
      const blocks: (LogSource & { text: string })[] = [];
      let last: LogSource | null = null;
      let endsInNewline = true;
      const encoder = new TextEncoder();
      await withKernel(ctx, g, async (kernel) => {
        const items = kernel.queries.runLogs(runId, {
          step: opts.step,
          attempt: opts.attempt,
          stream: opts.stream,
          follow,
        });
        for await (const item of items) {
          if (item.kind === "end") {
            if (g.json && !follow) {
              ctx.output.out(
                JSON.stringify({ run_id: runId, status: item.status, logs: blocks }, null, 2),
              );
            } else if (g.json) {
              ctx.output.out(
                JSON.stringify({
                  end: { run_id: runId, status: item.status, reason: item.end?.reason ?? null },
                }),
              );
            } else {
              if (!endsInNewline) ctx.output.raw(encoder.encode("\n"));
              if (last === null) ctx.output.err(`No output captured for run ${runId}`);
              if (follow) ctx.output.err(`Run ${runId} ${item.status}`);
            }
            continue;
          }
          if (g.json && !follow) {
            const prev = blocks.at(-1);
            if (prev && sameSource(prev, item.source)) prev.text += item.text;
            else blocks.push({ ...item.source, text: item.text });
          } else if (g.json) {
            ctx.output.out(JSON.stringify({ ...item.source, text: item.text }));
          } else {
            if (!sameSource(last, item.source)) {
              if (!endsInNewline) ctx.output.raw(encoder.encode("\n"));
              ctx.output.out(header(item.source));
            }
            ctx.output.raw(encoder.encode(item.text));
            endsInNewline = item.text.endsWith("\n");
          }
          last = item.source;
        }
      });
    });
}
