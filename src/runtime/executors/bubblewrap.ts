/**
 * Bubblewrap (`bwrap`, Linux): a pure builder of the sandbox argv and a
 * probe that tells whether bubblewrap works here.
 *
 * The sandbox keeps the whole filesystem visible (`--bind / /`), then
 * applies the caller's mounts in order; a later mount wins on a nested path,
 * so a staging dir under `<workspace>/.iris/runs/<id>/tmp/` can be writable
 * inside a read-only workspace, or visible inside a hidden store. It confines
 * only what those mounts say: reads elsewhere, the network and writes
 * outside the mounted paths are not confined by this argv.
 *
 * @module
 */

import { findProgram } from "./find_program.ts";

/** One mount over the visible filesystem, at the same path inside. */
export interface BubblewrapMount {
  /**
   * `read-only` and `writable` bind the path; `hidden` puts an empty,
   * throwaway tmpfs over it.
   */
  readonly mode: "read-only" | "writable" | "hidden";
  /** The absolute path. */
  readonly path: string;
}

/** Options of {@linkcode bubblewrapArgv}. */
export interface BubblewrapArgvOptions {
  /** The `bwrap` executable. */
  readonly bwrap: string;
  /** Mounts, applied in order: put a nested path after its parent. */
  readonly mounts: readonly BubblewrapMount[];
  /** Working directory inside the sandbox. */
  readonly cwd: string;
}

const MOUNT_FLAGS = {
  "read-only": (path: string) => ["--ro-bind", path, path],
  writable: (path: string) => ["--bind", path, path],
  hidden: (path: string) => ["--tmpfs", path],
} as const;

/**
 * Builds the argv that runs `argv` under bubblewrap. The child stays in the
 * caller's session and process group (no `--new-session`), so a group kill
 * still reaches everything inside, and `--die-with-parent` ends the sandbox
 * if the kernel dies.
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
    "--die-with-parent",
    "--bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    ...options.mounts.flatMap((mount) => MOUNT_FLAGS[mount.mode](mount.path)),
    "--chdir",
    options.cwd,
    "--",
    ...argv,
  ];
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
 * the mounts {@linkcode bubblewrapArgv} uses (it is not where user namespaces
 * are disabled and the kernel is not root).
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
  const argv = bubblewrapArgv([probe], { bwrap, mounts: [], cwd: "/" });
  try {
    const { success } = await new Deno.Command(argv[0], {
      args: argv.slice(1),
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
