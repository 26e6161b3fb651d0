/**
 * The environment fields a step cache key covers — the Deno version and the
 * sha256 of the workspace's `deno.lock` — read from the run's environment
 * snapshot (taken once at the run's start), so every attempt of a run,
 * resumed or not, keys on the same environment. A run
 * without a snapshot (started before snapshots existed) keys on the
 * running Deno and the lock file as they are now.
 *
 * @module
 */

import { sha256File } from "../core/canonical_json.ts";
import { storageError } from "../core/storage_error.ts";
import type { Store } from "../store/store.ts";
import type { CacheEnvironment } from "./cache_key.ts";

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/**
 * Reads the key's environment fields.
 *
 * @param store The open store.
 * @param snapshotId The run's environment snapshot artifact, or null.
 * @returns `deno_version` and `deno_lock_sha256` (null when the workspace has no `deno.lock`).
 * @throws {StorageError} When the snapshot or the lock file cannot be read.
 */
export async function cacheEnvironment(
  store: Store,
  snapshotId: string | null,
): Promise<CacheEnvironment> {
  if (snapshotId !== null) {
    const { value } = await store.artifacts.get(snapshotId);
    const snapshot = (value ?? {}) as Record<string, unknown>;
    return {
      deno_version: stringOrNull(snapshot.deno_version),
      deno_lock_sha256: stringOrNull(snapshot.deno_lock_sha256),
    };
  }
  const lock = `${store.workspace}/deno.lock`;
  let lockSha256: string | null = null;
  try {
    lockSha256 = await sha256File(lock);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, lock, "read");
  }
  return { deno_version: Deno.version.deno, deno_lock_sha256: lockSha256 };
}
