/**
 * Runs: creating a run directory with its manifest, reading manifests back,
 * listing runs, updating a manifest under the run lock, and the run files
 * the runtime reaches only through methods: its exported state and the
 * local scratch its attempts are staged in.
 *
 * @module
 */

import { IntegrityError, LilyError, NotFoundError } from "../core/errors.ts";
import { type IdSource, isUuid, newRunId } from "../core/ids.ts";
import { KERNEL_VERSION } from "../core/version.ts";
import type { ArtifactRef } from "./artifact_ref.ts";
import type { ArtifactStore, Producer } from "./artifact_store.ts";
import { crashPoint } from "../core/crash_point.ts";
import { storageError } from "../core/storage_error.ts";
import {
  createDir,
  openLockFile,
  syncDir,
  withFileLock,
  writeFileAtomic,
  writeNewFileSynced,
} from "./durable_file.ts";
import { type RunLayout, runLayout, type StoreLayout } from "./layout.ts";
import { checkFileName } from "./safe_path.ts";
import { type LiveLogChunk, readLiveLog } from "./live_log.ts";
import { basename, join } from "node:path";
import {
  manifestBytes,
  missingManifestError,
  readManifest,
  type RunManifest,
  writeManifest,
} from "./run_manifest.ts";
import { isJsonObject, readUserFile, userFileName } from "./user_file.ts";
import { readWorkspaceSnapshot } from "./workspace_snapshot.ts";

/** The artifact type of work orders. */
export const WORK_ORDER_TYPE = "work_order.v1";

/**
 * A check run on a work order's bytes before a run is created, e.g. schema
 * validation from a higher layer. It throws to reject the work order.
 */
export type WorkOrderCheck = (bytes: Uint8Array, path: string) => void;

/** Options of {@linkcode RunStore}. */
export interface RunStoreOptions {
  /**
   * The clock that stamps manifests.
   * @default {() => new Date()}
   */
  now?: () => Date;
  /**
   * The source of run ids.
   * @default {newRunId}
   */
  newId?: IdSource;
  /** Checks a work order before any run is created. */
  checkWorkOrder?: WorkOrderCheck;
}

/** Options of {@linkcode RunStore.create}. */
export interface CreateRunOptions {
  /** A work order file to store with the run (type `work_order.v1`). */
  workOrderPath?: string;
  /**
   * Who supplied the work order.
   * @default {{ id: "human", kind: "human" }}
   */
  workOrderProducer?: Producer;
}

/** A run that was just created. */
export interface CreatedRun {
  /** Its manifest as written. */
  readonly manifest: RunManifest;
  /** Its run root directory. */
  readonly path: string;
  /** The stored work order, when one was given. */
  readonly workOrderRef: ArtifactRef | null;
}

/** One entry of {@linkcode RunStore.list}: a manifest, or why it is unreadable. */
export type RunListing =
  | { readonly run_id: string; readonly manifest: RunManifest }
  | { readonly run_id: string; readonly error: string };

/** The local directories the runtime stages a run's attempts in (see {@linkcode RunStore.scratch}). */
export interface RunScratch {
  /** Attempt staging: not durable, may be wiped any time. */
  readonly tmp: string;
  /** Live log files. */
  readonly logs: string;
}

/** The trace of an interrupted run creation, found by {@linkcode RunStore.partialCreations}. */
export interface PartialCreation {
  /** The id the run would have had. */
  readonly run_id: string;
  /** The directory left behind. */
  readonly path: string;
  /** Whether it is a manifest-less run directory left by an older kernel. */
  readonly legacy: boolean;
}

/** The name prefix of a run directory being created, in `runs/`. */
export const PARTIAL_PREFIX = ".creating-";

/** The lock file run creations hold shared and clean-ups hold exclusively, in `runs/`. */
export const CREATION_LOCK_NAME = ".create.lock";

/**
 * The path of `runs/.create.lock`.
 *
 * @param layout The workspace store's paths.
 * @returns The lock file's path.
 */
export function creationLockPath(layout: StoreLayout): string {
  return join(layout.runsDir, CREATION_LOCK_NAME);
}

function partialRunPath(layout: StoreLayout, runId: string): string {
  return join(layout.runsDir, `${PARTIAL_PREFIX}${runId}`);
}

/**
 * Runs `fn` holding `runs/.create.lock`: shared for a creation, exclusive
 * (without waiting) for a clean-up.
 *
 * @returns What `fn` returns, or `undefined` when the exclusive lock was busy.
 */
