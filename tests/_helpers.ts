/**
 * Test helpers: temp workspaces, spawning the CLI as a user would, and
 * fingerprints of a store to prove a failed command changed nothing.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseWorkflow, type WorkflowError } from "../mod.ts";
import { openStore, type Store } from "../store.ts";
import { findBubblewrap } from "../src/runtime/executors/bubblewrap.ts";

/**
 * Whether Lily can sandbox steps here. Without a working bubblewrap (and
 * without `LILY_REQUIRE_BWRAP=1`), the tests run Lily with
 * `LILY_SANDBOX=off`, as a user without bubblewrap would run it, so
 * `deno task test` passes on a machine with only Deno; the sandbox tests are
 * skipped then (`bwrapTest`).
 */
export const SANDBOXED: boolean = Deno.env.get("LILY_REQUIRE_BWRAP") === "1" ||
  await findBubblewrap() !== undefined;
if (!SANDBOXED) Deno.env.set("LILY_SANDBOX", "off");

/** What a test's injected kernel environment adds so its runs work where Lily cannot sandbox. */
export const SANDBOX_ENV: Readonly<Record<string, string>> = SANDBOXED
  ? {}
  : { LILY_SANDBOX: "off" };

/** The repository root. */
export const REPO: string = fileURLToPath(new URL("..", import.meta.url));

/** The CLI entry point. */
export const CLI = join(REPO, "cli.ts");

/** What a spawned CLI did. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `lily` in a child process.
 *
 * @param args CLI arguments.
 * @param options The workspace (passed as LILY_WORKSPACE) and cwd.
 * @returns Exit code and output.
 */
