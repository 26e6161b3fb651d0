/**
 * Reading a file a user names, once: a regular file, or a pipe such as
 * `/dev/stdin` or a shell's process substitution (`<(cat f)`), which can be
 * read only once. What is checked and what is stored are then the same bytes.
 *
 * @module
 */

import { NotFoundError, UsageError } from "../core/errors.ts";

/**
 * Reads a whole file, pipe or FIFO named by a user.
 *
 * @param path The path (`/dev/stdin` and `/dev/fd/N` work).
 * @param what How messages name it, capitalised, e.g. `Work order`.
 * @returns Its bytes.
 * @throws {NotFoundError} When it does not exist.
 * @throws {UsageError} When it is a directory or cannot be read.
 */
export async function readUserFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`${what} ${path} does not exist`, { cause: err });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new UsageError(`${what} ${path} is a directory; expected a file`, { cause: err });
    }
    throw new UsageError(
      `Cannot read ${what.toLowerCase()} ${path}: ${(err as Error).message.split("\n")[0]}`,
      { cause: err },
    );
  }
}
