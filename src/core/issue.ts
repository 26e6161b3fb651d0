/**
 * Failures as data: one {@linkcode Issue} shape for every problem found in a
 * value (a schema violation, a workflow mistake, a bad journal line), its
 * location written by one formatter from zod-like path segments, and one
 * {@linkcode Result} shape for calls that return problems instead of
 * throwing them.
 *
 * @example Locate a problem and return it
 * ```ts
 * import { failure, formatIssuePath, issuesOf, success } from "./issue.ts";
 * console.assert(formatIssuePath(["steps", 0, "id"]) === "$.steps[0].id");
 * console.assert(formatIssuePath(["env", "MY-VAR"]) === '$.env["MY-VAR"]');
 * const bad = failure([{ code: "too_small", path: "$.n", message: "expected at least 1" }]);
 * console.assert(!bad.ok && issuesOf(bad).length === 1);
 * console.assert(issuesOf(success(3)).length === 0);
 * ```
 *
 * @module
 */

/** Where in a value: object keys and array indexes, outermost first (as zod's `issue.path`). */
export type IssuePath = readonly (string | number)[];

/** One problem found in a value: where it is, and what is wrong there. */
export interface Issue {
  /** Machine-readable kind of problem, e.g. `invalid_type`. */
  readonly code: string;
  /**
   * Where, as {@linkcode formatIssuePath} writes it: `$` is the root,
   * identifiers follow a dot, indexes and other keys go in brackets
   * (`$.steps[0].id`, `$.env["MY-VAR"]`).
   */
  readonly path: string;
  /** What is wrong, in words a user can act on. */
  readonly message: string;
}

/**
 * The outcome of a call that returns problems instead of throwing them:
 * the value, or every issue found (an {@linkcode Issue}, or a checker's own
 * issue type before its paths are written).
 */
export type Result<T, I = Issue> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly issues: readonly I[] };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Writes a location inside a value as a JSON path: `$` is the root,
 * identifiers follow a dot, indexes and other keys go in brackets. The one
 * formatter of issue paths.
 *
 * @param segments Object keys and array indexes, outermost first.
 * @returns The JSON path.
 */
export function formatIssuePath(segments: IssuePath): string {
  return segments.reduce<string>((path, key) => childPath(path, key), "$");
}

/**
 * Makes a successful result.
 *
 * @param value The value.
 * @returns `{ ok: true, value }`.
 */
export function success<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/**
 * Makes a failed result.
 *
 * @param issues Every issue found (at least one).
 * @returns `{ ok: false, issues }`.
 */
export function failure<I>(
  issues: readonly I[],
): { readonly ok: false; readonly issues: readonly I[] } {
  return { ok: false, issues };
}

/**
 * The issues of a result: none when it succeeded.
 *
 * @param result The result.
 * @returns Its issues.
 */
export function issuesOf<T, I>(result: Result<T, I>): readonly I[] {
  return result.ok ? [] : result.issues;
}
