/**
 * The error hierarchy every Lily layer throws. One base class, a few
 * subclasses that the CLI maps to exit codes in one place.
 *
 * @module
 */

import type { Issue } from "./issue.ts";

export type { Issue } from "./issue.ts";

/** Options shared by every {@linkcode LilyError}. */
export interface LilyErrorOptions {
  /** The underlying error, when there is one. */
  cause?: unknown;
  /** Problems found, for errors that collect more than one. */
  issues?: readonly Issue[];
}

/**
 * Escapes control characters (other than the newlines that separate an
 * error's issues) as `\uXXXX`, so text quoted from a damaged file never
 * reaches a terminal raw.
 */
function escapeControls(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Base class of every error Lily throws on purpose. Control characters in
 * its message (e.g. quoted from a damaged file) are escaped as `\uXXXX`.
 */
export class LilyError extends Error {
  /** Problems found, when the error collects more than one. */
  readonly issues: readonly Issue[];

  /**
   * Creates an error.
   *
   * @param message What failed, the offending value and what was expected.
   * @param options The cause and any collected issues.
   */
  constructor(message: string, options: LilyErrorOptions = {}) {
    super(escapeControls(message), { cause: options.cause });
    this.name = new.target.name;
    this.issues = options.issues ?? [];
  }
}

/** The caller asked for something malformed: a bad id, option or argument. */
export class UsageError extends LilyError {}

/** A run, artifact or file that was asked for does not exist. */
export class NotFoundError extends LilyError {}

/** Stored data does not match what the index or a hash says it should be. */
export class IntegrityError extends LilyError {}

/** A stored file is damaged: it is not what Lily wrote there. The message names it. */
export class DamagedFileError extends IntegrityError {
  /** The damaged file. */
  readonly path: string;

  /**
   * Creates an error about one damaged file.
   *
   * @param message What is wrong and what to do, naming the file.
   * @param options The file and the cause.
   */
  constructor(message: string, options: LilyErrorOptions & { path: string }) {
    super(message, options);
    this.path = options.path;
  }
}

/** A path would resolve outside the directory it must stay in. */
export class PathSecurityError extends UsageError {}

/** A value does not satisfy the schema it was checked against. */
export class ValidationError extends LilyError {}

/** Another process holds what this one needs (a run lock or lease). */
export class ConflictError extends LilyError {}

/**
 * The operating system refused to read or write a store file: the disk is
 * full, the file system is read-only, permission is denied, or the file is
 * not what the store expects there. The message names the file.
 */
export class StorageError extends LilyError {
  /** The file or directory the operation was on. */
  readonly path: string;
  /** The OS error code, e.g. `ENOSPC`, or `null` when there is none. */
  readonly code: string | null;

  /**
   * Creates an error about one file.
   *
   * @param message What failed and what to do, naming the file.
   * @param options The file, the OS error code and the cause.
   */
  constructor(
    message: string,
    options: LilyErrorOptions & { path: string; code?: string | null },
  ) {
    super(message, options);
    this.path = options.path;
    this.code = options.code ?? null;
  }
}

/**
 * Tells whether a value is a {@linkcode LilyError}.
 *
 * @param err Any thrown value.
 * @returns `true` when `err` is a Lily error.
 */
export function isLilyError(err: unknown): err is LilyError {
  return err instanceof LilyError;
}

/**
 * The message of an error caught from elsewhere (a parser, the OS), on one
 * line: JSON and YAML parsers quote the offending input, newlines included,
 * and a Lily error is one line.
 *
 * @param err Any thrown value.
 * @returns Its message with every line break (and the spaces around it)
 * replaced by one space, and other control characters escaped as `\uXXXX`.
 */
export function causeMessage(err: unknown): string {
  return escapeControls(
    (err instanceof Error ? err.message : String(err)).replace(/\s*[\r\n]+\s*/g, " ").trim(),
  );
}
