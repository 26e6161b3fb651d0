/**
 * Durable file primitives: full writes, fsync of files and directories, and
 * atomic replacement (temp file → fsync → rename → fsync directory).
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { IntegrityError, StorageError } from "../core/errors.ts";
import { storageError } from "../core/storage_error.ts";

/**
 * Writes every byte of `data` to an open file, looping over short writes.
 *
 * @param file An open, writable file.
 * @param data The bytes to write.
 * @param options `path`: the file's absolute path, named in the
 * {@linkcode StorageError} when the write fails.
 * @throws {StorageError} When the write fails, e.g. on a full disk.
 */
export async function writeAll(
  file: Deno.FsFile,
  data: Uint8Array,
  options: { path: string },
): Promise<void> {
  let offset = 0;
  try {
    while (offset < data.length) {
      offset += await file.write(data.subarray(offset));
    }
  } catch (err) {
    throw storageError(err, options.path, "write");
  }
}

/**
 * Creates a directory synchronously: on a hot path a mkdir costs
 * microseconds, where a round trip through Deno's thread pool costs far more.
 *
 * @param path The directory's absolute path.
 * @throws {StorageError} When it cannot be created, e.g. on a full disk (the
 * message names it).
 */
export function createDirSync(path: string): void {
  try {
    Deno.mkdirSync(path);
  } catch (err) {
    throw storageError(err, path, "create");
  }
}

/**
 * Creates a directory.
 *
 * @param path The directory's absolute path.
 * @param options As for `Deno.mkdir` (e.g. `recursive`).
 * @throws {StorageError} When it cannot be created, e.g. on a full disk (the
 * message names it).
 */
export async function createDir(path: string, options: Deno.MkdirOptions = {}): Promise<void> {
  try {
    await Deno.mkdir(path, options);
  } catch (err) {
    throw storageError(err, path, "create");
  }
}

/**
 * Writes a text file (UTF-8), creating it or replacing its contents, without
 * fsync: for staging files that a later step commits durably.
 *
 * @param path The file's absolute path.
 * @param text What to write.
 * @throws {StorageError} When it cannot be written, e.g. on a full disk (the
 * message names it).
 */
export async function writeTextFile(path: string, text: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text);
  } catch (err) {
    throw storageError(err, path, "write");
  }
}

/**
 * Flushes an open file's data to disk.
 *
 * @param file The open file.
 * @param path Its path, named when the flush fails.
 * @throws {StorageError} When the flush fails, e.g. on a full disk.
 */
export async function syncFile(file: Deno.FsFile, path: string): Promise<void> {
  try {
    await file.sync();
  } catch (err) {
    throw storageError(err, path, "flush");
  }
}

/**
 * Flushes a directory's entries to disk, so a created or renamed name inside
 * it survives a power loss.
 *
 * @param dir The directory to flush.
 * @throws {StorageError} When it cannot be opened or flushed.
 */
export async function syncDir(dir: string): Promise<void> {
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(dir, { read: true });
  } catch (err) {
    throw storageError(err, dir, "open");
  }
  try {
    await syncFile(handle, dir);
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
 * @throws {StorageError} When the file cannot be created, written or flushed.
 */
export async function writeNewFileSynced(
  path: string,
  data: Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true, mode: options.mode ?? 0o644 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) throw err;
    throw storageError(err, path, "create");
  }
  try {
    await writeAll(file, data, { path });
    await syncFile(file, path);
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
 * @throws {StorageError} When writing fails (named after `path`), e.g. on a full disk.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    await writeNewFileSynced(temp, data);
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err instanceof StorageError && err.path === temp
      ? storageError(err.cause, path, "write")
      : storageError(err, path, "write");
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
 * @throws {StorageError} When the lock file cannot be opened or created.
 * @throws {IntegrityError} When something else, e.g. a directory, took its place.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const file = await openLockFile(lockPath, { create: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close();
  }
}

/**
 * Opens a lock file (one that holds no data, only an OS lock) for reading
 * and writing.
 *
 * @param path The lock file.
 * @param options `create`: create it when missing.
 * @returns The open file.
 * @throws {IntegrityError} When a directory (or a path under a file) took its
 * place; the message says to remove it, which loses nothing.
 * @throws {StorageError} When it cannot be opened for another reason
 * (`Deno.errors.NotFound` passes through when `create` is false).
 */
export async function openLockFile(
  path: string,
  options: { create: boolean },
): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true, write: true, create: options.create });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound && !options.create) throw err;
    const error = storageError(err, path, "open");
    if (err instanceof Deno.errors.IsADirectory || err instanceof Deno.errors.NotADirectory) {
      throw new IntegrityError(
        `${error.message}; it is a lock file and holds no data: remove it (lily verify lists ` +
          "every damaged file)",
        { cause: err },
      );
    }
    throw error;
  }
}
