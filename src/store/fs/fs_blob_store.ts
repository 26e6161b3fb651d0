/**
 * The filesystem implementation of the {@linkcode BlobStore} port. A key is
 * `<namespace>/<dirs…>/<slot>/<name>` under the store's root: the namespace
 * (a run id) is a directory every path is confined to, its `<dirs…>` must
 * exist, and each blob gets a `<slot>` directory of its own, created
 * exclusively, so a reused key can never overwrite (the artifact store's
 * keys are `<run_id>/artifacts/<artifact_id>/<file name>`).
 *
 * A put is durable when it resolves: the file is fsynced, then its slot
 * directory and the directory holding the slot, so the caller may then make
 * the blob reachable (e.g. by an index row). A failed put removes its slot.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { sha256Hex } from "../../core/canonical_json.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import { storageError } from "../../core/storage_error.ts";
import { syncDir, syncFile, writeAll, writeNewFileSynced } from "../durable_file.ts";
import type { BlobInfo, BlobSource, BlobStore } from "../ports.ts";
import { resolveInside } from "../safe_path.ts";

/** Bytes per read while copying a file in. */
const COPY_CHUNK = 4 * 1024 * 1024;

interface Written {
  sha256: string;
  size: number;
}

/** A key split into the parts the filesystem layout gives meaning to. */
interface KeyParts {
  /** The namespace directory every path is confined to. */
  readonly namespace: string;
  /** The existing directories between namespace and slot, `/`-joined ("" for none). */
  readonly dirs: string;
  /** The blob's own directory. */
  readonly slot: string;
  /** The file name. */
  readonly name: string;
}

function splitKey(key: string): KeyParts {
  const parts = key.split("/");
  if (
    parts.length < 3 || parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\0"))
  ) {
    throw new UsageError(
      `Invalid blob key ${JSON.stringify(key)}: expected <namespace>/<slot>/<name> ` +
        "(segments without '..')",
    );
  }
  return {
    namespace: parts[0],
    dirs: parts.slice(1, -2).join("/"),
    slot: parts.at(-2)!,
    name: parts.at(-1)!,
  };
}

/** Blobs as files under one root directory (the store's `runs/`). */
export class FsBlobStore implements BlobStore {
  #root: string;

  /**
   * Creates the blob store over a directory.
   *
   * @param root The directory holding every namespace.
   */
  constructor(root: string) {
    this.#root = root;
  }

  /**
   * Where a key's file is (confined to its namespace), without touching it.
   *
   * @throws {PathSecurityError} When a symlink leads the path out of its namespace.
   * @throws {Deno.errors.NotFound} When the namespace does not exist.
   */
  #resolve(key: string): { parent: string; slot: string; file: string } {
    const { namespace, dirs, slot, name } = splitKey(key);
    const space = join(this.#root, namespace);
    const parent = dirs === "" ? space : resolveInside(space, dirs);
    // The slot is created exclusively (mkdir refuses any existing entry, a
    // planted symlink included), so confining its parent confines the blob.
    return { parent, slot: join(parent, slot), file: join(parent, slot, name) };
  }

  /**
   * Stores a blob under a new key: bytes, a stream, or a local file (copied,
   * or with `move` renamed into the store — a file with other hard links is
   * copied and its name removed, so nothing can change it after the put).
   *
   * @param key The new key.
   * @param data What to store.
   * @returns The key, sha256 and size.
   * @throws {Deno.errors.AlreadyExists} When the key's slot is taken (a reused key).
   * @throws {NotFoundError} When the key's namespace or directories do not exist.
   * @throws {StorageError} When it cannot be written, e.g. on a full disk (names the file).
   */
  async put(key: string, data: BlobSource): Promise<BlobInfo> {
    let where: { parent: string; slot: string; file: string };
    try {
      where = this.#resolve(key);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      throw new NotFoundError(`Cannot store blob ${key}: its directory does not exist`, {
        cause: err,
      });
    }
    try {
      await Deno.mkdir(where.slot);
    } catch (err) {
      // An existing slot means a reused key: the caller's bug, not the disk's.
      if (err instanceof Deno.errors.AlreadyExists) throw err;
      throw storageError(err, where.slot, "create");
    }
    let written: Written;
    try {
      written = await write(data, where.file);
      await syncDir(where.slot);
      await syncDir(where.parent);
    } catch (err) {
      await Deno.remove(where.slot, { recursive: true }).catch(() => {});
      throw storageError(err, where.file, "write");
    }
    return { key, sha256: written.sha256, size: written.size };
  }

  /**
   * Opens a blob for reading.
   *
   * @param key The key.
   * @returns Its bytes as a stream.
   * @throws {NotFoundError} When there is no such blob.
   * @throws {StorageError} When it cannot be opened (names the file).
   */
  async open(key: string): Promise<ReadableStream<Uint8Array>> {
    const path = await this.openPath(key);
    try {
      return (await Deno.open(path, { read: true })).readable;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new NotFoundError(`Blob ${key} does not exist (no file at ${path})`, { cause: err });
      }
      throw storageError(err, path, "read");
    }
  }

  /**
   * Tells whether a blob's file exists.
   *
   * @param key The key.
   * @returns `true` when it does.
   */
  async has(key: string): Promise<boolean> {
    try {
      return (await Deno.lstat(this.#resolve(key).file)).isFile;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  }

  /**
   * Deletes a blob and its slot directory; a missing one is no error.
   *
   * @param key The key.
   * @throws {StorageError} When it exists and cannot be removed (names the slot).
   */
  async delete(key: string): Promise<void> {
    let slot: string;
    try {
      slot = this.#resolve(key).slot;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    try {
      await Deno.remove(slot, { recursive: true });
      await syncDir(join(slot, ".."));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, slot, "remove");
    }
  }

  /**
   * The blob's own file, confined to its namespace; for reading only.
   *
   * @param key The key.
   * @returns The absolute path (the file may be missing).
   * @throws {PathSecurityError} When a symlink leads the path out of its namespace.
   * @throws {Deno.errors.NotFound} When the key's namespace does not exist.
   */
  openPath(key: string): Promise<string> {
    try {
      const { namespace, dirs, slot, name } = splitKey(key);
      const rel = [dirs, slot, name].filter((part) => part !== "").join("/");
      return Promise.resolve(resolveInside(join(this.#root, namespace), rel));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/** Writes what a put was given to a new read-only file and hashes it. */
async function write(data: BlobSource, dest: string): Promise<Written> {
  if (data instanceof Uint8Array) {
    await writeNewFileSynced(dest, data, { mode: 0o444 });
    return { sha256: sha256Hex(data), size: data.length };
  }
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
    await syncFile(output, dest);
    return { sha256: hash.digest("hex"), size };
  } finally {
    output.close();
  }
}

async function openOrThrow(path: string, options: Deno.OpenOptions): Promise<Deno.FsFile> {
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
      await syncFile(output, dest);
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
