/**
 * Reading the live log files a run's attempts write in the run's `logs/`
 * (`RunStore.scratch`), from a byte offset, so another process can follow
 * them while they grow (`lily logs --follow`). Never writes.
 *
 * @module
 */

import { storageError } from "../core/storage_error.ts";
import { refuseSymlink } from "./fs/refuse_symlink.ts";

/** What {@linkcode readLiveLog} read. */
export interface LiveLogChunk {
  /** The bytes from the offset on (at most the asked-for maximum). */
  readonly bytes: Uint8Array;
  /** The file's size when it was read, in bytes. */
  readonly size: number;
}

/** How many bytes one read returns at most. */
export const LIVE_LOG_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads a log file from a byte offset.
 *
 * @param path The file.
 * @param offset Where to start, in bytes.
 * @param maxBytes At most this many bytes.
 * @returns The bytes and the file's size, or `undefined` when there is no
 * such file (a quiet stream writes none).
 * @throws {IntegrityError} When the file is a symlink or not a regular file.
 * @throws {StorageError} When it cannot be read (the message names it).
 */
export async function readLiveLog(
  path: string,
  offset: number,
  maxBytes: number = LIVE_LOG_CHUNK_BYTES,
): Promise<LiveLogChunk | undefined> {
  await refuseSymlink(path);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw storageError(err, path, "read");
  }
  try {
    const size = (await file.stat()).size;
    const want = Math.max(0, Math.min(size - offset, maxBytes));
    const bytes = new Uint8Array(want);
    if (want === 0) return { bytes, size };
    await file.seek(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < want) {
      const n = await file.read(bytes.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return { bytes: bytes.subarray(0, filled), size };
  } catch (err) {
    throw storageError(err, path, "read");
  } finally {
    file.close();
  }
}
