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
import type { LogSource, RunLogItem } from "../kernel/run_log_stream.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, withKernel } from "./context.ts";
import type { Output } from "./output.ts";

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

type EndItem = Extract<RunLogItem, { kind: "end" }>;
type OutputItem = Extract<RunLogItem, { kind: "output" }>;

/** How the items are printed: one of the three forms below. */
interface LogPrinter {
  output(item: OutputItem): void;
  end(item: EndItem): void;
}

/** `--json` without `--follow`: one document once everything is read. */
function jsonDocument(out: Output, runId: string): LogPrinter {
  const logs: (LogSource & { text: string })[] = [];
  return {
    output({ source, text }) {
      const last = logs.at(-1);
      if (last && sameSource(last, source)) last.text += text;
      else logs.push({ ...source, text });
    },
    end({ status }) {
      out.out(JSON.stringify({ run_id: runId, status, logs }, null, 2));
    },
  };
}

/** `--follow --json`: one object per chunk, then the end, one per line. */
function jsonLines(out: Output, runId: string): LogPrinter {
  return {
    output({ source, text }) {
      out.out(JSON.stringify({ ...source, text }));
    },
    end({ status, end }) {
      out.out(JSON.stringify({ end: { run_id: runId, status, reason: end?.reason ?? null } }));
    },
  };
}

/** Text: the output as written, a header whenever its source changes. */
function text(out: Output, runId: string, follow: boolean): LogPrinter {
  const encoder = new TextEncoder();
  let last: LogSource | null = null;
  let endsInNewline = true;
  const newline = () => {
    if (!endsInNewline) out.raw(encoder.encode("\n"));
  };
  return {
    output({ source, text }) {
      if (!sameSource(last, source)) {
        newline();
        out.out(header(source));
      }
      out.raw(encoder.encode(text));
      endsInNewline = text.endsWith("\n");
      last = source;
    },
    end({ status }) {
      newline();
      if (last === null) out.err(`No output captured for run ${runId}`);
      if (follow) out.err(`Run ${runId} ${status}`);
    },
  };
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
      const printer = !g.json
        ? text(ctx.output, runId, follow)
        : follow
        ? jsonLines(ctx.output, runId)
        : jsonDocument(ctx.output, runId);
      await withKernel(ctx, g, async (kernel) => {
        const items = kernel.queries.runLogs(runId, {
          step: opts.step,
          attempt: opts.attempt,
          stream: opts.stream,
          follow,
        });
        for await (const item of items) {
          if (item.kind === "end") printer.end(item);
          else printer.output(item);
        }
      });
    });
}
