/**
 * Bubblewrap (`bwrap`, Linux): a pure builder of the sandbox argv, a runner
 * that tells a sandbox that could not be set up from a child that failed, and
 * a probe that tells whether bubblewrap works here.
 *
 * Every sandbox's processes live and die with it: a new PID namespace
 * (`--unshare-pid`: every process in it dies with its first one, even one
 * that left its session or double-forked, and the host's processes, and so
 * `/proc/<pid>/root` paths into the host's mounts, are out of sight), tied to
 * the process that started bwrap (`--die-with-parent`: when the kernel dies,
 * even by SIGKILL, the sandbox dies at once), in a session of its own
 * (`--new-session`). Optionally no capabilities (`--cap-drop ALL`: even when
 * the kernel runs as root, the child cannot `mount -o remount,rw` a
 * read-only bind, or unmount one). The root is empty: only the caller's
 * mounts exist (compiled from the attempt's policy by
 * `policy/bubblewrap_mounts.ts`). Mounts apply in order and a later mount
 * wins on a nested path, so a staging dir under
 * `<workspace>/.iris/runs/<id>/tmp/` can be writable inside a read-only
 * workspace, or visible inside a hidden store.
 *
 * Since the sandbox has a session of its own, a signal to bwrap's process
 * group reaches only bwrap, whose death ends the sandbox at once. A stop's
 * SIGTERM therefore goes to the sandbox's own process group
 * (`runProcessTree`'s `terminate: "child-groups"`), so the child gets its
 * grace period; the SIGKILL after it goes to bwrap.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { type BubblewrapMount, mountFlags } from "../../policy/bubblewrap_mounts.ts";
import { findProgram } from "./find_program.ts";
import { describeSandboxExecFailure } from "./spawn_failure.ts";
import { type ProcessTreeOptions, type ProcessTreeResult, runProcessTree } from "./process_tree.ts";

/** Options of {@linkcode bubblewrapArgv}. */
export interface BubblewrapArgvOptions {
  /** The `bwrap` executable. */
  readonly bwrap: string;
  /** Mounts, applied in order: put a nested path after its parent. */
  readonly mounts: readonly BubblewrapMount[];
  /** Working directory inside the sandbox. */
  readonly cwd: string;
  /**
   * Give the sandbox a network namespace of its own with nothing in it
   * (`--unshare-net`).
   * @default {false}
   */
  readonly unshareNetwork?: boolean;
  /**
   * Drop every capability (`--cap-drop ALL`). It matters only where the
   * kernel runs as root: bwrap gives an unprivileged caller's child none.
   * @default {true}
   */
  readonly dropCapabilities?: boolean;
  /**
   * A file descriptor bwrap writes its JSON status to (`--json-status-fd`);
   * an `exit-code` document there means the child did run.
   */
  readonly statusFd?: number;
}

/**
 * Builds the argv that runs `argv` under bubblewrap: a new PID namespace
 * that dies with its parent, a new session, no capabilities (unless told
 * otherwise), an empty root, then the mounts in order.
 *
 * @example
 * ```ts
 * import { bubblewrapArgv } from "./bubblewrap.ts";
 * const argv = bubblewrapArgv(["make", "test"], {
 *   bwrap: "/usr/bin/bwrap",
 *   mounts: [
 *     { mode: "read-only", path: "/ws" },
 *     { mode: "writable", path: "/ws/.iris/runs/r/tmp/out" },
 *   ],
 *   cwd: "/ws",
 * });
 * console.assert(
 *   argv.join(" ").includes("--unshare-pid --die-with-parent --new-session --cap-drop ALL"),
 * );
 * console.assert(argv.join(" ").includes("--ro-bind /ws /ws --bind /ws/.iris/runs/r/tmp/out"));
 * console.assert(argv.slice(-3).join(" ") === "-- make test");
 * ```
 *
 * @param argv The program and its arguments.
 * @param options The bwrap path, the mounts and the working directory.
 * @returns The full argv, starting with the bwrap executable.
 */
export function bubblewrapArgv(
  argv: readonly string[],
  options: BubblewrapArgvOptions,
): string[] {
  return [
    options.bwrap,
    "--unshare-pid",
    ...(options.unshareNetwork ? ["--unshare-net"] : []),
    "--die-with-parent",
    "--new-session",
    ...(options.dropCapabilities ?? true ? ["--cap-drop", "ALL"] : []),
    ...(options.statusFd === undefined ? [] : ["--json-status-fd", String(options.statusFd)]),
    ...options.mounts.flatMap(mountFlags),
    "--chdir",
    options.cwd,
    "--",
    ...argv,
  ];
}

/** Options of {@linkcode runInBubblewrap}. */
export interface RunInBubblewrapOptions
  extends Omit<BubblewrapArgvOptions, "statusFd">, Omit<ProcessTreeOptions, "args" | "cwd"> {}

// `set -C` makes the shell create the status file exclusively: it never
// writes through a file or link someone put at that path.
const STATUS_SCRIPT = 'set -C; exec "$@" 3>"$0"';
const SHELL = "/bin/sh";
const STATUS_FD = 3;

