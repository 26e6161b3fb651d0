/**
 * Commands the CLI suggests (`Details: lily run show <id>`), spelled so
 * they work as typed: shell-quoted, and with `--workspace <dir>` whenever
 * the workspace is not the current directory.
 *
 * @module
 */

import { resolve } from "node:path";

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes a word for a POSIX shell (single quotes unless it is plain).
 *
 * @param word The word.
 * @returns The word as a shell would read it back.
 */
export function shellQuote(word: string): string {
  return SAFE_WORD.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Spells `lily <args>`, adding `--workspace <dir>` when `workspace` is not
 * the current directory.
 *
 * @param args The command's words, e.g. `["run", "show", id]`.
 * @param workspace The absolute workspace directory.
 * @param cwd The directory the user types in.
 * @returns The command line.
 */
export function commandLine(
  args: readonly string[],
  workspace: string,
  cwd: string = Deno.cwd(),
): string {
  const words = ["lily", ...args];
  if (resolve(workspace) !== resolve(cwd)) words.push("--workspace", workspace);
  return words.map(shellQuote).join(" ");
}

/**
 * Rewrites every `` `lily …` `` hint inside a message from a lower layer
 * (which cannot know the workspace) so that it works as typed.
 *
 * @param message The message, hints in backticks.
 * @param workspace The absolute workspace directory.
 * @param cwd The directory the user types in.
 * @returns The message with its hints completed.
 */
export function completeHints(
  message: string,
  workspace: string,
  cwd: string = Deno.cwd(),
): string {
  if (resolve(workspace) === resolve(cwd)) return message;
  return message.replace(
    /`lily ([^`]*)`/g,
    (_, rest: string) => `\`lily ${rest} --workspace ${shellQuote(workspace)}\``,
  );
}
