/**
 * Resolves a program name the way a child process will: a name with a slash
 * is taken relative to the working directory, any other name is searched on
 * the `PATH` the child gets.
 *
 * @module
 */

import { delimiter, isAbsolute, join } from "node:path";

/** Options of {@linkcode findProgram}. */
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

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
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
  if (program.length === 0 || program.includes("\0")) return undefined;
  if (program.includes("/")) {
    const path = isAbsolute(program) ? program : join(options.cwd, program);
    return await isExecutableFile(path) ? path : undefined;
  }
  for (const dir of (options.path ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(isAbsolute(dir) ? dir : join(options.cwd, dir), program);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
