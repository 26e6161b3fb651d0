/**
 * Child processes as whole trees. A child is spawned as the leader of its own
 * session and process group, so one signal to the group reaches every process
 * it forked. Where util-linux's `setsid` is installed, an absolute program is
 * started through it (`setsid` calls setsid(2) and execs the program in
 * place, so the pid stays the child's): Deno can then spawn it with
 * posix_spawn, while its own `detached: true` forks the whole kernel process,
 * which costs several milliseconds per spawn. Elsewhere, `detached: true`. The group is killed when the attempt
 * times out, when it is cancelled, and always once the main child has
 * exited, so nothing a step started in the background outlives the attempt.
 *
 * What a group kill cannot reach: a descendant that leaves the group itself
 * (`setsid`, `setpgid`), e.g. a daemon that double-forks into a new session;
 * nor does anything here end the tree when the kernel itself dies (a
 * SIGKILL, a crash): the tree runs on until `killStaleProcessGroup` finds it.
 * Under bubblewrap (`bubblewrap.ts`) both are closed: the sandbox has a PID
 * namespace of its own, everything in it dies with its first process, and
 * the sandbox dies with the kernel (`--die-with-parent`).
 *
 * Output is streamed to the log files as it arrives, never held in memory.
 * A log file is created afresh ({@linkcode createLogFile}) when its first
 * byte arrives, so a quiet stream leaves no file; a symbolic link planted at
 * a log path is refused before the child starts and never written through.
 *
 * @module
 */

import { dirname } from "node:path";
import { startTimer, type Timer } from "../../core/delay.ts";
import { PathSecurityError } from "../../core/errors.ts";
import { readProcStat } from "../../core/proc_stat.ts";
import { storageError } from "../../core/storage_error.ts";
import { writeAll } from "../../store/durable_file.ts";
import type { ExecutionStatus, OnSpawn } from "./executor.ts";
import type { Redactor, StreamRedactor } from "../../core/redaction.ts";
import { describeSpawnError } from "./spawn_failure.ts";

/** Options of {@linkcode runProcessTree}. */
export interface ProcessTreeOptions {
  /** Arguments after the program. */
  readonly args: readonly string[];
  /** Working directory of the child. */
  readonly cwd: string;
  /** The child's complete environment; nothing of the kernel's is inherited. */
  readonly env: Readonly<Record<string, string>>;
  /** File that receives stdout; created afresh on its first byte ({@linkcode createLogFile}). */
  readonly stdoutPath: string;
  /** File that receives stderr; created afresh on its first byte ({@linkcode createLogFile}). */
  readonly stderrPath: string;
  /** Kill the group after this many ms; undefined means no limit. */
  readonly timeoutMs?: number;
  /** Replaces secret values in what the child writes before it reaches the log files. */
  readonly redactor?: Redactor;
  /** Kill the group when aborted; the result is then `cancelled`. */
  readonly signal?: AbortSignal;
  /**
   * Told the child's pid (which is also its process group id) as soon as it
   * runs. If it throws, the group is killed and the error is rethrown.
   */
  readonly onSpawn?: OnSpawn;
  /**
   * How long a timed-out or cancelled group gets between SIGTERM and SIGKILL.
   * @default {1000}
   */
  readonly killGraceMs?: number;
  /**
   * Where a stop's SIGTERM goes. `group`: the child's process group.
   * `child-groups`: the process groups that the child's own children lead,
   * for a child that only supervises them and takes them down when it dies
   * (`bwrap --new-session --die-with-parent`): a SIGTERM to the supervisor
   * would end everything at once, with no grace. When the child has no such
   * children yet, the SIGTERM goes to its group. The SIGKILL after the grace
   * always goes to the child's group.
   * @default {"group"}
   */
  readonly terminate?: "group" | "child-groups";
  /**
   * How long to keep reading output after the group was killed, for pipes a
   * process outside the group still holds open.
   * @default {2000}
   */
  readonly drainMs?: number;
}

/** How a process tree ended. */
export interface ProcessTreeResult {
  /** `succeeded` for exit code 0, `failed` otherwise, or why it was stopped. */
  readonly status: ExecutionStatus;
  /** The exit code, when the child exited on its own; null when it was signalled or never ran. */
  readonly exitCode: number | null;
  /** The child's pid, when it was spawned. */
  readonly pid?: number;
  /** Why it did not succeed, in words. */
  readonly message?: string;
}

