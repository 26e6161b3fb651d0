/**
 * Runs: creating a run directory with its manifest, reading manifests back,
 * listing runs and updating a manifest under the run lock.
 *
 * @module
 */

import { IntegrityError, LilyError, NotFoundError } from "../core/errors.ts";
import { type IdSource, isUuid, newRunId } from "../core/ids.ts";
import { KERNEL_VERSION } from "../core/version.ts";
import type { ArtifactRef } from "./artifact_ref.ts";
import type { ArtifactStore, Producer } from "./artifact_store.ts";
import { syncDir, withFileLock } from "./durable_file.ts";
import { type RunLayout, runLayout, type StoreLayout } from "./layout.ts";
import { checkFileName } from "./safe_path.ts";
import { basename } from "node:path";
import { readManifest, type RunManifest, writeManifest } from "./run_manifest.ts";
import { readUserFile } from "./user_file.ts";
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
   * The paths of one run.
   *
   * @param runId The run id.
   * @returns Its layout.
   * @throws {UsageError} When the id is not a UUID.
   */
  paths(runId: string): RunLayout {
    return runLayout(this.#layout, runId);
  }

  /**
   * Creates a run with status `created` and, when given, stores its work
   * order and records it as `work_order_ref`. A missing, unreadable or
   * (with a work order check) invalid work order is rejected before anything
   * is created.
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
    await Deno.mkdir(this.#layout.runsDir, { recursive: true });
    await Deno.mkdir(run.root);
    for (const dir of [run.artifacts, run.logs, run.tmp]) await Deno.mkdir(dir);
    await syncDir(run.root);
    await syncDir(this.#layout.runsDir);
    const now = this.#now().toISOString();
    const snapshot = await readWorkspaceSnapshot(this.#layout.workspace);
    let manifest: RunManifest = {
      run_id: runId,
      created_at: now,
      updated_at: now,
      kernel_version: KERNEL_VERSION,
      status: "created",
      work_order_ref: null,
      ...(snapshot ? { workspace_snapshot: snapshot } : {}),
    };
    await withFileLock(run.lock, () => writeManifest(run.manifest, manifest));
    let workOrderRef: ArtifactRef | null = null;
    if (workOrder) {
      workOrderRef = await this.#artifacts.putBytes(runId, workOrder.bytes, {
        fileName: workOrder.fileName,
        type: WORK_ORDER_TYPE,
        producer: options.workOrderProducer ?? { id: "human", kind: "human" },
      });
      const ref = workOrderRef;
      manifest = await this.update(runId, () => ({ work_order_ref: ref }));
    }
    return { manifest, path: run.root, workOrderRef };
  }

  /**
   * Reads a run's manifest.
   *
   * @param runId The run id.
   * @returns The manifest.
   * @throws {NotFoundError} When the run does not exist.
   * @throws {IntegrityError} When its manifest is unreadable or invalid.
   */
  async get(runId: string): Promise<RunManifest> {
    const run = runLayout(this.#layout, runId);
    try {
      return await readManifest(run.manifest);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`Run ${runId} does not exist in ${this.#layout.storeDir}`, {
          cause: err,
        });
      }
      throw err;
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
          out.push({ run_id: entry.name, error: err.message });
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
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
      const current = await readManifest(run.manifest);
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
  const fileName = checkFileName(basename(path), "work order file name");
  return { path, fileName, bytes: await readUserFile(path, "Work order") };
}
