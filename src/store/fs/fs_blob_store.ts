/**
 * The filesystem implementation of the {@linkcode BlobStore} port. A key is
 * `<namespace>/<dirs…>/<slot>/<name>` under the store's root: the namespace
 * (a run id) is a directory every path is confined to, its `<dirs…>` must
 * exist, and each blob gets a `<slot>` directory of its own, created
 * exclusively, so a reused key can never overwrite (the artifact store's
 * keys are `<run_id>/artifacts/<artifact_id>/<file name>`).
 *
 * Content-addressed: the bytes are stored once per sha256 in the content
 * store (`.iris/cas/`, see `fs_content_store.ts`), and `<slot>/<name>` is a
 * hard link to that file, so the path people see is unchanged and identical
 * payloads take the space of one. When a hard link cannot be made (the
 * content store on another file system, `EXDEV`; a file system without hard
 * links; a payload at its link limit, `EMLINK`), the slot holds a reference
 * instead: `<slot>/<name>.cas_ref`, the JSON `{"cas_ref":1,"sha256":…,"size":…}`,
 * and {@linkcode FsBlobStore.openPath} gives the content store's file.
 *
 * A put is durable when it resolves: the payload file is fsynced before it
 * is renamed into the content store, then the directories naming it, the
 * link (or reference) and the slot's directories, so the caller may then
 * make the blob reachable (the `commit` callback: the index row). The whole
 * put holds the content store's lock shared, so gc (exclusive) never removes
 * a payload a put is linking to. A failed put removes its slot; its payload
 * may stay in the content store, unreferenced, until gc.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { canonicalBytes, sha256Hex } from "../../core/canonical_json.ts";
import { crashPoint } from "../../core/crash_point.ts";
import { NotFoundError, StorageError, UsageError } from "../../core/errors.ts";
import { storageError } from "../../core/storage_error.ts";
import { syncDir, syncFile, writeNewFileSynced } from "../durable_file.ts";
import type { BlobInfo, BlobPutOptions, BlobSource, BlobStore, ContentInfo } from "../ports.ts";
import { resolveInside } from "../safe_path.ts";
import { FsContentStore } from "./fs_content_store.ts";
import { openOrThrow, write, type Written } from "./blob_write.ts";

/** The suffix of a slot's reference file (when a hard link could not be made). */
export const CAS_REF_SUFFIX = ".cas_ref";

/** What a put has hashed, and where its bytes wait when they are not in memory. */
interface Staged extends Written {
  /** The temp file in the content store holding the bytes (not fsynced yet). */
  temp?: string;
  /** The bytes, when given in memory. */
  bytes?: Uint8Array;
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

/** Reads a slot's reference file: the sha256 it names, or `undefined` when it is none. */
async function readRef(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw storageError(err, path, "read");
  }
  try {
    const ref = JSON.parse(text) as { cas_ref?: unknown; sha256?: unknown };
    return ref.cas_ref === 1 && typeof ref.sha256 === "string" && /^[0-9a-f]{64}$/.test(ref.sha256)
      ? ref.sha256
      : undefined;
  } catch {
    return undefined;
  }
}

/** Blobs as files under one root directory (the store's `runs/`), their bytes in a content store. */
export class FsBlobStore implements BlobStore {
  #root: string;
  #cas: FsContentStore;

  /**
   * Creates the blob store over a directory and a content store directory
   * on the same file system (else every blob is a reference).
   *
   * @param root The directory holding every namespace.
   * @param casDir The content store (`.iris/cas/`), created on the first put.
   */
  constructor(root: string, casDir: string) {
    this.#root = root;
    this.#cas = new FsContentStore(casDir);
  }

