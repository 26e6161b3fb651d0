/**
 * Why a process cannot start, in words that name the real cause. A spawn
 * that fails reports little: Deno says "No such cwd" or "entity not found",
 * a failed `chdir` inside the child looks like a missing program, and bwrap
 * only prints `bwrap: execvp …` and exits 1. So the working directory and
 * the program are checked before a spawn ({@linkcode checkSpawn}), and what
 * can still fail at the spawn (a race, a missing ELF loader, a `noexec`
 * mount) is translated afterwards, from Deno's error
 * ({@linkcode describeSpawnError}) or from bwrap's message
 * ({@linkcode describeSandboxExecFailure}).
 *
 * The causes named: a working directory that does not exist, is not a
 * directory or cannot be entered (no search permission); a program that
 * does not exist (not on `PATH`, or not at the path given), is a directory,
 * is not executable, names a `#!` interpreter that does not exist or is not
 * executable, or has a format this machine cannot execute (an ELF file for
 * another machine, or a binary file that is neither ELF nor a `#!` script). A text file without a `#!` line is not an
 * error: like a shell, the spawn runs it with `/bin/sh` (glibc's `execvp`).
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { lookUpProgram } from "./find_program.ts";

/** Options of {@linkcode checkSpawn}. */
export interface CheckSpawnOptions {
  /** The child's working directory (absolute). */
  readonly cwd: string;
  /**
   * The search path for a program name without a slash: the child's `PATH`
   * when it has one, the kernel's otherwise.
   * @default {""}
   */
  readonly path?: string;
}

/** What {@linkcode checkSpawn} found: the program to run, or why it cannot run. */
export type SpawnCheck =
  | { readonly ok: true; readonly program: string }
  | { readonly ok: false; readonly message: string };

/** ELF `e_machine` values of the machines Deno runs on, and a few others, for messages. */
const MACHINES: Readonly<Record<number, string>> = {
  3: "x86",
  8: "mips",
  20: "ppc",
  21: "ppc64",
  22: "s390x",
  40: "arm",
  62: "x86_64",
  183: "aarch64",
  243: "riscv64",
  258: "loongarch64",
};

/** The machines each host architecture executes natively (x86_64 also runs 32-bit x86). */
const RUNNABLE: Readonly<Record<string, readonly number[]>> = {
  x86_64: [62, 3],
  aarch64: [183, 40],
};

function quote(value: string): string {
  return JSON.stringify(value);
}

function cwdMissing(cwd: string): string {
  return `Working directory ${quote(cwd)} does not exist; create it first or change the cwd`;
}

function cwdNotDirectory(cwd: string): string {
  return `Working directory ${quote(cwd)} is not a directory; expected a directory`;
}

function cwdUnusable(cwd: string, why: string): string {
  return `Working directory ${quote(cwd)} cannot be entered: ${why}`;
}

function notExecutable(program: string, why: string): string {
  return `Program ${quote(program)} cannot be executed: ${why}`;
}

function checkWorkingDirectory(cwd: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(cwd);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return cwdMissing(cwd);
    }
    if (err instanceof Deno.errors.PermissionDenied) return cwdUnusable(cwd, "permission denied");
    throw err;
  }
  if (!info.isDirectory) return cwdNotDirectory(cwd);
  try {
    // Resolving a name inside it needs the search permission that chdir needs.
    Deno.statSync(`${cwd}/.`);
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) return cwdUnusable(cwd, "permission denied");
    throw err;
  }
  return undefined;
}

/** Reads the first bytes of a file, or `undefined` when it cannot be read (execute-only). */
function head(path: string): Uint8Array | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    const buffer = new Uint8Array(256);
    let length = 0;
    while (length < buffer.length) {
      const read = file.readSync(buffer.subarray(length));
      if (read === null) break;
      length += read;
    }
    return buffer.subarray(0, length);
  } finally {
    file.close();
  }
}

