/**
 * What a patch may touch and what it was made against, decided without a
 * disk: the files in scope of a work order ({@linkcode scopeOf}: its
 * `constraints.paths`), whether a path is in scope ({@linkcode inScope}),
 * and which recorded base hashes differ from the files now
 * ({@linkcode baseMismatches}).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { pathProblem } from "./unified_patch.ts";

/** A work order's scope that cannot be used; `message` says what would be right. */
export class ScopeError extends Error {
  /** @param message What is wrong with the scope. */
  constructor(message: string) {
    super(message);
    this.name = "ScopeError";
  }
}

/** One file a patch applies to, as `agent/patch.v1` records it. */
export interface PatchBase {
  /** Workspace-relative path. */
  readonly path: string;
  /** The sha256 (hex) of the file the patch was made against; `null`: it did not exist. */
  readonly base_sha256: string | null;
}

/**
 * The sha256 of a text's UTF-8 bytes, as hex.
 *
 * @param text The text.
 * @returns 64 hex digits.
 */
export function sha256Text(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

const GLOB = /[*?[\]{}]/;

/**
 * The files in scope of a work order: its `constraints.paths`, each a
 * workspace-relative file or directory (`src/`, `README.md`; `.` is the
 * whole workspace), normalised without a trailing slash.
 *
 * @param workOrder A `work_order.v1` payload.
 * @returns The scope entries, at least one.
 * @throws {ScopeError} When the work order names no paths, or one is not a
 * plain relative path (a glob, `..`, an absolute path).
 */
export function scopeOf(workOrder: unknown): string[] {
  const constraints = (workOrder as { constraints?: unknown } | null)?.constraints;
  const paths = typeof constraints === "object" && constraints !== null &&
      !Array.isArray(constraints)
    ? (constraints as { paths?: unknown }).paths
    : undefined;
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new ScopeError(
      'The work order names no files in scope; expected constraints.paths, e.g. ["src/"]',
    );
  }
  return paths.map((entry, i) => {
    if (typeof entry !== "string") {
      throw new ScopeError(`constraints.paths[${i}] of the work order is not a string`);
    }
    const path = entry.replace(/^\.\//, "").replace(/\/+$/, "");
    if (path === "" || path === ".") return ".";
    const problem = GLOB.test(path)
      ? "expected a file or directory, not a glob"
      : pathProblem(path);
    if (problem !== undefined) {
      throw new ScopeError(
        `constraints.paths[${i}] of the work order (${JSON.stringify(entry)}): ${problem}`,
      );
    }
    return path;
  });
}

/**
 * Whether a workspace-relative path is in scope: equal to an entry or
 * under one.
 *
 * @param path The path.
 * @param scope The scope entries ({@linkcode scopeOf}).
 * @returns `true` when in scope.
 */
export function inScope(path: string, scope: readonly string[]): boolean {
  return scope.some((entry) => entry === "." || path === entry || path.startsWith(`${entry}/`));
}

/** A file whose recorded base differs from what is there now. */
export interface BaseMismatch {
  /** Workspace-relative path. */
  readonly path: string;
  /** The base the patch recorded (`null`: absent). */
  readonly expected: string | null;
  /** What is there now (`null`: absent). */
  readonly actual: string | null;
}

/**
 * The recorded bases that differ from the files now.
 *
 * @param bases What the patch recorded.
 * @param current Path → sha256 of the file now, `null` when absent.
 * @returns One entry per differing file, in the patch's order.
 */
export function baseMismatches(
  bases: readonly PatchBase[],
  current: ReadonlyMap<string, string | null>,
): BaseMismatch[] {
  return bases
    .map((b) => ({ path: b.path, expected: b.base_sha256, actual: current.get(b.path) ?? null }))
    .filter((m) => m.expected !== m.actual);
}

/**
 * Says what a mismatch is, in words.
 *
 * @param mismatch The mismatch.
 * @returns E.g. `src/a.ts changed since the patch was made (sha256 ab12… expected, cd34… found)`.
 */
export function mismatchMessage(mismatch: BaseMismatch): string {
  const short = (hash: string | null) => hash === null ? "absent" : `${hash.slice(0, 12)}…`;
  return `${mismatch.path} is not the file the patch was made against ` +
    `(sha256 ${short(mismatch.expected)} expected, ${short(mismatch.actual)} found)`;
}
