/**
 * Durable file primitives: full writes, fsync of files and directories, and
 * atomic replacement (temp file → fsync → rename → fsync directory).
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

/**
 * Writes every byte of `data` to an open file, looping over short writes.
 *
 * @param file An open, writable file.
 * @param data The bytes to write.
 */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    offset += await file.write(data.subarray(offset));
  }
}

/**
 * Flushes a directory's entries to disk, so a created or renamed name inside
 * it survives a power loss.
 *
 * @param dir The directory to flush.
 */
export async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/**
 * Creates a file that must not exist yet, writes `data`, and fsyncs it.
 * The caller fsyncs the directory once it has created everything in it.
 *
 * @param path Where to create the file.
 * @param data The bytes to write.
 * @param options `mode`: the new file's permission bits (default `0o644`).
 * @throws {Deno.errors.AlreadyExists} When the path exists already.
 */
export async function writeNewFileSynced(
  path: string,
  data: Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: options.mode ?? 0o644 });
  try {
    await writeAll(file, data);
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * Replaces a file atomically: a reader sees the old or the new content, never
 * a mix. Writes a temp file in the same directory, fsyncs it, renames it over
 * the target and fsyncs the directory.
 *
 * @param path The file to replace or create.
 * @param data The new content.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    await writeNewFileSynced(temp, data);
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

/**
 * Runs `fn` while holding an exclusive lock on `lockPath` (created when
 * missing). The lock is an OS file lock, so a killed holder releases it.
 *
 * @param lockPath The lock file.
 * @param fn The work to do under the lock.
 * @returns What `fn` returns.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const file = await Deno.open(lockPath, { read: true, write: true, create: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close();
  }
}