/**
 * Sends a signal to every process in a process group.
 *
 * @param pgid The group id (the pid of the group's leader).
 * @param signal The signal.
 * @returns `false` when no process is left in the group, `true` otherwise.
 */
export function killProcessGroup(pgid: number, signal: Deno.Signal): boolean {
  if (!Number.isSafeInteger(pgid) || pgid <= 1) return false;
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Sends the SIGTERM of a stop (see {@linkcode ProcessTreeOptions.terminate}). */
async function terminate(pid: number, where: "group" | "child-groups"): Promise<void> {
  const leaders = where === "child-groups" ? await childGroupLeaders(pid) : [];
  if (leaders.length === 0) killProcessGroup(pid, "SIGTERM");
  for (const leader of leaders) killProcessGroup(leader, "SIGTERM");
}

/**
 * Creates a file the kernel writes for an attempt (a log) without writing
 * through anything someone put at its path first. Labels are never reused,
 * so the path should not exist: the file is created exclusively (`O_EXCL`,
 * which does not follow a symbolic link). A regular file left there by an
 * earlier try of the same label is unlinked and created again, so not even
 * a hard link to another file is written through; a symbolic link, or
 * anything else that is not a regular file, is refused, as is a directory
 * that is itself a symbolic link.
 *
 * @param path The file's absolute path; its directory is created when missing.
 * @returns The new file, open for writing.
 * @throws {PathSecurityError} When a symbolic link or a non-regular file is
 * at the path, or the directory is a symbolic link.
 * @throws {StorageError} When the file or its directory cannot be created,
 * e.g. on a full disk (the message names it).
 */
export async function createLogFile(path: string): Promise<Deno.FsFile> {
  checkLogPath(path);
  for (let tries = 0;; tries++) {
    try {
      return await Deno.open(path, { write: true, createNew: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists) || tries >= 3) {
        throw storageError(err, path, "create");
      }
    }
    checkLogPath(path);
    await Deno.remove(path).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, path, "remove");
    });
  }
}

/**
 * Checks a log path before a child starts, with the same rules as
 * {@linkcode createLogFile}, without creating anything: a quiet step then
 * costs no file at all (a missing log is an empty stream).
 */
function checkLogPath(path: string): void {
  const dir = dirname(path);
  if (dirInfo(dir).isSymlink) {
    throw new PathSecurityError(
      `Refusing to create ${JSON.stringify(path)}: its directory is a symbolic link; ` +
        "expected a plain directory",
    );
  }
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw storageError(err, path, "read");
  }
  if (!info.isFile) {
    const what = info.isSymlink ? "a symbolic link" : "something other than a regular file";
    throw new PathSecurityError(
      `Refusing to write ${JSON.stringify(path)}: ${what} is already there; ` +
        "expected no file (it may have been planted to redirect the write)",
    );
  }
}

/**
 * The directory's lstat, after creating it (and its parents) only when it
 * is missing: a step's logs dir exists from its run's first log on.
 */
function dirInfo(dir: string): Deno.FileInfo {
  try {
    return Deno.lstatSync(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw storageError(err, dir, "create");
  }
  return Deno.lstatSync(dir);
}

/** A log file created on the first byte written to it, secrets redacted on the way. */
class LazyLog {
  readonly #path: string;
  readonly #redact: StreamRedactor | undefined;
  #file: Deno.FsFile | undefined;

  constructor(path: string, redactor: Redactor | undefined) {
    this.#path = path;
    this.#redact = redactor?.active ? redactor.stream() : undefined;
  }

  async write(bytes: Uint8Array): Promise<void> {
    await this.#put(this.#redact ? this.#redact.push(bytes) : bytes);
  }

  async #put(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    this.#file ??= await createLogFile(this.#path);
    await writeAll(this.#file, bytes, { path: this.#path });
  }

  /** Writes the bytes a redactor held back (they may have begun a secret), then closes. */
  async close(): Promise<void> {
    try {
      if (this.#redact) await this.#put(this.#redact.end());
    } finally {
      this.#file?.close();
    }
  }
}

async function pump(
  stream: ReadableStream<Uint8Array>,
  file: LazyLog,
  stop: AbortSignal,
): Promise<void> {
  const reader = stream.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  stop.addEventListener("abort", cancel, { once: true });
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      await file.write(value);
    }
  } finally {
    stop.removeEventListener("abort", cancel);
    // Closes the pipe when writing failed, so the child gets EPIPE instead of blocking.
    await reader.cancel().catch(() => {});
  }
}

