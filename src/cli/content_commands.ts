/**
 * `lily pin <artifact_id> [--reason TEXT]`, `lily unpin <artifact_id>` and
 * `lily gc [--dry-run] [--older-than DURATION] [--keep-last N]`: the content
 * store's pins and gc, through the kernel.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { UsageError } from "../core/errors.ts";
import { DURATION_HINT, parseDuration } from "../graph/duration.ts";
import type { GcReport } from "../kernel/content_store.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, withKernel } from "./context.ts";
import { emit } from "./output.ts";

function duration(value: string): number {
  const ms = parseDuration(/^\d+$/.test(value) ? Number(value) : value);
  if (ms === undefined) {
    throw new UsageError(`Invalid --older-than ${JSON.stringify(value)}: ${DURATION_HINT}`);
  }
  return ms;
}

function count(value: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw new UsageError(
      `Invalid --keep-last ${JSON.stringify(value)}: expected a whole number of runs such as 10`,
    );
  }
  return Number(value);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}

function gcLines(report: GcReport): string[] {
  const verb = report.dry_run ? "would be removed" : "removed";
  const collected = new Set(report.artifacts);
  // Keys are `<run_id>/artifacts/<artifact_id>/<name>`; those of no collected artifact are a crash's.
  const interrupted = report.keys.filter((key) => !collected.has(key.split("/")[2] ?? ""));
  const paths = interrupted.length === 1 ? "path" : "paths";
  return [
    ...report.runs.map((id) => `run ${id}: payloads collected`),
    ...report.pinned_kept.map((id) => `artifact ${id}: pinned, kept`),
    ...report.referenced_kept.map((id) => `artifact ${id}: read by a kept run, kept`),
    ...report.payloads.map((p) => `payload ${p.sha256} (${p.size} bytes): ${verb}`),
    ...interrupted.map((key) => `path ${key}: ${verb} (interrupted put)`),
    ...report.leftovers.map((path) => `leftover ${path}: ${verb}`),
    `${report.dry_run ? "Dry run: nothing changed. " : ""}` +
    `${report.runs.length} runs selected, ${report.artifacts.length} artifacts collected, ` +
    `${report.payloads.length} payloads ${verb} (${mib(report.bytes_freed)}), ` +
    `${report.shared_kept} kept as shared with kept artifacts, ` +
    `${interrupted.length} ${paths} of interrupted puts ${verb}, ` +
    `${report.pinned_kept.length} pinned kept, ${report.referenced_kept.length} read by kept runs` +
    (report.gc_id ? ` (gc ${report.gc_id})` : ""),
  ];
}

/**
 * Adds `pin`, `unpin` and `gc` to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerContentCommands(program: Command, ctx: CliContext): void {
  program.command("pin")
    .description("Keep an artifact's payload from gc (again: update the reason)")
    .argument("<artifact_id>", "the artifact")
    .option("--reason <text>", "why, in words")
    .action(async (artifactId, opts, cmd) => {
      const g = globalOptions(cmd);
      const pin = await withKernel(
        ctx,
        g,
        (kernel) => kernel.content.pin(artifactId, { reason: opts.reason }),
      );
      emit(ctx.output, g.json, pin, () => [
        `${pin.was_pinned ? "Updated the pin of" : "Pinned"} artifact ${pin.artifact_id} ` +
        `(sha256 ${pin.sha256})` + (pin.reason === null ? "" : `: ${pin.reason}`),
      ]);
    });

  program.command("unpin")
    .description("Let gc collect an artifact's payload again")
    .argument("<artifact_id>", "the artifact")
    .action(async (artifactId, _opts, cmd) => {
      const g = globalOptions(cmd);
      const done = await withKernel(ctx, g, (kernel) => kernel.content.unpin(artifactId));
      emit(ctx.output, g.json, done, () => [`Unpinned artifact ${done.artifact_id}`]);
    });

  program.command("gc")
    .description(
      "Remove the payloads of ended runs selected by --older-than / --keep-last, and every " +
        "payload nothing references; never a pinned or still-referenced payload",
    )
    .option("--dry-run", "report what would be removed; change nothing")
    .option("--older-than <duration>", "select ended runs last updated this long ago, e.g. 168h")
    .option("--keep-last <n>", "select every ended run but the newest N")
    .action(async (opts, cmd) => {
      const g = globalOptions(cmd);
      const olderThanMs = opts.olderThan === undefined ? undefined : duration(opts.olderThan);
      const keepLast = opts.keepLast === undefined ? undefined : count(opts.keepLast);
      const report = await withKernel(
        ctx,
        g,
        (kernel) => kernel.content.gc({ dryRun: opts.dryRun ?? false, olderThanMs, keepLast }),
      );
      emit(ctx.output, g.json, report, () => gcLines(report));
    });
}
