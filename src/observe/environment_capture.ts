/**
 * Takes a run's `environment_snapshot.v1` (the effect next to the pure
 * `environmentSnapshot`): reads Deno's versions and build, the OS release,
 * hashes the workspace's `deno.lock`, asks `bwrap --version` when the run is
 * sandboxed, and asks `git` (as a child process, with only `PATH` and `HOME`
 * of the injected environment) for the workspace's commit and whether
 * tracked files changed. A missing `git`, `bwrap` or lock file leaves its
 * field empty; nothing here fails a run.
 *
 * @module
 */

import type { Clock } from "../core/clock.ts";
import { sha256File } from "../core/canonical_json.ts";
import { KERNEL_VERSION } from "../core/version.ts";
import type { ArtifactRef } from "../store/artifact_ref.ts";
import type { Store } from "../store/store.ts";
import { findProgram } from "../runtime/executors/find_program.ts";
import {
  ENVIRONMENT_SNAPSHOT_TYPE,
  type EnvironmentFacts,
  environmentSnapshot,
} from "./environment_snapshot.ts";

/** Options of {@linkcode captureEnvironment}. */
export interface CaptureEnvironmentOptions {
  /** The workspace (where `deno.lock` and the git work tree are looked for). */
  readonly workspace: string;
  /** Whether the run's commands run under bubblewrap (asks for its version). */
  readonly sandboxed: boolean;
  /** Stamps the snapshot. */
  readonly clock: Clock;
  /** The kernel's environment: `PATH` finds `git` and `bwrap`; `HOME` is passed to `git`. */
  readonly env: Readonly<Record<string, string>>;
}

/** Runs a program to completion; its trimmed stdout, or `null` when it fails to start or exits non-zero. */
async function output(
  program: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<string | null> {
  try {
    const done = await new Deno.Command(program, {
      args: [...args],
      cwd: options.cwd,
      env: options.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return done.success ? new TextDecoder().decode(done.stdout).trim() : null;
  } catch {
    return null;
  }
}

async function gitFacts(
  workspace: string,
  env: Readonly<Record<string, string>>,
): Promise<EnvironmentFacts["git"]> {
  const path = env.PATH ?? "";
  const git = await findProgram("git", { cwd: workspace, path });
  if (git === undefined) return undefined;
  const childEnv: Record<string, string> = { PATH: path, ...(env.HOME ? { HOME: env.HOME } : {}) };
  const opts = { cwd: workspace, env: childEnv };
  if ((await output(git, ["rev-parse", "--is-inside-work-tree"], opts)) !== "true") {
    return undefined;
  }
  const [commit, status] = await Promise.all([
    output(git, ["rev-parse", "--verify", "--quiet", "HEAD"], opts),
    output(git, ["status", "--porcelain", "--untracked-files=no"], opts),
  ]);
  return { commit: commit || null, dirty: status === null || status !== "" };
}

async function bubblewrapVersion(env: Readonly<Record<string, string>>): Promise<string | null> {
  const bwrap = await findProgram("bwrap", { cwd: "/", path: env.PATH ?? "" });
  if (bwrap === undefined) return null;
  const text = await output(bwrap, ["--version"], { cwd: "/", env: {} });
  return text?.split("\n")[0] || null;
}

async function lockHash(workspace: string): Promise<string | null> {
  try {
    return await sha256File(`${workspace}/deno.lock`);
  } catch {
    return null;
  }
}

function osRelease(): string | null {
  try {
    return Deno.osRelease();
  } catch {
    return null;
  }
}

/**
 * Finds the facts of an environment snapshot.
 *
 * @param options The workspace, whether the run is sandboxed, the clock and the environment.
 * @returns The facts, for `environmentSnapshot`.
 */
export async function captureEnvironment(
  options: CaptureEnvironmentOptions,
): Promise<EnvironmentFacts> {
  const at = options.clock.now();
  const [denoLockSha256, bubblewrap, git] = await Promise.all([
    lockHash(options.workspace),
    options.sandboxed ? bubblewrapVersion(options.env) : Promise.resolve(null),
    gitFacts(options.workspace, options.env),
  ]);
  return {
    at,
    kernelVersion: KERNEL_VERSION,
    versions: { deno: Deno.version.deno, v8: Deno.version.v8, typescript: Deno.version.typescript },
    build: { os: Deno.build.os, arch: Deno.build.arch, target: Deno.build.target },
    osRelease: osRelease(),
    denoLockSha256,
    bubblewrap,
    ...(git ? { git } : {}),
  };
}

/**
 * Captures the environment and stores it in a run as an
 * `environment_snapshot.v1` JSON artifact.
 *
 * @param store The store.
 * @param runId The run.
 * @param options As {@linkcode captureEnvironment}.
 * @returns The stored artifact's reference.
 */
export async function storeEnvironmentSnapshot(
  store: Store,
  runId: string,
  options: CaptureEnvironmentOptions,
): Promise<ArtifactRef> {
  const snapshot = environmentSnapshot(await captureEnvironment(options));
  return await store.artifacts.putJson(runId, snapshot, {
    type: ENVIRONMENT_SNAPSHOT_TYPE,
    name: "environment",
    producer: { id: "lily", kind: "system" },
  });
}