function logFailure(err: unknown): ProcessTreeResult {
  if (err instanceof PathSecurityError) {
    return { status: "failed", exitCode: null, message: err.message };
  }
  throw err;
}

/**
 * Runs a program as its own process group, streams its output to files, and
 * leaves no process of the group behind when it returns.
 *
 * @example
 * ```ts
 * import { runProcessTree } from "./process_tree.ts";
 * const dir = await Deno.makeTempDir();
 * const result = await runProcessTree("sh", {
 *   args: ["-c", "echo hi"],
 *   cwd: dir,
 *   env: { PATH: "/usr/bin:/bin" },
 *   stdoutPath: `${dir}/stdout.log`,
 *   stderrPath: `${dir}/stderr.log`,
 * });
 * console.assert(result.status === "succeeded");
 * console.assert(Deno.readTextFileSync(`${dir}/stdout.log`) === "hi\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param program The program, found on `options.env.PATH` (or the kernel's
 * PATH when the env has none) unless it contains a slash.
 * @param options Arguments, cwd, env, log files, timeout and cancellation.
 * @returns How the child ended; a spawn that fails (with a message naming
 * the cause, as `describeSpawnError` words it), or a link planted at a log
 * path ({@linkcode createLogFile}), is a `failed` result.
 * @throws Whatever `onSpawn` throws, and errors writing the log files.
 */
export async function runProcessTree(
  program: string,
  options: ProcessTreeOptions,
): Promise<ProcessTreeResult> {
  try {
    checkLogPath(options.stdoutPath);
    checkLogPath(options.stderrPath);
  } catch (err) {
    return logFailure(err);
  }
  const stdout = new LazyLog(options.stdoutPath, options.redactor);
  try {
    const stderr = new LazyLog(options.stderrPath, options.redactor);
    try {
      if (options.signal?.aborted) {
        return { status: "cancelled", exitCode: null, message: "Cancelled before it started" };
      }
      let child: Deno.ChildProcess;
      const setsid = program.startsWith("/") ? await findSetsid() : undefined;
      try {
        child = new Deno.Command(setsid ?? program, {
          args: setsid ? [program, ...options.args] : [...options.args],
          cwd: options.cwd,
          env: { ...options.env },
          clearEnv: true,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          detached: setsid === undefined,
        }).spawn();
      } catch (error) {
        return {
          status: "failed",
          exitCode: null,
          message: describeSpawnError(program, { cwd: options.cwd, error }),
        };
      }
      return await supervise(child, stdout, stderr, options);
    } finally {
      await stderr.close();
    }
  } finally {
    await stdout.close();
  }
}

const SETSID_PATHS = ["/usr/bin/setsid", "/bin/setsid"];
let setsidFound: Promise<string | undefined> | undefined;

/**
 * Finds util-linux's `setsid` once: the first of {@linkcode SETSID_PATHS}
 * that is an executable file and, started by a process that does not lead a
 * process group, runs a program in place as a session leader (probed once:
 * a shell started through it finds its own pid as its session id in
 * `/proc/<pid>/stat`).
 */