async function childRan(statusPath: string): Promise<boolean> {
  let text = "";
  try {
    if ((await Deno.lstat(statusPath)).isFile) text = await Deno.readTextFile(statusPath);
  } catch {
    return false;
  }
  return text.split("\n").some((line) => {
    try {
      return typeof JSON.parse(line)?.["exit-code"] === "number";
    } catch {
      return false;
    }
  });
}

/** Removes a file if it is there (synchronously: an unlink costs microseconds). */
function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already gone, or never created.
  }
}

async function sandboxComplaint(stderrPath: string): Promise<string> {
  const text = await Deno.readTextFile(stderrPath).catch(() => "");
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  return lines.find((line) => line.startsWith("bwrap:")) ?? lines.at(-1) ?? "no message";
}

/**
 * Runs `argv` under bubblewrap as a process tree (`runProcessTree`) and
 * tells a sandbox that could not be set up (a mount that fails, a program
 * missing inside the sandbox) from a child that ran and failed: bwrap's
 * status (`--json-status-fd`, through `/bin/sh`, since a Deno child gets no
 * extra file descriptors) has an `exit-code` document only when the child
 * ran. A setup failure is a `failed` result with `exitCode: null` and a
 * message: bwrap's own message about the working directory or the program
 * (`bwrap: execvp …`, `bwrap: Can't chdir to …`) translated
 * ({@linkcode describeSandboxExecFailure}), any other one as "The bubblewrap
 * sandbox could not be set up: …".
 *
 * The status file is created next to the stderr log (as a dot file, removed
 * afterwards), in the store, which no sandbox sees.
 *
 * @param argv The program (an absolute path) and its arguments.
 * @param options The sandbox (bwrap, mounts, cwd) and the process (env, logs, limits).
 * @returns How it ended.
 * @throws What `runProcessTree` throws.
 */
export async function runInBubblewrap(
  argv: readonly string[],
  options: RunInBubblewrapOptions,
): Promise<ProcessTreeResult> {
  const { bwrap, mounts, cwd, unshareNetwork, dropCapabilities, ...process } = options;
  const sandboxed = bubblewrapArgv(argv, {
    bwrap,
    mounts,
    cwd,
    unshareNetwork,
    dropCapabilities,
    statusFd: STATUS_FD,
  });
  const statusPath = join(
    dirname(options.stderrPath),
    `.${basename(options.stderrPath)}.bwrap-status.json`,
  );
  removeIfThere(statusPath);
  try {
    const result = await runProcessTree(SHELL, {
      ...process,
      args: ["-c", STATUS_SCRIPT, statusPath, ...sandboxed],
      cwd,
      terminate: "child-groups",
    });
    if (
      result.status === "failed" && result.exitCode !== null && result.pid !== undefined &&
      !(await childRan(statusPath))
    ) {
      const complaint = await sandboxComplaint(options.stderrPath);
      return {
        status: "failed",
        exitCode: null,
        pid: result.pid,
        message: describeSandboxExecFailure(complaint) ??
          `The bubblewrap sandbox could not be set up: ${complaint}`,
      };
    }
    return result;
  } finally {
    removeIfThere(statusPath);
  }
}

/** Options of {@linkcode findBubblewrap}. */
export interface FindBubblewrapOptions {
  /**
   * The search path for `bwrap`.
   * @default {the kernel's PATH}
   */
  readonly path?: string;
}

/**
 * Finds a working bubblewrap: `bwrap` must be on the PATH and able to set up
 * the sandbox {@linkcode bubblewrapArgv} builds (it is not where user
 * namespaces are disabled and the kernel is not root), and `/bin/sh` must
 * exist for {@linkcode runInBubblewrap}.
 *
 * @param options Where to look.
 * @returns The path of `bwrap`, or `undefined` when it is missing or does not work.
 */
export async function findBubblewrap(
  options: FindBubblewrapOptions = {},
): Promise<string | undefined> {
  const path = options.path ?? Deno.env.get("PATH") ?? "";
  const bwrap = await findProgram("bwrap", { cwd: "/", path });
  const probe = await findProgram("true", { cwd: "/", path });
  if (!bwrap || !probe) return undefined;
  const argv = bubblewrapArgv([probe], {
    bwrap,
    mounts: [
      { mode: "read-only", path: "/" },
      { mode: "devices", path: "/dev" },
      { mode: "proc", path: "/proc" },
    ],
    cwd: "/",
    unshareNetwork: true,
  });
  try {
    const { success } = await new Deno.Command(SHELL, {
      args: ["-c", 'exec "$@" 3>/dev/null', SHELL, ...argv],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? bwrap : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Settles an executor's `bubblewrap` option once: a path is used as given,
 * `false` disables bubblewrap, and `undefined` means "probe the PATH on
 * first use" ({@linkcode findBubblewrap}, at most once).
 *
 * @param option The option as the executor was given it.
 * @returns A function that yields the `bwrap` path, or `undefined` when none is used.
 */
export function bubblewrapFromOption(
  option: string | false | undefined,
): () => Promise<string | undefined> {
  if (option !== undefined) {
    const bwrap = option === false ? undefined : option;
    return () => Promise.resolve(bwrap);
  }
  let found: Promise<string | undefined> | undefined;
  return () => found ??= findBubblewrap();
}
