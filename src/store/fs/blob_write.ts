/**
 * Writing what a blob put was given (a stream, or a local file copied or
 * moved) to a new read-only file, hashing it in the same pass.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { storageError } from "../../core/storage_error.ts";
import { syncFile, writeAll } from "../durable_file.ts";
import type { BlobSource } from "../ports.ts";

/** Bytes per read while copying a file in. */
const COPY_CHUNK = 4 * 1024 * 1024;

/** What was written: its hash and size. */
export interface Written {
  /** Lower-case hex SHA-256. */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/**
 * Writes a stream or a local file to a new read-only file and hashes it. A
 * copy is not fsynced here: only bytes the content store lacks are, before
 * they are taken in.
 */
export async function write(data: Exclude<BlobSource, Uint8Array>, dest: string): Promise<Written> {
  if (data instanceof ReadableStream) return await writeStream(data, dest);
  if (!data.move) return await copyAndHash(data.file, dest);
  const info = await Deno.lstat(data.file).catch((err) => {
    throw storageError(err, data.file, "read");
  });
  // A moved file with other hard links could be changed through them after
  // the put, so it is copied (and the source name removed) instead.
  if (info.nlink !== null && info.nlink > 1) {
    const written = await copyAndHash(data.file, dest);
    await removeSource(data.file);
    return written;
  }
  return await moveAndHash(data.file, dest);
}

async function writeStream(stream: ReadableStream<Uint8Array>, dest: string): Promise<Written> {
  const hash = createHash("sha256");
  const output = await openOrThrow(dest, { write: true, createNew: true, mode: 0o444 });
  try {
    let size = 0;
    for await (const chunk of stream) {
      hash.update(chunk);
      await writeAll(output, chunk, { path: dest });
      size += chunk.length;
    }
    return { sha256: hash.digest("hex"), size };
  } finally {
    output.close();
  }
}

/**
 * Opens a file, naming it in the error.
 *
 * @param path The file.
 * @param options How to open it.
 * @returns The open file.
 * @throws {StorageError} When it cannot be opened.
 */
export async function openOrThrow(path: string, options: Deno.OpenOptions): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, options);
  } catch (err) {
    throw storageError(err, path, options.write ? "create" : "read");
  }
}

async function readChunk(
  file: Deno.FsFile,
  buffer: Uint8Array,
  path: string,
): Promise<number | null> {
  try {
    return await file.read(buffer);
  } catch (err) {
    throw storageError(err, path, "read");
  }
}

async function removeSource(source: string): Promise<void> {
  try {
    await Deno.remove(source);
  } catch (err) {
    throw storageError(err, source, "remove");
  }
}

async function copyAndHash(source: string, dest: string): Promise<Written> {
  const hash = createHash("sha256");
  const input = await openOrThrow(source, { read: true });
  try {
    const output = await openOrThrow(dest, { write: true, createNew: true, mode: 0o444 });
    try {
      const buffer = new Uint8Array(COPY_CHUNK);
      let size = 0;
      while (true) {
        const n = await readChunk(input, buffer, source);
        if (n === null) break;
        const chunk = buffer.subarray(0, n);
        hash.update(chunk);
        await writeAll(output, chunk, { path: dest });
        size += n;
      }
      return { sha256: hash.digest("hex"), size };
    } finally {
      output.close();
    }
  } finally {
    input.close();
  }
}

async function moveAndHash(source: string, dest: string): Promise<Written> {
  try {
    await Deno.rename(source, dest);
    await Deno.chmod(dest, 0o444);
  } catch (err) {
    if (!(err instanceof Error && /cross-device|EXDEV/i.test(err.message))) {
      throw storageError(err, dest, "move a file to");
    }
    const written = await copyAndHash(source, dest);
    await removeSource(source);
    return written;
  }
  try {
    const file = await openOrThrow(dest, { read: true });
    try {
      await syncFile(file, dest);
      const hash = createHash("sha256");
      const buffer = new Uint8Array(COPY_CHUNK);
      let size = 0;
      while (true) {
        const n = await readChunk(file, buffer, dest);
        if (n === null) break;
        hash.update(buffer.subarray(0, n));
        size += n;
      }
      return { sha256: hash.digest("hex"), size };
    } finally {
      file.close();
    }
  } catch (err) {
    await Deno.rename(dest, source).catch(() => {});
    throw err;
  }
}
