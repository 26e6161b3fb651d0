/**
 * Refusing run files that something replaced with a symlink or a non-file,
 * so the kernel never writes through a link planted in a run directory.
 *
 * @module
 */

import { IntegrityError } from "../../core/errors.ts";
import { storageError } from "../../core/storage_error.ts";

/**
 * Refuses to open a run file that is a symlink or not a regular file.
 *
 * @param path The file.
 * @throws {IntegrityError} When it exists and is not a regular file.
 * @throws {StorageError} When it cannot be examined (the message names it).
 */
export async function refuseSymlink(path: string): Promise<void> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) {
      throw new IntegrityError(
        `${path} is ${info.isSymlink ? "a symlink" : "not a regular file"}; the run's files ` +
          "were tampered with, and Lily does not write through it",
      );
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, path, "read");
  }
}
