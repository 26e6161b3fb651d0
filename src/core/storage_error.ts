/**
 * Turning an operating-system error on a file into a
 * {@linkcode StorageError} that names the file. Deno raises `ENOSPC` and its
 * kin as plain errors whose message often names no file (a write to an open
 * file has none); the code that was reading or writing knows the path and
 * passes it here, so every such error says which file it was.
 *
 * @module
 */

import { LilyError, StorageError } from "./errors.ts";

const OS_ERROR_TEXT: Readonly<Record<string, string>> = {
  ENOSPC: "No space left on device",
  EDQUOT: "Disk quota exceeded",
  EROFS: "Read-only file system",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  EIO: "Input/output error",
};

/**
 * Turns an error from a file operation into a {@linkcode StorageError} that
 * names the file: `No space left on device: <path>; free some space and try
 * again` for `ENOSPC` (likewise `Disk quota exceeded` for `EDQUOT`),
 * `Read-only file system: <path>` for `EROFS`, likewise for a denied
 * permission (`EACCES`, `EPERM`) and an I/O error (`EIO`), else
 * `Cannot <action> <path>: <OS reason>`. A {@linkcode LilyError} (already
 * named by the code below) is returned unchanged.
 *
 * @param err What the file operation threw.
 * @param path The absolute path of the file or directory it was on.
 * @param action What was being done, e.g. `write`, for the fallback message.
 * @returns The error to throw.
 */
export function storageError(err: unknown, path: string, action: string): LilyError {
  if (err instanceof LilyError) return err;
  const code = typeof (err as { code?: unknown })?.code === "string"
    ? (err as { code: string }).code
    : null;
  const known = code === null ? undefined : OS_ERROR_TEXT[code];
  const reason = String((err as Error)?.message ?? err).replace(/ \(os error \d+\)[\s\S]*$/, "");
  const message = code === "ENOSPC" || code === "EDQUOT"
    ? `${known}: ${path}; free some space and try again`
    : known !== undefined
    ? `${known}: ${path}`
    : `Cannot ${action} ${path}: ${reason}`;
  return new StorageError(message, { path, code, cause: err });
}

/**
 * Tells whether an error says the disk cannot take Lily's writes at all: a
 * {@linkcode StorageError} for a full disk (`ENOSPC`), an exhausted quota
 * (`EDQUOT`) or a read-only file system (`EROFS`). Such an error is no
 * step's fault: the runner stops the run (resumable once fixed) instead of
 * counting it as a failed attempt.
 *
 * @param err Any thrown value.
 * @returns `true` for those three codes.
 */
export function isUnwritableDisk(err: unknown): boolean {
  return err instanceof StorageError &&
    (err.code === "ENOSPC" || err.code === "EDQUOT" || err.code === "EROFS");
}
