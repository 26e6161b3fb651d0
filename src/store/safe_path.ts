/**
 * Path security: stored names are checked, stored paths are relative and
 * stay inside their root after every symlink is resolved.
 *
 * @module
 */

import { isAbsolute, join, relative, sep } from "node:path";
import { LilyError, PathSecurityError, UsageError } from "../core/errors.ts";
import { storageError } from "../core/storage_error.ts";

/** The longest file name, in UTF-8 bytes, that Lily stores. */
export const MAX_NAME_BYTES = 255;

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks a single file name before it becomes part of a stored path.
 *
 * @param name The proposed name.
 * @param what What the name is, for the error message.
 * @returns The name, unchanged.
 * @throws {UsageError} For empty, `.`/`..`, separator, NUL or control
 * characters, or names longer than {@linkcode MAX_NAME_BYTES} bytes.
 */
export function checkFileName(name: string, what = "file name"): string {
  const problem = name.length === 0
    ? "it is empty"
    : name === "." || name === ".."
    ? "it is a relative directory reference"
    : name.includes("\0")
    ? "it contains a NUL byte"
    : name.includes("/") || name.includes("\\")
    ? "it contains a path separator"
    : CONTROL.test(name)
    ? "it contains a control character"
    : new TextEncoder().encode(name).length > MAX_NAME_BYTES
    ? `it is longer than ${MAX_NAME_BYTES} bytes`
    : undefined;
  if (problem) {
    throw new UsageError(
      `Invalid ${what} ${JSON.stringify(name.slice(0, 80))}: ${problem}; ` +
        "expected a plain file name such as report.txt",
    );
  }
  return name;
}

/**
 * Checks that a stored path is relative, normalised and free of `..`.
 *
 * @param relPath A path relative to some root, with `/` separators.
 * @returns The path, unchanged.
 * @throws {PathSecurityError} When it is absolute or leaves its root.
 */
export function checkRelativePath(relPath: string): string {
  const parts = relPath.split("/");
  if (
    relPath.length === 0 || isAbsolute(relPath) || relPath.includes("\0") ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new PathSecurityError(
      `Unsafe stored path ${JSON.stringify(relPath)}: expected a relative path without '..'`,
    );
  }
  return relPath;
}

function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

function isSymlink(path: string): boolean {
  try {
    return Deno.lstatSync(path).isSymlink;
  } catch {
    return false;
  }
}

/**
 * Resolves `relPath` under `root` and checks that the result, with every
 * symlink resolved, is still inside `root`. Missing trailing parts are
 * allowed; the deepest existing ancestor is what gets resolved.
 *
 * @param root The directory the path must stay in.
 * @param relPath The stored relative path.
 * @returns The absolute path (as joined, not as resolved).
 * @throws {PathSecurityError} When the path escapes `root`.
 * @throws {Deno.errors.NotFound} When `root` does not exist.
 * @throws {StorageError} When a part of the path cannot be resolved (e.g. a
 * file where a directory should be).
 */
export function resolveInside(root: string, relPath: string): string {
  checkRelativePath(relPath);
  // Sync calls: each takes microseconds, where the async ones queue on
  // Deno's blocking thread pool and cost ten times more on a put's hot path.
  let realRoot: string;
  try {
    realRoot = Deno.realPathSync(root);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw err;
    throw storageError(err, root, "resolve");
  }
  const joined = join(root, ...relPath.split("/"));
  let probe = joined;
  const tail: string[] = [];
  while (true) {
    try {
      const real = Deno.realPathSync(probe);
      if (!isInside(realRoot, join(real, ...tail))) {
        throw new PathSecurityError(
          `Path ${JSON.stringify(relPath)} resolves outside ${root} (through ${real}); ` +
            "a symlink inside the store points elsewhere",
        );
      }
      return joined;
    } catch (err) {
      if (err instanceof LilyError) throw err;
      if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, probe, "resolve");
      if (isSymlink(probe)) {
        throw new PathSecurityError(
          `Path ${JSON.stringify(relPath)} passes through a dangling symlink at ${probe}`,
        );
      }
      const parent = join(probe, "..");
      if (parent === probe || !isInside(root, parent)) return joined;
      tail.unshift(probe.slice(parent.length + 1));
      probe = parent;
    }
  }
}
