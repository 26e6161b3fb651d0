/**
 * The filesystem contract: where the store keeps its index, runs, manifests
 * and artifacts under `<workspace>/.iris/`.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { assertUuid } from "../core/ids.ts";

/** Name of the store directory inside a workspace. */
export const STORE_DIR_NAME = ".iris";

/** Absolute paths of one workspace's store. */
export interface StoreLayout {
  /** The workspace directory. */
  readonly workspace: string;
  /** `<workspace>/.iris`. */
  readonly storeDir: string;
  /** `<workspace>/.iris/index.sqlite`. */
  readonly indexPath: string;
  /** `<workspace>/.iris/runs`. */
  readonly runsDir: string;
  /** `<workspace>/.iris/cas`: every payload once, by sha256 (`fs/fs_content_store.ts`). */
  readonly casDir: string;
}

/** Absolute paths of one run's directory. */
export interface RunLayout {
  /** `runs/<run_id>`: the run root every stored path is relative to. */
  readonly root: string;
  /** `run_manifest.json`. */
  readonly manifest: string;
  /** `artifacts/`. */
  readonly artifacts: string;
  /** `logs/`. */
  readonly logs: string;
  /** `tmp/`: not durable, may be wiped any time. */
  readonly tmp: string;
  /** `.lock`: held only while the manifest is written. */
  readonly lock: string;
  /** `events.jsonl`: the run's append-only event log. */
  readonly events: string;
  /** `access.jsonl`: the run's access journal (what each attempt read, was allowed, staged, committed). */
  readonly access: string;
  /** `run_state.json`: the exported run state, rewritten when a runner stops. */
  readonly state: string;
  /** `runner.lock`: the lease a live runner holds for its whole life. */
  readonly lease: string;
  /** `runner.json`: who holds (or last held) the lease. */
  readonly leaseInfo: string;
  /** `cancel_requested`: asks the live runner to cancel the run. */
  readonly cancelRequest: string;
}

/**
 * Computes the store paths of a workspace.
 *
 * @param workspace The workspace directory, absolute or relative to the cwd.
 * @returns The store's paths.
 */
export function storeLayout(workspace: string): StoreLayout {
  const ws = resolve(workspace);
  const storeDir = join(ws, STORE_DIR_NAME);
  return {
    workspace: ws,
    storeDir,
    indexPath: join(storeDir, "index.sqlite"),
    runsDir: join(storeDir, "runs"),
    casDir: join(storeDir, "cas"),
  };
}

/**
 * Computes the paths of one run; the id is validated first.
 *
 * @param store The store's layout.
 * @param runId The run id, from any source.
 * @returns The run's paths.
 * @throws {UsageError} When `runId` is not a UUID.
 */
export function runLayout(store: StoreLayout, runId: string): RunLayout {
  const root = join(store.runsDir, assertUuid(runId, "run id"));
  return {
    root,
    manifest: join(root, "run_manifest.json"),
    artifacts: join(root, "artifacts"),
    logs: join(root, "logs"),
    tmp: join(root, "tmp"),
    lock: join(root, ".lock"),
    events: join(root, "events.jsonl"),
    access: join(root, "access.jsonl"),
    state: join(root, "run_state.json"),
    lease: join(root, "runner.lock"),
    leaseInfo: join(root, "runner.json"),
    cancelRequest: join(root, "cancel_requested"),
  };
}
