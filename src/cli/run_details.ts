/**
 * How the CLI words what a person needs to act on a failed attempt or gate:
 * the last lines of its log and the command that prints all of it. The
 * data comes from the kernel's queries.
 *
 * @module
 */

import type { GateFailure, LogExcerpt } from "../kernel/run_logs.ts";

/** Spells a `lily` command so that it works as typed. */
export type CommandHint = (args: readonly string[]) => string;

/**
 * Words a log excerpt: its last lines and the command that prints all of it.
 *
 * @param log The excerpt, or `null` when there is no log.
 * @param hint Spells a command.
 * @param indent Prefix of every line.
 * @returns The lines (none when there is no log).
 */
export function logLines(log: LogExcerpt | null, hint: CommandHint, indent: string): string[] {
  if (log === null) return [];
  const { stream, lines, total, artifact_id: id } = log;
  const of = total === null
    ? `last ${lines.length} lines`
    : total > lines.length
    ? `last ${lines.length} of ${total} lines`
    : lines.length === 1
    ? "1 line"
    : `${lines.length} lines`;
  const command = log.storage_kind === "file"
    ? `cat "$(${hint(["artifact", "path", id])})"`
    : hint(["artifact", "get", id]);
  return [
    `${indent}${stream} (${of}):`,
    ...lines.map((line) => `${indent}  ${line}`),
    `${indent}whole ${stream}: ${command}`,
  ];
}

/**
 * Words a failed or errored gate: its reasons, then its log.
 *
 * @param failure The gate's reasons and log excerpt.
 * @param hint Spells a command.
 * @param indent Prefix of every line.
 * @returns The lines.
 */
export function gateFailureLines(
  failure: GateFailure,
  hint: CommandHint,
  indent: string,
): string[] {
  return [
    ...(failure.reasons.length > 0 ? [`${indent}${failure.reasons.join("; ")}`] : []),
    ...logLines(failure.log, hint, indent),
  ];
}
