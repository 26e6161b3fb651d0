/**
 * The workspace directory a kernel works in: it must exist (a mistyped
 * path is an error, never a new directory), and its store may not exist
 * yet.
 *
 * @module
 */

import { NotFoundError, UsageError } from "../core/errors.ts";
import { storeExists } from "../store/store.ts";

/**
 * Checks that a workspace directory exists.
 *
 * @param dir The workspace directory.
 * @returns The directory, unchanged.
 * @throws {NotFoundError} When it does not exist.
 * @throws {UsageError} When it is not a directory.
 */
export async function existingWorkspace(dir: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(
        `Workspace ${dir} does not exist; create the directory or give an existing --workspace`,
        { cause: err },
      );
    }
    throw err;
  }
  if (!info.isDirectory) {
    throw new UsageError(`Workspace ${dir} is not a directory; give a directory as --workspace`);
  }
  return dir;
}

/**
 * Tells whether an existing workspace has a store yet.
 *
 * @param dir The workspace directory.
 * @returns `true` when its index exists.
 * @throws {NotFoundError} When the workspace does not exist.
 * @throws {UsageError} When it is not a directory.
 * @throws {StorageError} When the store cannot be examined.
 */
export async function hasStore(dir: string): Promise<boolean> {
  return await storeExists(await existingWorkspace(dir));
}