export async function lily(
  args: string[],
  options: { workspace?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return await runProgram(Deno.execPath(), ["run", "-A", "--quiet", CLI, ...args], {
    cwd: options.cwd ?? options.workspace,
    env: {
      ...(options.workspace ? { LILY_WORKSPACE: options.workspace } : {}),
      ...options.env,
    },
  });
}

/**
 * Runs a program to its end with no stdin, `NO_COLOR=1` and the given environment.
 *
 * @param program The program.
 * @param args Its arguments.
 * @param options The directory it runs in and more environment variables.
 * @returns Exit code and output (UTF-8).
 */
export async function runProgram(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const out = await new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * Runs `lily … --json` and parses its single JSON document.
 *
 * @param args CLI arguments (without `--json`).
 * @param workspace The workspace.
 * @returns The parsed document.
 */
export async function lilyJson<T = unknown>(args: string[], workspace: string): Promise<T> {
  const result = await lily([...args, "--json"], { workspace });
  if (result.code !== 0) {
    throw new Error(`lily ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/**
 * Runs `fn` with a fresh temp directory and removes it afterwards.
 *
 * @param fn The test body.
 */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "lily_test_" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Fingerprints every file under a directory (path → sha256), following no
 * symlinks, plus the index rows, so a test can prove nothing changed.
 *
 * @param dir The directory (usually `<workspace>/.iris`).
 * @returns A stable description of the tree.
 */
export async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(path: string): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const entry of entries) {
      const full = join(path, entry.name);
      const rel = relative(dir, full);
      if (entry.name.startsWith("index.sqlite")) continue;
      if (entry.isSymlink) out[rel] = `symlink:${await Deno.readLink(full)}`;
      else if (entry.isDirectory) {
        out[rel] = "dir";
        await walk(full);
      } else {
        out[rel] = createHash("sha256").update(await Deno.readFile(full)).digest("hex");
      }
    }
  }
  await walk(dir);
  const { DatabaseSync } = await import("node:sqlite");
  try {
    const db = new DatabaseSync(join(dir, "index.sqlite"), { readOnly: true });
    try {
      const rows = db.prepare("SELECT * FROM artifacts ORDER BY artifact_id").all();
      out["index.sqlite#artifacts"] = JSON.stringify(rows);
    } finally {
      db.close();
    }
  } catch {
    out["index.sqlite#artifacts"] = "absent";
  }
  return out;
}

/**
 * Asserts a failed CLI call looked like a user error: the given exit code,
 * one line on stderr, no stack trace.
 *
 * @param result The CLI result.
 * @param code The expected exit code.
 * @param pattern What the message must mention.
 */
export function assertCleanError(result: CliResult, code: number, pattern: RegExp): void {
  const lines = result.stderr.trim().split("\n");
  if (result.code !== code) {
    throw new Error(`expected exit ${code}, got ${result.code}; stderr: ${result.stderr}`);
  }
  if (lines.length !== 1 || /\n\s+at /.test(result.stderr) || !pattern.test(lines[0])) {
    throw new Error(`expected one line matching ${pattern}, got: ${result.stderr}`);
  }
}

/** A `lily` process running in the background. */
export interface BackgroundLily {
  /** The child. */
  readonly child: Deno.ChildProcess;
  /** Resolves with exit code, the signal that ended it (if any) and output once it ends. */
  readonly done: Promise<CliResult & { signal: Deno.Signal | null }>;
}

/**
 * Starts `lily` in the background.
 *
 * @param args CLI arguments.
 * @param workspace The workspace.
 * @param env Extra environment (e.g. the test-only crash points `LILY_TEST_CRASH_AT`).
 * @returns The child and a promise of its result.
 */
export function lilyInBackground(
  args: string[],
  workspace: string,
  env: Record<string, string> = {},
): BackgroundLily {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...args],
    cwd: workspace,
    env: { LILY_WORKSPACE: workspace, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const done = child.output().then((out) => ({
    code: out.code,
    signal: out.signal,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  }));
  return { child, done };
}

/**
 * Waits until `check` returns a value, polling a condition (not a fixed
 * sleep), failing after `timeoutMs`.
 *
 * @param what What is awaited, for the error.
 * @param check Returns the value once the condition holds.
 * @param timeoutMs How long to wait.
 * @returns The value.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Reads a run's journal events (complete lines only).
 *
 * @param workspace The workspace.
 * @param runId The run.
 * @returns The events.
 */
export async function runEvents(
  workspace: string,
  runId: string,
): Promise<{ type: string; step?: string; [key: string]: unknown }[]> {
  try {
    const text = await Deno.readTextFile(join(workspace, ".iris", "runs", runId, "events.jsonl"));
    return text.split("\n").slice(0, -1).map((line) => JSON.parse(line));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/**
 * Waits until a run's journal holds an event of the given type.
 *
 * @param workspace The workspace.
 * @param runId The run.
 * @param type The event type (e.g. `attempt_spawned`).
 * @param what What is awaited, for the timeout's message.
 */
export async function waitForEvent(
  workspace: string,
  runId: string,
  type: string,
  what: string,
): Promise<void> {
  await waitFor(
    what,
    async () => (await runEvents(workspace, runId)).some((e) => e.type === type) || undefined,
  );
}

/**
 * A sleep argument no other process on the machine has.
 *
 * @returns A string such as `1000.123456789`, valid as `sleep`'s argument.
 */
export function marker(): string {
  return `1000.${crypto.getRandomValues(new Uint32Array(1))[0]}`;
}

/**
 * Lists the pids of live (not zombie) processes that have `arg` as one of
 * their arguments.
 *
 * @param arg An argument, e.g. a {@linkcode marker}.
 * @returns Pids.
 */
export async function processesWith(arg: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (!cmdline.split("\0").includes(arg)) continue;
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z") pids.push(Number(entry.name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/**
 * Polls until no process has `arg` as an argument (a SIGKILL, and bubblewrap's
 * `--die-with-parent`, take effect asynchronously), failing after `withinMs`.
 *
 * @param arg The argument, e.g. a {@linkcode marker}.
 * @param withinMs How long the processes may take to go, in milliseconds.
 */
export async function assertNoProcessWith(arg: string, withinMs = 5000): Promise<void> {
  const deadline = Date.now() + withinMs;
  let left = await processesWith(arg);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = await processesWith(arg);
  }
  if (left.length > 0) {
    throw new Error(`processes with ${arg} survived ${withinMs} ms: ${left.join(", ")}`);
  }
}

/**
 * Reads an attempt's log file; a missing log is an empty stream.
 *
 * @param path The log file.
 * @returns Its text, or "" when it does not exist.
 */
export async function readLog(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "";
    throw err;
  }
}

/**
 * Runs `fn` with a temp workspace, an open store and one fresh run in it.
 *
 * @param fn The test body: workspace, store and run id.
 */
export async function withRunStore(
  fn: (ws: string, store: Store, runId: string) => Promise<void>,
): Promise<void> {
  await withTempDir(async (ws) => {
    const store = await openStore(ws);
    try {
      const { manifest } = await store.runs.create();
      await fn(ws, store, manifest.run_id);
    } finally {
      store.close();
    }
  });
}

/**
 * Waits until the workspace has a run (started by a background `lily`) and
 * returns the id of the first one.
 *
 * @param workspace The workspace.
 * @returns The run id.
 */
export async function firstRunId(workspace: string): Promise<string> {
  return await waitFor("a run to exist", async () => {
    const runs = await lilyJson<{ run_id: string }[]>(["run", "list"], workspace);
    return runs[0]?.run_id;
  });
}

/**
 * Runs a command line the CLI printed as a hint (`lily run show <id>
 * --workspace <dir>`), exactly as a user would paste it into a shell where
 * `lily` is this checkout's CLI.
 *
 * @param command The command line, starting with `lily`.
 * @param cwd The directory it is typed in.
 * @param env More environment variables.
 * @returns Exit code and output.
 */
export async function runHint(
  command: string,
  cwd: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  if (!command.startsWith("lily ")) throw new Error(`not a lily command: ${command}`);
  const lilyFn = `lily() { "${Deno.execPath()}" run -A --quiet "${CLI}" "$@"; }`;
  return await runProgram("bash", ["-c", `${lilyFn}\n${command}`], { cwd, env });
}

/**
 * The lines of the error a workflow text is rejected with.
 *
 * @param text The workflow's YAML.
 * @param source The file name the messages cite.
 * @returns One entry per message line.
 * @throws Error when the workflow is accepted.
 */
export function errorLines(text: string, source = "flow.yaml"): string[] {
  try {
    parseWorkflow(text, source);
  } catch (err) {
    return (err as WorkflowError).message.split("\n");
  }
  throw new Error("expected the workflow to be rejected");
}
