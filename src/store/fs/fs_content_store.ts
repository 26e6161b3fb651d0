/**
 * The content-addressed payload directory of the filesystem store,
 * `<workspace>/.iris/cas/`: each distinct payload is stored once, as a
 * read-only file named by its sha256 (`cas/<first two hex digits>/<sha256>`),
 * and every artifact path that holds those bytes is a hard link to it.
 *
 * | entry | what it is |
 * |---|---|
 * | `cas/<aa>/<sha256>` | one payload; its name is the sha256 of its bytes |
 * | `cas/tmp/<uuid>.tmp` | a payload being written (a crash leaves it; gc removes it) |
 * | `cas/.lock` | the put/gc lock: puts hold it shared, gc exclusive |
 *
 * Lock protocol: every put holds `cas/.lock` shared from its first byte to
 * its committed index row; gc holds it exclusive while it decides and
 * removes. So gc never sees a put half done, and every temp file it finds
 * is the trace of a crash.
 *
 * @module
 */

import { join } from "node:path";
import { storageError } from "../../core/storage_error.ts";
import { createDir, openLockFile, syncDir } from "../durable_file.ts";
import type { ContentInfo } from "../ports.ts";

const SHA256 = /^[0-9a-f]{64}$/;
const SHARD = /^[0-9a-f]{2}$/;

/** The `cas/` directory: payloads by hash, temp files and the put/gc lock. */
export class FsContentStore {
  #dir: string;
  #ready: Promise<void> | undefined;

  /**
   * Creates the content store over its directory (created on first use).
   *
   * @param dir The `cas/` directory.
   */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The `cas/` directory. */
  get dir(): string {
    return this.#dir;
  }

  /**
   * The file holding a payload.
   *
   * @param sha256 The payload's hash.
   * @returns `cas/<aa>/<sha256>`.
   */
  path(sha256: string): string {
    return join(this.#dir, sha256.slice(0, 2), sha256);
  }

  /**
   * Creates `cas/`, `cas/tmp/` and the 256 shard directories once (so no
   * put pays for creating and flushing a new shard), checked once per
   * store object.
   */
  #init(): Promise<void> {
    this.#ready ??= (async () => {
      const ready = await Promise.all(
        ["tmp", "ff"].map((name) =>
          Deno.lstat(join(this.#dir, name)).then(() => true, () => false)
        ),
      );
      if (ready.every(Boolean)) return;
      await createDir(join(this.#dir, "tmp"), { recursive: true });
      for (let i = 0; i < 256; i++) {
        await createDir(join(this.#dir, i.toString(16).padStart(2, "0")), { recursive: true });
      }
      await syncDir(this.#dir);
      await syncDir(join(this.#dir, ".."));
    })();
    const ready = this.#ready;
    ready.catch(() => {
      if (this.#ready === ready) this.#ready = undefined;
    });
    return ready;
  }

  /**
   * A fresh temp file path (not created) in `cas/tmp/`, on the same file
   * system as the payloads so a rename can take it in.
   *
   * @returns The path.
   */
  tempPath(): string {
    return join(this.#dir, "tmp", `${crypto.randomUUID()}.tmp`);
  }

  /**
   * Runs `fn` holding the put/gc lock: shared for puts, exclusive for gc.
   *
   * @param exclusive Whether to take it exclusive.
   * @param fn The work.
   * @returns What `fn` returns.
   */
  async locked<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await this.#init();
    const file = await openLockFile(join(this.#dir, ".lock"), { create: true });
    try {
      await file.lock(exclusive);
      return await fn();
    } finally {
      file.close();
    }
  }

  /**
   * Tells whether a payload is stored with the expected size (a stored
   * file of another size is damaged and gets replaced by the next put).
   *
   * @param sha256 The payload's hash.
   * @param size Its size in bytes.
   * @returns `true` when it is.
   */
  async has(sha256: string, size: number): Promise<boolean> {
    try {
      const info = await Deno.lstat(this.path(sha256));
      return info.isFile && info.size === size;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw storageError(err, this.path(sha256), "read");
    }
  }

  /**
   * Takes a written and fsynced temp file in as a payload: linked under its
   * hash (when another put took the same bytes in meanwhile, theirs stays;
   * a damaged file of that name is replaced atomically), read-only, with
   * its directory entry fsynced. The caller removes the temp file.
   *
   * @param temp The temp file, on the same file system.
   * @param sha256 The hash of its bytes.
   * @throws {StorageError} When it cannot be linked or its directory flushed.
   */
  async adopt(temp: string, sha256: string): Promise<void> {
    const dest = this.path(sha256);
    try {
      await Deno.chmod(temp, 0o444);
      try {
        await Deno.link(temp, dest);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        const size = (await Deno.stat(temp)).size;
        if (!(await this.has(sha256, size))) await Deno.rename(temp, dest);
      }
    } catch (err) {
      throw storageError(err, dest, "write");
    }
    await syncDir(join(this.#dir, sha256.slice(0, 2)));
  }

  /**
   * Lists every payload, in hash order.
   *
   * @returns Hash and size of each (entries whose name is no hash, or a
   * hash filed under another's directory, are left out; verification
   * reports them).
   */
  async list(): Promise<ContentInfo[]> {
    const out: ContentInfo[] = [];
    for (const shard of await entries(this.#dir)) {
      if (!shard.isDirectory || !SHARD.test(shard.name)) continue;
      for (const entry of await entries(join(this.#dir, shard.name))) {
        if (!isPayloadName(shard.name, entry)) continue;
        const info = await Deno.lstat(join(this.#dir, shard.name, entry.name));
        out.push({ sha256: entry.name, size: info.size });
      }
    }
    return out.sort((a, b) => a.sha256.localeCompare(b.sha256));
  }

  /**
   * Lists every entry under `cas/` that is neither a payload nor the lock:
   * temp files and strays.
   *
   * @returns Their absolute paths.
   */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const entry of await entries(join(this.#dir, "tmp"))) {
      out.push(join(this.#dir, "tmp", entry.name));
    }
    return out.sort();
  }

  /**
   * Removes a payload (and the directory entry naming it, fsynced); a
   * missing one is no error. Only gc calls this, holding the lock exclusive.
   *
   * @param sha256 The payload's hash.
   * @throws {StorageError} When it cannot be removed.
   */
  async remove(sha256: string): Promise<void> {
    await removeFile(this.path(sha256));
  }

  /**
   * Removes a temp file left by a crash; only gc calls this, holding the lock exclusive.
   *
   * @param path A path from {@linkcode FsContentStore.leftovers}.
   * @throws {StorageError} When it cannot be removed.
   */
  async removeLeftover(path: string): Promise<void> {
    await removeFile(path);
  }
}

/**
 * Whether an entry of the directory `cas/<shard>/` is a payload: a file named
 * by a sha256 that begins with `<shard>`.
 *
 * @param shard The directory's name (two hex digits).
 * @param entry The entry.
 * @returns `true` for a payload.
 */
export function isPayloadName(shard: string, entry: Deno.DirEntry): boolean {
  return entry.isFile && SHA256.test(entry.name) && entry.name.startsWith(shard);
}

async function removeFile(path: string): Promise<void> {
  try {
    await Deno.remove(path);
    await syncDir(join(path, ".."));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, path, "remove");
  }
}

async function entries(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) out.push(entry);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, dir, "list");
  }
  return out;
}
