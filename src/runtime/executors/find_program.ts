/**
 * Resolves a program name the way a child process will: a name with a slash
 * is taken relative to the working directory, any other name is searched on
 * the `PATH` the child gets. {@linkcode lookUpProgram} also says why nothing
 * was found, so that a spawn error can name the real cause.
 *
 * @module
 */

import { delimiter, isAbsolute, join } from "node:path";

/** Options of {@linkcode findProgram} and {@linkcode lookUpProgram}. */
export interface FindProgramOptions {
  /** Directory a relative program path (one with a slash) is resolved against. */
  readonly cwd: string;
  /**
   * The search path, `:`-separated; like `Deno.Command`, pass the child's
   * `PATH` when it has one and the kernel's otherwise.
   * @default {""}
   */
  readonly path?: string;
}

/**
 * What a program name refers to.
 *
 * - `found`: an executable regular file, at `path` (absolute).
 * - `missing`: nothing at the path, or no file of that name on the search path.
 * - `directory`: the path names a directory.
 * - `not-a-file`: the path names something else that is not a regular file (a FIFO, a socket…).
 * - `not-executable`: a regular file without an execute bit; on the search
 *   path, the first such file, reported only when no executable one exists
 *   (as `execvp` reports `EACCES`).
 */
export type ProgramLookup =
  | { readonly status: "found"; readonly path: string }
  | { readonly status: "missing" }
  | { readonly status: "directory" | "not-a-file" | "not-executable"; readonly path: string };

type Candidate = "executable" | "not-executable" | "directory" | "not-a-file" | "missing";

/** Stats synchronously: a metadata read costs microseconds, a round trip through the thread pool far more. */
function inspect(path: string): Candidate {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return "missing";
  }
  if (info.isDirectory) return "directory";
  if (!info.isFile) return "not-a-file";
  return info.mode === null || (info.mode & 0o111) !== 0 ? "executable" : "not-executable";
}

/**
 * Looks a program name up and says what it found.
 *
 * @example
 * ```ts
 * import { lookUpProgram } from "./find_program.ts";
 * const missing = await lookUpProgram("lily-no-such-program", { cwd: "/", path: "/usr/bin:/bin" });
 * console.assert(missing.status === "missing");
 * const root = await lookUpProgram("/", { cwd: "/" });
 * console.assert(root.status === "directory");
 * ```
 *
 * @param program A name such as `git`, or a path such as `./build.sh`.
 * @param options The working directory and search path.
 * @returns The executable's absolute path, or why there is none.
 */
export function lookUpProgram(
  program: string,
  options: FindProgramOptions,
): Promise<ProgramLookup> {
  return Promise.resolve(lookUp(program, options));
}

function lookUp(program: string, options: FindProgramOptions): ProgramLookup {
  if (program.length === 0 || program.includes("\0")) return { status: "missing" };
  if (program.includes("/")) {
    const path = isAbsolute(program) ? program : join(options.cwd, program);
    const kind = inspect(path);
    if (kind === "executable") return { status: "found", path };
    return kind === "missing" ? { status: "missing" } : { status: kind, path };
  }
  let notExecutable: string | undefined;
  for (const dir of (options.path ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(isAbsolute(dir) ? dir : join(options.cwd, dir), program);
    const kind = inspect(candidate);
    if (kind === "executable") return { status: "found", path: candidate };
    if (kind === "not-executable") notExecutable ??= candidate;
  }
  return notExecutable === undefined
    ? { status: "missing" }
    : { status: "not-executable", path: notExecutable };
}

/**
 * Finds the executable file a program name refers to.
 *
 * @example
 * ```ts
 * import { findProgram } from "./find_program.ts";
 * const sh = await findProgram("sh", { cwd: "/", path: "/usr/bin:/bin" });
 * console.assert(sh === undefined || sh.endsWith("/sh"));
 * ```
 *
 * @param program A name such as `git`, or a path such as `./build.sh`.
 * @param options The working directory and search path.
 * @returns The absolute path of the executable, or `undefined` when there is none.
 */
export async function findProgram(
  program: string,
  options: FindProgramOptions,
): Promise<string | undefined> {
  const found = await lookUpProgram(program, options);
  return found.status === "found" ? found.path : undefined;
}
