/**
 * The run files beside the journal, checked by verification: the lock
 * files (`runner.lock`, `.lock`), the lease holder (`runner.json`) and the exported state
 * (`run_state.json`) must each be absent or what the runner writes.
 *
 * @module
 */

import type { RunLayout } from "../layout.ts";

/**
 * Checks a run's lock files, lease holder and exported state.
 *
 * @param run The run's paths.
 * @param runId The run id.
 * @returns Each damaged file with what is wrong with it.
 */
export async function runFileProblems(
  run: RunLayout,
  runId: string,
): Promise<[string, string][]> {
  const problems: [string, string][] = [];
  const locks: readonly (readonly [string, string])[] = [
    [run.lease, "runner lease"],
    [run.lock, "manifest lock"],
  ];
  for (const [path, what] of locks) {
    const problem = await lockFileProblem(path, what);
    if (problem !== undefined) problems.push([path, problem]);
  }
  const holder = await readJson(run.leaseInfo);
  if (
    holder !== undefined &&
    ("problem" in holder || !isObject(holder.value) || !Number.isInteger(holder.value.pid) ||
      typeof holder.value.since !== "string")
  ) {
    problems.push([
      run.leaseInfo,
      `${"problem" in holder ? holder.problem : "it holds other JSON"}, not the last ` +
      'runner\'s {"pid", "since"}; it only names the last runner, so removing it loses nothing',
    ]);
  }
  const state = await readJson(run.state);
  if (
    state !== undefined &&
    ("problem" in state || !isObject(state.value) || state.value.run_id !== runId)
  ) {
    problems.push([
      run.state,
      `${"problem" in state ? state.problem : "it holds other JSON"}, not this run's exported ` +
      "state; it is an export of the journal (events.jsonl), which keeps the run's record, so " +
      "removing it loses nothing",
    ]);
  }
  return problems;
}

/**
 * What is wrong with a lock file (one that holds no data, only an OS lock):
 * absent or a regular file is right.
 *
 * @param path The lock file.
 * @param what What it is, for the message (e.g. `runner lease`).
 * @returns The problem, or `undefined` when there is none.
 */
export async function lockFileProblem(path: string, what: string): Promise<string | undefined> {
  const kind = await kindOf(path);
  return kind === "absent" || kind === "a regular file"
    ? undefined
    : `the ${what} file is ${kind}; it holds no data: remove it`;
}

async function kindOf(path: string): Promise<string> {
  try {
    const info = await Deno.lstat(path);
    return info.isFile ? "a regular file" : info.isSymlink ? "a symlink" : "not a regular file";
  } catch (err) {
    return err instanceof Deno.errors.NotFound
      ? "absent"
      : `unreadable (${(err as Error).message})`;
  }
}

/** The parsed file, `undefined` when absent, or what makes it unreadable. */
async function readJson(
  path: string,
): Promise<{ value: unknown } | { problem: string } | undefined> {
  const kind = await kindOf(path);
  if (kind === "absent") return undefined;
  if (kind !== "a regular file") return { problem: `it is ${kind}` };
  try {
    return { value: JSON.parse(await Deno.readTextFile(path)) };
  } catch (err) {
    return {
      problem: err instanceof SyntaxError
        ? "it is not valid JSON"
        : `it is unreadable (${(err as Error).message})`,
    };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
