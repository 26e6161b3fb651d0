/**
 * The `environment_snapshot.v1` of a run: what it ran on, taken once at its
 * start. {@linkcode environmentSnapshot} shapes the facts a capture found
 * (pure); `environment_capture.ts` finds them.
 *
 * @module
 */

import type { EnvironmentSnapshotV1 } from "../contracts/kernel_schemas.ts";

/** The artifact type of a run's environment snapshot. */
export const ENVIRONMENT_SNAPSHOT_TYPE = "environment_snapshot.v1";

/** What a capture found, before shaping. */
export interface EnvironmentFacts {
  /** When it was taken (the injected clock's wall time). */
  readonly at: Date;
  /** The Lily kernel version. */
  readonly kernelVersion: string;
  /** `Deno.version`. */
  readonly versions: { readonly deno: string; readonly v8: string; readonly typescript: string };
  /** `Deno.build`: os, arch and target triple. */
  readonly build: { readonly os: string; readonly arch: string; readonly target: string };
  /** `Deno.osRelease()`, e.g. `6.1.0-18-amd64`; `null` when it cannot be read. */
  readonly osRelease: string | null;
  /** sha256 of the workspace's `deno.lock`, `null` when it has none. */
  readonly denoLockSha256: string | null;
  /**
   * The first line of `bwrap --version` (e.g. `bubblewrap 0.8.0`) when the run
   * is sandboxed and bubblewrap is found; `null` otherwise.
   */
  readonly bubblewrap: string | null;
  /** The workspace's git commit and whether tracked files differ from it; absent outside a work tree. */
  readonly git?: { readonly commit: string | null; readonly dirty: boolean };
}

/**
 * Shapes captured facts into an `environment_snapshot.v1` payload.
 *
 * @param facts What the capture found.
 * @returns The payload, as `docs/schemas.md` lists its fields.
 */
export function environmentSnapshot(facts: EnvironmentFacts): EnvironmentSnapshotV1 {
  return {
    captured_at: facts.at.toISOString(),
    kernel_version: facts.kernelVersion,
    deno_version: facts.versions.deno,
    v8_version: facts.versions.v8,
    typescript_version: facts.versions.typescript,
    platform: { os: facts.build.os, arch: facts.build.arch, target: facts.build.target },
    os_release: facts.osRelease,
    deno_lock_sha256: facts.denoLockSha256,
    bubblewrap_version: facts.bubblewrap,
    ...(facts.git ? { git: { commit: facts.git.commit, dirty: facts.git.dirty } } : {}),
  };
}
