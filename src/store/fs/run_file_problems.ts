/**
 * The run files beside the journal, checked by verification: the lease
 * files (`runner.lock`, `runner.json`) and the exported state
 * (`run_state.json`) must each be absent or what the runner writes.
 *
 * @module
 */

import type { RunLayout } from "../layout.ts";

/**
 * Checks a run's lease files and exported state.
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
  const lock = await kindOf(run.lease);
  if (lock !== "absent" && lock !== "a regular file") {
    problems.push([run.lease, `the runner lease file is ${lock}; remove it`]);
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
