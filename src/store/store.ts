/**
 * Opening a workspace's store: the filesystem + SQLite implementation of the
 * store's ports (`ports.ts`) under `<workspace>/.iris/`, wired together. No
 * file path leaves the store except a file artifact's `openPath`, the run
 * location shown to people, and the local scratch the runtime stages
 * attempts in.
 *
 * @module
 */

import { resolve } from "node:path";
import { NotFoundError, UsageError } from "../core/errors.ts";
import type { IdSource } from "../core/ids.ts";
import { storageError } from "../core/storage_error.ts";
import { ArtifactStore, type PayloadCheck, type Producer } from "./artifact_store.ts";
import { runLayout, storeLayout } from "./layout.ts";
import { FsBlobStore } from "./fs/fs_blob_store.ts";
import { requireRunManifest } from "./run_manifest.ts";
import { RunStore, type WorkOrderCheck } from "./run_store.ts";
import { SqliteArtifactIndex } from "./sqlite/sqlite_artifact_index.ts";
import { SqliteStepCache } from "./sqlite/sqlite_step_cache.ts";
import { FsRunControl } from "./fs/fs_run_control.ts";
import { FsRunEventLog } from "./fs/fs_run_event_log.ts";
import { FsRunLease } from "./fs/fs_run_lease.ts";
import type {
  ArtifactIndex,
  BlobStore,
  RunControl,
  RunEventLog,
  RunLease,
  StepCache,
} from "./ports.ts";
import { verifyFsStore, type VerifyOptions, type VerifyReport } from "./verify.ts";

/** Options of {@linkcode openStore}. */
export interface OpenStoreOptions {
  /**
   * Create `.iris/` when it does not exist; when false, a missing store is a
   * {@linkcode NotFoundError}.
   * @default {true}
   */
  create?: boolean;
  /**
   * The clock for every timestamp.
   * @default {() => new Date()}
   */
  now?: () => Date;
  /** The source of run ids. */
  newRunId?: IdSource;
  /** The source of artifact ids. */
  newArtifactId?: IdSource;
  /**
   * The producer recorded when a put names none.
   * @default {{ id: "lily", kind: "system" }}
   */
  defaultProducer?: Producer;
  /** Checks every JSON put must pass (e.g. schema validation). */
  checks?: readonly PayloadCheck[];
  /** Checks a work order before `runs.create` creates anything. */
  checkWorkOrder?: WorkOrderCheck;
  /**
   * Open the store even when its index is damaged, recording why in
   * `index.damage` (every index query then throws it); for verification.
   * @default {false}
   */
  tolerateDamagedIndex?: boolean;
}

/** An open workspace store. Close it when done. */
export interface Store {
  /** The workspace directory (absolute, symlinks resolved) the store belongs to. */
  readonly workspace: string;
  /** Payload bytes by key (artifacts' payloads are keyed `<run_id>/<rel_path>`). */
  readonly blobs: BlobStore;
  /** The artifact index. */
  readonly index: ArtifactIndex;
  /** Artifacts of every run. */
  readonly artifacts: ArtifactStore;
  /** The runs. */
  readonly runs: RunStore;
  /** Each run's append-only event log. */
  readonly events: RunEventLog;
  /**
   * Each run's access journal: what each attempt read, was allowed, staged
   * and committed; the same log primitive as `events`, never folded into
   * the run's state.
   */
  readonly access: RunEventLog;
  /** One live runner per run. */
  readonly leases: RunLease;
  /** Requests to a run's live runner. */
  readonly control: RunControl;
  /** The step cache: reusable step results and each attempt's lookup. */
  readonly cache: StepCache;
  /**
   * Verifies the whole store, or one run: payload hashes, index ↔ payloads,
   * manifests, partial run creations, each run's journal (with
   * `checkJournal`) and the run files beside it.
   *
   * @param options Restrict to one run; the journal check.
   * @returns The findings; `ok` is false when any is an error.
   * @throws {NotFoundError} When the run asked for does not exist.
   */
  verify(options?: VerifyOptions): Promise<VerifyReport>;
  /** Closes the index connection. */
  close(): void;
}