async function withCreationLock<T>(
  layout: StoreLayout,
  exclusive: boolean,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  const file = await openLockFile(creationLockPath(layout), { create: true });
  try {
    if (exclusive) {
      if (!(await file.tryLock(true))) return undefined;
    } else await file.lock(false);
    return await fn();
  } finally {
    file.close();
  }
}

async function listRunsDir(runsDir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(runsDir)) out.push(entry);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, runsDir, "list");
  }
  return out;
}

/** A run dir of an older kernel that died before writing the manifest: empty dirs only. */
async function isLegacyPartial(root: string): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir(root)) {
      if (entry.name === ".lock" && entry.isFile) continue;
      if (!["artifacts", "logs", "tmp"].includes(entry.name) || !entry.isDirectory) return false;
      for await (const _ of Deno.readDir(join(root, entry.name))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Creates, reads, lists and updates the runs of one workspace store. */
export class RunStore {
  #layout: StoreLayout;
  #artifacts: ArtifactStore;
  #now: () => Date;
  #newId: IdSource;
  #checkWorkOrder?: WorkOrderCheck;

  /**
   * Creates the run store.
   *
   * @param layout The workspace store's paths.
   * @param artifacts The artifact store work orders are put into.
   * @param options Clock, id source and work order check.
   */
  constructor(layout: StoreLayout, artifacts: ArtifactStore, options: RunStoreOptions = {}) {
    this.#layout = layout;
    this.#artifacts = artifacts;
    this.#now = options.now ?? (() => new Date());
    this.#newId = options.newId ?? newRunId;
    this.#checkWorkOrder = options.checkWorkOrder;
  }

  /**
   * Where a run is kept, for people to read (in messages and `lily run show`);
   * for this store, the run's directory. Nothing outside the store opens it.
   *
   * @param runId The run id.
   * @returns The location.
   * @throws {UsageError} When the id is not a UUID.
   */
  location(runId: string): string {
    return runLayout(this.#layout, runId).root;
  }

  /**
   * The local directories the runtime stages a run's attempts in: `tmp/`
   * (not durable, may be wiped any time; on the store's file system, so
   * staged outputs enter the store by rename) and `logs/` (the live log
   * files, kept byte for byte). Both exist once the run is created.
   *
   * @param runId The run id.
   * @returns The two directories.
   * @throws {UsageError} When the id is not a UUID.
   */
  scratch(runId: string): RunScratch {
    const run = runLayout(this.#layout, runId);
    return { tmp: run.tmp, logs: run.logs };
  }

  /**
   * Reads one of a run's live log files (in `logs/`, as the runtime names
   * them) from a byte offset, while it may still grow.
   *
   * @param runId The run id.
   * @param name The file's name in `logs/`, e.g. `build.1.stdout.log`.
   * @param offset Where to start, in bytes.
   * @returns The bytes (at most 1 MiB) and the file's size, or `undefined` when there is no such file.
   * @throws {UsageError} When the id is not a UUID or the name is not a plain file name.
   * @throws {IntegrityError} When the file is a symlink or not a regular file.
   */
  async readLiveLog(
    runId: string,
    name: string,
    offset: number,
  ): Promise<LiveLogChunk | undefined> {
    const run = runLayout(this.#layout, runId);
    return await readLiveLog(join(run.logs, checkFileName(name, "log file name")), offset);
  }

  /**
   * Writes a run's exported state (`run_state.json`) atomically.
   *
   * @param runId The run id.
   * @param text The export, JSON.
   * @throws {StorageError} When it cannot be written, e.g. on a full disk (names the file).
   */
  async writeStateExport(runId: string, text: string): Promise<void> {
    await writeFileAtomic(runLayout(this.#layout, runId).state, new TextEncoder().encode(text));
  }

  /**
   * Reads a run's exported state (`run_state.json`).
   *
   * @param runId The run id.
   * @returns The text, or `undefined` when there is none.
   * @throws {StorageError} When it exists and cannot be read (names the file).
   */
  async readStateExport(runId: string): Promise<string | undefined> {
    const path = runLayout(this.#layout, runId).state;
    try {
      return await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw storageError(err, path, "read");
    }
  }

  /**
   * Creates a run with status `created` and, when given, stores its work
   * order and records it as `work_order_ref`. A missing, unreadable or
   * (with a work order check) invalid work order is rejected before anything
   * is created. The git snapshot is taken first; the run directory then
   * appears whole, manifest included, by one rename, so a crash leaves
   * nothing or a `.creating-<id>` trace (see
   * {@linkcode RunStore.partialCreations}). When storing the work order
   * fails, the run is removed again.
   *
   * @param options The work order and its producer.
   * @returns The manifest, run root and work order reference.
   */
  async create(options: CreateRunOptions = {}): Promise<CreatedRun> {
    // Read once: the bytes checked are the bytes stored (a pipe can be read only once).
    const workOrder = options.workOrderPath === undefined
      ? undefined
      : await readWorkOrder(options.workOrderPath);
    if (workOrder) this.#checkWorkOrder?.(workOrder.bytes, workOrder.path);
    const runId = this.#newId();
    const run = runLayout(this.#layout, runId);
    const snapshot = await readWorkspaceSnapshot(this.#layout.workspace);
    const now = this.#now().toISOString();
    let manifest: RunManifest = {
      run_id: runId,
      created_at: now,
      updated_at: now,
      kernel_version: KERNEL_VERSION,
      status: "created",
      work_order_ref: null,
      ...(snapshot ? { workspace_snapshot: snapshot } : {}),
    };
    await this.#materialize(run, manifest);
    let workOrderRef: ArtifactRef | null = null;
    if (workOrder) {
      try {
        workOrderRef = await this.#artifacts.putBytes(runId, workOrder.bytes, {
          fileName: workOrder.fileName,
          type: WORK_ORDER_TYPE,
          producer: options.workOrderProducer ?? { id: "human", kind: "human" },
        });
      } catch (err) {
        await this.#discard(run, runId);
        throw err;
      }
      const ref = workOrderRef;
      manifest = await this.update(runId, () => ({ work_order_ref: ref }));
    }
    return { manifest, path: run.root, workOrderRef };
  }

  /**
   * Makes a run directory appear whole: it is built under a partial name
   * with its manifest written and fsynced, then renamed into place, all
   * while holding the creation lock shared (so a clean-up, which takes it
   * exclusively, never removes a creation in progress). A crash leaves
   * either nothing or a `.creating-<id>` directory.
   */
  async #materialize(run: RunLayout, manifest: RunManifest): Promise<void> {
    const runsDir = this.#layout.runsDir;
    const partial = partialRunPath(this.#layout, manifest.run_id);
    await createDir(runsDir, { recursive: true });
    await withCreationLock(this.#layout, false, async () => {
      try {
        await createDir(partial);
        for (const dir of ["artifacts", "logs", "tmp"]) await createDir(join(partial, dir));
        crashPoint("run_create.before_manifest");
        await writeNewFileSynced(join(partial, basename(run.manifest)), manifestBytes(manifest));
        await syncDir(partial);
        crashPoint("run_create.before_rename");
        try {
          await Deno.rename(partial, run.root);
        } catch (err) {
          throw storageError(err, run.root, "create");
        }
      } catch (err) {
        await Deno.remove(partial, { recursive: true }).catch(() => {});
        throw err;
      }
      await syncDir(runsDir);
    });
  }

  /** Takes a just-created run away again, through its partial name. */
  async #discard(run: RunLayout, runId: string): Promise<void> {
    const partial = partialRunPath(this.#layout, runId);
    try {
      await Deno.rename(run.root, partial);
      await Deno.remove(partial, { recursive: true });
      await syncDir(this.#layout.runsDir);
    } catch {
      // What is left is a partial creation, which verify reports and
      // `lily verify --clean-partial` removes.
    }
  }

  /**
   * Finds the traces of interrupted run creations: `.creating-<id>`
   * directories, and run directories without a manifest that hold nothing
   * but the empty `artifacts/`, `logs/` and `tmp/` (and `.lock`) that
   * earlier Lily versions created before writing the manifest.
   *
   * @returns One entry per trace, by path.
   */
  async partialCreations(): Promise<PartialCreation[]> {
    const out: PartialCreation[] = [];
    for (const entry of await listRunsDir(this.#layout.runsDir)) {
      const path = join(this.#layout.runsDir, entry.name);
      if (entry.name.startsWith(PARTIAL_PREFIX)) {
        out.push({ run_id: entry.name.slice(PARTIAL_PREFIX.length), path, legacy: false });
      } else if (entry.isDirectory && isUuid(entry.name) && await isLegacyPartial(path)) {
        out.push({ run_id: entry.name, path, legacy: true });
      }
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  /**
   * Removes the traces of interrupted run creations. It holds the creation
   * lock exclusively, so it never removes a creation in progress; when a
   * creation holds it, nothing is removed and `busy` is true. A manifest-less
   * run directory of an older kernel (which took no lock) is removed only
   * once it is older than `minAgeMs`.
   *
   * @param options `minAgeMs`: the age (by mtime, in ms) a manifest-less run
   * directory must have; default 60000.
   * @returns The removed paths, and whether a creation in progress made it skip.
   * @throws {StorageError} When a trace cannot be removed.
   */
  async cleanPartialCreations(
    options: { minAgeMs?: number } = {},
  ): Promise<{ removed: string[]; busy: boolean }> {
    const minAgeMs = options.minAgeMs ?? 60_000;
    const removed: string[] = [];
    const done = await withCreationLock(this.#layout, true, async () => {
      for (const trace of await this.partialCreations()) {
        if (trace.legacy) {
          const info = await Deno.stat(trace.path).catch((err) => {
            throw storageError(err, trace.path, "read");
          });
          const mtime = info.mtime?.getTime() ?? Date.now();
          if (Date.now() - mtime < minAgeMs) continue;
        }
        try {
          await Deno.remove(trace.path, { recursive: true });
        } catch (err) {
          throw storageError(err, trace.path, "remove");
        }
        removed.push(trace.path);
      }
      if (removed.length > 0) await syncDir(this.#layout.runsDir);
      return true;
    });
    return { removed, busy: done === undefined };
  }

  /**
   * Reads a run's manifest.
   *
   * @param runId The run id.
   * @returns The manifest.
   * @throws {NotFoundError} When the run does not exist.
   * @throws {IntegrityError} When its manifest is unreadable, invalid,
   * names another run, or is missing from an existing run directory.
   */
  async get(runId: string): Promise<RunManifest> {
    const run = runLayout(this.#layout, runId);
    try {
      return await readManifest(run.manifest, runId);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      if (await isLegacyPartial(run.root)) {
        throw new NotFoundError(
          `Run ${runId} does not exist: ${run.root} is the trace of an interrupted run ` +
            "creation; remove it with `lily verify --clean-partial`",
          { cause: err },
        );
      }
      const missing = await missingManifestError(run.root, run.manifest, runId);
      if (missing instanceof NotFoundError) {
        throw new NotFoundError(`Run ${runId} does not exist in ${this.#layout.storeDir}`, {
          cause: err,
        });
      }
      throw missing;
    }
  }

  /**
   * Lists every run directory, oldest first; unreadable manifests are listed
   * with the reason instead of failing the whole listing.
   *
   * @returns One entry per run directory.
   */
  async list(): Promise<RunListing[]> {
    const out: RunListing[] = [];
    try {
      for await (const entry of Deno.readDir(this.#layout.runsDir)) {
        if (!entry.isDirectory || !isUuid(entry.name)) continue;
        try {
          out.push({ run_id: entry.name, manifest: await this.get(entry.name) });
        } catch (err) {
          if (!(err instanceof LilyError)) throw err;
          const root = join(this.#layout.runsDir, entry.name);
          if (await isLegacyPartial(root)) continue;
          out.push({ run_id: entry.name, error: err.message });
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw storageError(err, this.#layout.runsDir, "list");
      }
    }
    const key = (r: RunListing) => "manifest" in r ? r.manifest.created_at : "";
    return out.sort((a, b) => key(a).localeCompare(key(b)) || a.run_id.localeCompare(b.run_id));
  }

  /**
   * Rewrites a run's manifest atomically under the run lock. The lock is held
   * only for the read-modify-write of the manifest.
   *
   * @param runId The run id.
   * @param patch Computes the changed fields from the current manifest.
   * @returns The manifest as written.
   */
  async update(
    runId: string,
    patch: (current: RunManifest) => Partial<Omit<RunManifest, "run_id" | "created_at">>,
  ): Promise<RunManifest> {
    const run = runLayout(this.#layout, runId);
    await this.get(runId);
    return await withFileLock(run.lock, async () => {
      const current = await readManifest(run.manifest, runId);
      const next: RunManifest = {
        ...current,
        ...patch(current),
        run_id: current.run_id,
        created_at: current.created_at,
        updated_at: this.#now().toISOString(),
      };
      if (next.run_id !== runId) {
        throw new IntegrityError(`Manifest ${run.manifest} names run ${next.run_id}`);
      }
      await writeManifest(run.manifest, next);
      return next;
    });
  }
}

async function readWorkOrder(
  path: string,
): Promise<{ path: string; fileName: string; bytes: Uint8Array }> {
  const bytes = await readUserFile(path, "Work order");
  const fallback = isJsonObject(bytes) ? "work_order.json" : "work_order";
  const fileName = checkFileName(userFileName(path, fallback), "work order file name");
  return { path, fileName, bytes };
}