function findSetsid(): Promise<string | undefined> {
  return setsidFound ??= (async () => {
    for (const path of SETSID_PATHS) {
      try {
        const info = await Deno.stat(path);
        if (!info.isFile || ((info.mode ?? 0) & 0o111) === 0) continue;
        const probe = await new Deno.Command(path, {
          args: ["/bin/sh", "-c", 'read -r _ _ _ _ _ sid _ </proc/$$/stat && test "$sid" = $$'],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).output();
        if (probe.success) return path;
      } catch {
        // Not usable: try the next, then fall back to `detached: true`.
      }
    }
    return undefined;
  })();
}

async function supervise(
  child: Deno.ChildProcess,
  stdout: LazyLog,
  stderr: LazyLog,
  options: ProcessTreeOptions,
): Promise<ProcessTreeResult> {
  const pid = child.pid;
  const drainStop = new AbortController();
  let pumpError: unknown;
  const pumps = Promise.all([
    pump(child.stdout, stdout, drainStop.signal),
    pump(child.stderr, stderr, drainStop.signal),
  ]).catch((err) => {
    pumpError = err;
  });

  let stopped: "timeout" | "cancelled" | undefined;
  let graceTimer: Timer | undefined;
  const stop = (why: "timeout" | "cancelled") => {
    if (stopped) return;
    stopped = why;
    // A signal that cannot be sent now is followed by the group's SIGKILL after the grace.
    terminate(pid, options.terminate ?? "group").catch(() => {});
    graceTimer = startTimer(() => killProcessGroup(pid, "SIGKILL"), options.killGraceMs ?? 1000);
  };
  const timeoutTimer = options.timeoutMs === undefined
    ? undefined
    : startTimer(() => stop("timeout"), options.timeoutMs);
  const onAbort = () => stop("cancelled");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  let status: Deno.CommandStatus;
  try {
    await options.onSpawn?.(pid);
    status = await child.status;
  } finally {
    timeoutTimer?.clear();
    graceTimer?.clear();
    options.signal?.removeEventListener("abort", onAbort);
    // Background children of a finished step die with it.
    killProcessGroup(pid, "SIGKILL");
    await child.status;
    const drainTimer = startTimer(() => drainStop.abort(), options.drainMs ?? 2000);
    await pumps;
    drainTimer.clear();
  }
  if (pumpError !== undefined) throw pumpError;

  if (stopped === "timeout") {
    return {
      status: "timeout",
      exitCode: null,
      pid,
      message: `Timed out after ${options.timeoutMs} ms; its process group was killed`,
    };
  }
  if (stopped === "cancelled") {
    return {
      status: "cancelled",
      exitCode: null,
      pid,
      message: "Cancelled; its process group was killed",
    };
  }
  if (status.signal !== null) {
    return { status: "failed", exitCode: null, pid, message: `Killed by signal ${status.signal}` };
  }
  if (status.code !== 0) {
    return {
      status: "failed",
      exitCode: status.code,
      pid,
      message: `Exited with code ${status.code}`,
    };
  }
  return { status: "succeeded", exitCode: 0, pid };
}

/** The children of `pid` that lead a process group of their own (none where `/proc` is missing). */
async function childGroupLeaders(pid: number): Promise<number[]> {
  if (!(await hasProc())) return [];
  const leaders: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await readProcStat(entry.name);
    if (stat?.ppid === pid && stat.pgrp === Number(entry.name)) leaders.push(stat.pgrp);
  }
  return leaders;
}

async function hasProc(): Promise<boolean> {
  try {
    await Deno.stat("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
}

async function groupOutlivedLeader(pgid: number, startTicks: number): Promise<boolean> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await readProcStat(entry.name);
    if (
      stat && stat.pgrp === pgid && stat.session === pgid && stat.startTicks >= startTicks
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Kills (SIGKILL) the process group an earlier runner recorded, for example
 * before a crashed run is resumed, without hitting an unrelated process that
 * reused the pid: the group is killed only when its leader still has the
 * recorded start time, or when the leader is gone but members of its session
 * started no earlier than it remain (a group id stays reserved while any
 * member lives, so those are the leader's). A no-op where `/proc` is missing.
 *
 * @param pid The recorded pid of the group leader (= the group id).
 * @param startTicks Its start time as `processStartTicks` read it at spawn.
 * @returns `true` when a signal was sent.
 */
export async function killStaleProcessGroup(pid: number, startTicks: number): Promise<boolean> {
  if (!Number.isSafeInteger(pid) || pid <= 1 || !(await hasProc())) return false;
  const leader = await readProcStat(pid);
  if (leader) {
    // A live leader with another start time is a new process: the old group is gone.
    if (leader.startTicks !== startTicks) return false;
  } else if (!(await groupOutlivedLeader(pid, startTicks))) {
    return false;
  }
  return killProcessGroup(pid, "SIGKILL");
}