  /** The content store the blobs' bytes are in (for verification). */
  get content(): FsContentStore {
    return this.#cas;
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
   * Bytes already in the content store are not written again.
   *
   * @param key The new key.
   * @param data What to store.
   * @param options `commit`: runs once the blob is durable, before the put
   * resolves, while gc cannot remove it; a throw fails the put.
   * @returns The key, sha256 and size.
   * @throws {Deno.errors.AlreadyExists} When the key's slot is taken (a reused key).
   * @throws {NotFoundError} When the key's namespace or directories do not exist.
   * @throws {StorageError} When it cannot be written, e.g. on a full disk (names the file).
   */
  async put(key: string, data: BlobSource, options: BlobPutOptions = {}): Promise<BlobInfo> {
    let where: { parent: string; slot: string; file: string };
    try {
      where = this.#resolve(key);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      throw new NotFoundError(`Cannot store blob ${key}: its directory does not exist`, {
        cause: err,
      });
    }
    // The slot is made under the lock too: gc, holding it exclusive, may take
    // every empty slot it sees for a crashed put's.
    return await this.#cas.locked(false, async () => {
      try {
        await Deno.mkdir(where.slot);
      } catch (err) {
        // An existing slot means a reused key: the caller's bug, not the disk's.
        if (err instanceof Deno.errors.AlreadyExists) throw err;
        throw storageError(err, where.slot, "create");
      }
      try {
        return await this.#store(key, where, data, options);
      } catch (err) {
        await Deno.remove(where.slot, { recursive: true }).catch(() => {});
        // A content-store file that failed (e.g. a full disk) is named by the
        // key's path, the one people see.
        const inStore = err instanceof StorageError && err.path?.startsWith(this.#cas.dir);
        throw storageError(inStore ? err.cause : err, where.file, "write");
      }
    });
  }

  /** Stores the bytes under a reserved slot and commits, holding the lock shared. */
  async #store(
    key: string,
    where: { parent: string; slot: string; file: string },
    data: BlobSource,
    options: BlobPutOptions,
  ): Promise<BlobInfo> {
    const staged = await this.#stage(data);
    try {
      if (staged.temp !== undefined) crashPoint("put.staged");
      await this.#keep(staged);
    } finally {
      if (staged.temp !== undefined) await Deno.remove(staged.temp).catch(() => {});
    }
    crashPoint("put.stored");
    await this.#link(where, staged);
    crashPoint("put.linked");
    const info = { key, sha256: staged.sha256, size: staged.size };
    await options.commit?.(info);
    return info;
  }

  /** Hashes what a put was given; bytes not in memory wait in a temp file. */
  async #stage(data: BlobSource): Promise<Staged> {
    if (data instanceof Uint8Array) {
      return { sha256: sha256Hex(data), size: data.length, bytes: data };
    }
    const temp = this.#cas.tempPath();
    try {
      return { ...(await write(data, temp)), temp };
    } catch (err) {
      await Deno.remove(temp).catch(() => {});
      throw err;
    }
  }

  /** Makes the staged bytes a durable payload of the content store, unless it has them. */
  async #keep(staged: Staged): Promise<void> {
    if (await this.#cas.has(staged.sha256, staged.size)) return;
    if (staged.bytes !== undefined) {
      const temp = this.#cas.tempPath();
      try {
        await writeNewFileSynced(temp, staged.bytes, { mode: 0o444 });
        await this.#cas.adopt(temp, staged.sha256);
      } finally {
        await Deno.remove(temp).catch(() => {});
      }
      return;
    }
    const temp = staged.temp!;
    const file = await openOrThrow(temp, { read: true });
    try {
      await syncFile(file, temp);
    } finally {
      file.close();
    }
    await this.#cas.adopt(temp, staged.sha256);
  }

  /** Names the payload under the key: a hard link, else a reference file. */
  async #link(where: { parent: string; slot: string; file: string }, staged: Written) {
    try {
      await Deno.link(this.#cas.path(staged.sha256), where.file);
    } catch (err) {
      // Only a link the file system refuses (EXDEV, EMLINK, EPERM, …) becomes a reference.
      if (err instanceof Deno.errors.AlreadyExists || err instanceof Deno.errors.NotFound) {
        throw err;
      }
      const ref = canonicalBytes({ cas_ref: 1, sha256: staged.sha256, size: staged.size });
      await writeNewFileSynced(where.file + CAS_REF_SUFFIX, ref, { mode: 0o444 });
    }
    await syncDir(where.slot);
    await syncDir(where.parent);
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
   * Tells whether a blob is stored: its file, or its reference to a stored payload.
   *
   * @param key The key.
   * @returns `true` when it is.
   */
  async has(key: string): Promise<boolean> {
    let path: string;
    try {
      path = await this.openPath(key);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
    try {
      return (await Deno.lstat(path)).isFile;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  }

  /**
   * Deletes a blob's key (its slot directory); a missing one is no error.
   * The bytes stay in the content store until gc finds nothing referencing them.
   *
   * @param key The key.
   * @throws {StorageError} When it exists and cannot be removed (names the slot).
   */
  async delete(key: string): Promise<void> {
    let slot: string;
    try {
      // `<prefix>/<slot>/` names a slot an interrupted put left empty (see keys).
      slot = this.#resolve(key.endsWith("/") ? `${key}-` : key).slot;
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
   * The blob's file, for reading only: its own path (a hard link into the
   * content store), confined to its namespace; for a blob stored as a
   * reference, the content store's file.
   *
   * @param key The key.
   * @returns The absolute path (the file may be missing).
   * @throws {PathSecurityError} When a symlink leads the path out of its namespace.
   * @throws {Deno.errors.NotFound} When the key's namespace does not exist.
   */
  async openPath(key: string): Promise<string> {
    const { namespace, dirs, slot, name } = splitKey(key);
    const rel = [dirs, slot, name].filter((part) => part !== "").join("/");
    const path = resolveInside(join(this.#root, namespace), rel);
    try {
      await Deno.lstat(path);
      return path;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) return path;
    }
    const sha256 = await readRef(path + CAS_REF_SUFFIX);
    return sha256 === undefined ? path : this.#cas.path(sha256);
  }

  /**
   * Lists the keys stored under a prefix of existing directories, e.g.
   * `<run_id>/artifacts`: each slot's file or reference, and
   * `<prefix>/<slot>/` for a slot an interrupted put left empty
   * ({@linkcode FsBlobStore.delete} takes that too).
   *
   * @param prefix `<namespace>/<dirs…>`.
   * @returns The keys, sorted.
   */
  async keys(prefix: string): Promise<string[]> {
    const [namespace, ...dirs] = prefix.split("/");
    let parent: string;
    try {
      splitKey(`${prefix}/slot/name`);
      const space = join(this.#root, namespace);
      parent = dirs.length === 0 ? space : resolveInside(space, dirs.join("/"));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    }
    const out: string[] = [];
    for (const slot of await listNames(parent)) {
      if (!(await Deno.lstat(join(parent, slot))).isDirectory) continue;
      const names = await listNames(join(parent, slot));
      if (names.length === 0) out.push(`${prefix}/${slot}/`);
      for (const name of names) {
        const plain = name.endsWith(CAS_REF_SUFFIX) &&
            (await readRef(join(parent, slot, name))) !== undefined
          ? name.slice(0, -CAS_REF_SUFFIX.length)
          : name;
        out.push(`${prefix}/${slot}/${plain}`);
      }
    }
    return out.sort();
  }

  /**
   * Lists every payload of the content store.
   *
   * @returns Hash and size of each, in hash order.
   */
  async contents(): Promise<ContentInfo[]> {
    return await this.#cas.list();
  }

  /**
   * Runs `fn` while no put is under way or can start (the content store's
   * lock, exclusive): what gc decides and removes in it cannot race a put.
   *
   * @param fn The work.
   * @returns What `fn` returns.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return await this.#cas.locked(true, fn);
  }

  /**
   * Removes a payload from the content store; call it only inside
   * {@linkcode FsBlobStore.exclusive}, for bytes no kept key references.
   *
   * @param sha256 The payload's hash.
   */
  async removeContent(sha256: string): Promise<void> {
    await this.#cas.remove(sha256);
  }

  /**
   * Lists what interrupted puts left in the content store (temp files).
   *
   * @returns Their names, for {@linkcode FsBlobStore.removeLeftover}.
   */
  async leftovers(): Promise<string[]> {
    return await this.#cas.leftovers();
  }

  /**
   * Removes one leftover; call it only inside {@linkcode FsBlobStore.exclusive}.
   *
   * @param name A name from {@linkcode FsBlobStore.leftovers}.
   */
  async removeLeftover(name: string): Promise<void> {
    if (dirname(name) !== join(this.#cas.dir, "tmp")) {
      throw new UsageError(`${name} is no leftover of the content store ${this.#cas.dir}`);
    }
    await this.#cas.removeLeftover(name);
  }
}

async function listNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) out.push(entry.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) {
      throw storageError(err, dir, "list");
    }
  }
  return out.sort();
}