/** The interpreter a `#!` line names, as the Linux kernel parses it (the `\r` of a CRLF line stays). */
function interpreterOf(bytes: Uint8Array): string {
  const newline = bytes.indexOf(0x0a);
  const line = new TextDecoder().decode(bytes.subarray(2, newline === -1 ? undefined : newline));
  return line.replace(/^[ \t]+/, "").split(/[ \t]/)[0];
}

async function checkInterpreter(program: string, bytes: Uint8Array): Promise<string | undefined> {
  const interpreter = interpreterOf(bytes);
  if (!interpreter.startsWith("/")) return undefined;
  const found = await lookUpProgram(interpreter, { cwd: "/" });
  if (found.status === "found") return undefined;
  const crlf = interpreter.endsWith("\r") ? " (the file has Windows line endings)" : "";
  const what = found.status === "missing"
    ? "does not exist"
    : found.status === "not-executable"
    ? "is not executable"
    : "is not an executable file";
  return notExecutable(
    program,
    `the interpreter its #! line names, ${quote(interpreter)}, ${what}${crlf}`,
  );
}

function checkElf(program: string, bytes: Uint8Array): string | undefined {
  if (bytes.length < 20) return notExecutable(program, "exec format error (a truncated ELF file)");
  const machine = bytes[5] === 2 ? (bytes[18] << 8) | bytes[19] : bytes[18] | (bytes[19] << 8);
  const runnable = RUNNABLE[Deno.build.arch];
  if (runnable === undefined || runnable.includes(machine)) return undefined;
  const built = MACHINES[machine] ?? `ELF machine ${machine}`;
  return notExecutable(
    program,
    `exec format error (built for ${built}; this machine is ${Deno.build.arch})`,
  );
}

/** Checks the start of an executable file: a `#!` line's interpreter, an ELF's machine, binary junk. */
async function checkFormat(program: string, path: string): Promise<string | undefined> {
  const bytes = head(path);
  if (bytes === undefined || bytes.length === 0) return undefined;
  if (bytes[0] === 0x23 && bytes[1] === 0x21) return await checkInterpreter(program, bytes);
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    return checkElf(program, bytes);
  }
  // As bash decides a file is binary: a NUL before the first newline in its first 80 bytes.
  const first = bytes.subarray(0, 80);
  const newline = first.indexOf(0x0a);
  if (first.subarray(0, newline === -1 ? undefined : newline).includes(0)) {
    return notExecutable(
      program,
      "exec format error (neither a #! script nor an executable for this machine)",
    );
  }
  return undefined;
}

/**
 * Checks that a process can start, before it is spawned: the working
 * directory, then the program (found on `options.path` unless it has a
 * slash), then the start of the program's file.
 *
 * @example
 * ```ts
 * import { checkSpawn } from "./spawn_failure.ts";
 * const missing = await checkSpawn("true", { cwd: "/no/such/dir", path: "/usr/bin:/bin" });
 * console.assert(!missing.ok && missing.message.startsWith('Working directory "/no/such/dir"'));
 * const found = await checkSpawn("sh", { cwd: "/", path: "/usr/bin:/bin" });
 * console.assert(found.ok && found.program.endsWith("/sh"));
 * ```
 *
 * @param program The program as the step names it: `make`, `./build.sh`, `/usr/bin/env`.
 * @param options The working directory and the search path.
 * @returns The program's absolute path, or a one-line message naming the cause.
 */
export async function checkSpawn(
  program: string,
  options: CheckSpawnOptions,
): Promise<SpawnCheck> {
  const cwdProblem = checkWorkingDirectory(options.cwd);
  if (cwdProblem !== undefined) return { ok: false, message: cwdProblem };
  const found = await lookUpProgram(program, options);
  switch (found.status) {
    case "found": {
      const problem = await checkFormat(program, found.path);
      return problem === undefined
        ? { ok: true, program: found.path }
        : { ok: false, message: problem };
    }
    case "missing":
      return {
        ok: false,
        message: program.includes("/")
          ? `Program ${quote(program)} does not exist${
            isAbsolute(program) ? "" : ` (looked for ${join(options.cwd, program)})`
          }; check its path`
          : `Program ${quote(program)} not found on PATH; install it or give its path`,
      };
    case "directory":
      return {
        ok: false,
        message: `Program ${
          quote(program)
        } is a directory (${found.path}); expected an executable file`,
      };
    case "not-a-file":
      return {
        ok: false,
        message: `Program ${
          quote(program)
        } is not a regular file (${found.path}); expected an executable file`,
      };
    case "not-executable":
      return {
        ok: false,
        message: notExecutable(
          program,
          `permission denied (${found.path} has no execute permission; chmod +x would allow it)`,
        ),
      };
  }
}