/** Keeps the store out of git: `.iris/.gitignore` ignores everything in it. */
async function writeStoreGitignore(storeDir: string): Promise<void> {
  const path = `${storeDir}/.gitignore`;
  try {
    await Deno.writeTextFile(path, "*\n", { createNew: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw storageError(err, path, "write");
  }
}

/**
 * Tells whether a workspace has a store (without creating one).
 *
 * @param workspace The workspace directory.
 * @returns `true` when `.iris/index.sqlite` exists.
 * @throws {StorageError} When it cannot be examined.
 */
export async function storeExists(workspace: string): Promise<boolean> {
  const { indexPath } = storeLayout(workspace);
  try {
    await Deno.stat(indexPath);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw storageError(err, indexPath, "read");
  }
}

/**
 * Picks the workspace: the explicit one, else `LILY_WORKSPACE`, else the cwd.
 *
 * @param explicit A `--workspace` value, when given.
 * @param env Reads an environment variable.
 * @returns The absolute workspace path.
 * @throws {UsageError} When the one that applies is an empty string (it
 * would quietly mean the cwd).
 */
export function resolveWorkspace(
  explicit: string | undefined,
  env: (name: string) => string | undefined,
): string {
  if (explicit === "") throw new UsageError("The workspace is an empty string; name a directory");
  const fromEnv = explicit === undefined ? env("LILY_WORKSPACE") : undefined;
  if (fromEnv === "") {
    throw new UsageError("LILY_WORKSPACE is set but empty; unset it or set it to a directory");
  }
  return resolve(explicit ?? fromEnv ?? ".");
}

/**
 * Opens (and by default creates) the store of a workspace.
 *
 * @example Create a run and store a JSON artifact
 * ```ts
 * import { openStore } from "./store.ts";
 * const workspace = await Deno.makeTempDir();
 * const store = await openStore(workspace);
 * try {
 *   const { manifest } = await store.runs.create();
 *   const ref = await store.artifacts.putJson(manifest.run_id, { hello: "world" }, {
 *     type: "note.v1",
 *   });
 *   console.assert(ref.storage_kind === "json");
 * } finally {
 *   store.close();
 *   await Deno.remove(workspace, { recursive: true });
 * }
 * ```
 *
 * @param workspace The workspace directory.
 * @param options Creation, clock, id sources, default producer and checks.
 * @returns The open store.
 * @throws {NotFoundError} With `create: false` when there is no store.
 * @throws {IntegrityError} When the index is damaged (unless `tolerateDamagedIndex`).
 * @throws {StorageError} When the store cannot be created or read, e.g. on a full disk.
 */
export async function openStore(workspace: string, options: OpenStoreOptions = {}): Promise<Store> {
  const given = storeLayout(workspace);
  if (options.create ?? true) {
    try {
      await Deno.mkdir(given.runsDir, { recursive: true });
    } catch (err) {
      throw storageError(err, given.runsDir, "create");
    }
    await writeStoreGitignore(given.storeDir);
  } else {
    try {
      await Deno.stat(given.indexPath);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, given.indexPath, "read");
      throw new NotFoundError(
        `No Lily store in ${given.workspace} (expected ${given.storeDir}); ` +
          "create a run with `lily run new` first",
        { cause: err },
      );
    }
  }
  // Every stored and confined path is computed from the real workspace path,
  // so a workspace reached through a symlink behaves like the real one.
  let real: string;
  try {
    real = await Deno.realPath(given.workspace);
  } catch (err) {
    throw storageError(err, given.workspace, "open");
  }
  const layout = storeLayout(real);
  const index = new SqliteArtifactIndex(layout.indexPath, {
    tolerateDamage: options.tolerateDamagedIndex,
  });
  const blobs = new FsBlobStore(layout.runsDir, layout.casDir);
  const artifacts = new ArtifactStore(blobs, index, {
    checkRun: (runId) => requireRunManifest(runLayout(layout, runId), runId),
    now: options.now,
    newId: options.newArtifactId,
    defaultProducer: options.defaultProducer,
    checks: options.checks,
  });
  const runs = new RunStore(layout, artifacts, {
    now: options.now,
    newId: options.newRunId,
    checkWorkOrder: options.checkWorkOrder,
  });
  const cache = new SqliteStepCache(layout.indexPath);
  return {
    workspace: layout.workspace,
    blobs,
    index,
    artifacts,
    runs,
    events: new FsRunEventLog(layout),
    access: new FsRunEventLog(layout, "access"),
    leases: new FsRunLease(layout),
    control: new FsRunControl(layout),
    cache,
    verify: (verifyOptions) => verifyFsStore({ layout, index, runs, blobs }, verifyOptions),
    close: () => {
      cache.close();
      index.close();
    },
  };
}
