/**
 * A full disk, reported as what it is. Deno raises `ENOSPC` (and `EDQUOT`
 * for an exhausted quota) as a plain `Error` whose message often names no
 * file (a write to an open file has none); the code that was writing knows
 * the file, and turns the error into a {@linkcode DiskFullError} naming it.
 *
 * @module
 */

import { LilyError } from "./errors.ts";

/** The disk (or the user's quota) holding a file Lily writes is full. */
export class DiskFullError extends LilyError {
  /** The file that could not be written. */
  readonly file: string;

  /**
   * Creates the error.
   *
   * @param file The file that could not be written.
   * @param options The underlying error.
   */
  constructor(file: string, options: { cause?: unknown } = {}) {
    super(`No space left on device: ${file}`, options);
    this.file = file;
  }
}

/**
 * Tells whether an error is a full disk or an exhausted quota.
 *
 * @param err Any thrown value.
 * @returns `true` for `ENOSPC`, `EDQUOT`, SQLite's `SQLITE_FULL` (13) and a
 * {@linkcode DiskFullError}.
 */
export function isDiskFull(err: unknown): boolean {
  if (err instanceof DiskFullError) return true;
  const { code, errcode } = (err ?? {}) as { code?: unknown; errcode?: unknown };
  return code === "ENOSPC" || code === "EDQUOT" || errcode === 13;
}

/**
 * Turns a full-disk error into a {@linkcode DiskFullError} naming the file;
 * any other error is returned unchanged.
 *
 * @param err Any thrown value.
 * @param file The file being written; when omitted, the path in Deno's
 * message (`…: open '/path'`) is used, if it names one.
 * @returns The translated error, or `err` itself.
 */
export function asDiskFull(err: unknown, file?: string): unknown {
  if (err instanceof DiskFullError || !isDiskFull(err)) return err;
  const named = file ?? /'([^']+)'$/.exec((err as Error).message ?? "")?.[1] ?? "unknown file";
  return new DiskFullError(named, { cause: err });
}