/** Why `execve` failed, from its `strerror` text. */
function execFailure(text: string): string {
  if (/^No such file or directory/i.test(text)) {
    return "it, or the interpreter or loader it names, does not exist";
  }
  if (/^Permission denied/i.test(text)) return "permission denied";
  if (/^Exec format error/i.test(text)) return "exec format error";
  if (/^Not a directory/i.test(text)) return "a part of its path is not a directory";
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/**
 * Words an error thrown by `Deno.Command#spawn`: the working directory or the
 * program, and the cause. Every error a spawn throws is a failure to start,
 * so every one gets a message.
 *
 * @example
 * ```ts
 * import { describeSpawnError } from "./spawn_failure.ts";
 * const err = new Deno.errors.NotFound("Failed to spawn 'x': No such cwd '/gone'");
 * console.assert(describeSpawnError("x", { cwd: "/gone", error: err }).startsWith("Working directory"));
 * ```
 *
 * @param program The program as it was spawned.
 * @param spawn The working directory it was spawned in, and the error.
 * @returns A one-line message.
 */
export function describeSpawnError(
  program: string,
  spawn: { readonly cwd: string; readonly error: unknown },
): string {
  const message = spawn.error instanceof Error ? spawn.error.message : String(spawn.error);
  if (/No such cwd/.test(message)) return cwdMissing(spawn.cwd);
  if (/cwd is not a directory/.test(message)) return cwdNotDirectory(spawn.cwd);
  const text = spawn.error instanceof Deno.errors.NotFound
    ? "No such file or directory"
    : message.replace(/^Failed to spawn '.*?': /s, "").replace(/ \(os error \d+\)$/, "");
  return notExecutable(program, execFailure(text));
}

/**
 * Words bwrap's own message about starting the sandboxed program
 * (`bwrap: execvp <program>: <error>`) or entering its working directory
 * (`bwrap: Can't chdir to <dir>: <error>`).
 *
 * @example
 * ```ts
 * import { describeSandboxExecFailure } from "./spawn_failure.ts";
 * const message = describeSandboxExecFailure("bwrap: execvp /x/tool: Permission denied");
 * console.assert(
 *   message === 'Program "/x/tool" cannot be executed inside the bubblewrap sandbox: permission denied',
 * );
 * ```
 *
 * @param line One line bwrap printed on stderr.
 * @returns A one-line message, or `undefined` when the line is about something else.
 */
export function describeSandboxExecFailure(line: string): string | undefined {
  const inside = "inside the bubblewrap sandbox";
  const exec = /^bwrap: execvp (.+): ([^:]+)$/.exec(line);
  if (exec) {
    return `Program ${quote(exec[1])} cannot be executed ${inside}: ${execFailure(exec[2])}`;
  }
  const chdir = /^bwrap: Can't chdir to (.+): ([^:]+)$/.exec(line);
  if (!chdir) return undefined;
  const [, cwd, text] = chdir;
  if (/^No such file or directory/i.test(text)) {
    return `Working directory ${quote(cwd)} does not exist ${inside}; ` +
      "expected a directory the sandbox mounts";
  }
  if (/^Not a directory/i.test(text)) {
    return `Working directory ${quote(cwd)} is not a directory ${inside}`;
  }
  return `Working directory ${quote(cwd)} cannot be entered ${inside}: ${execFailure(text)}`;
}
