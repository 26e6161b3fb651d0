/**
 * The filesystem implementation of the {@linkcode RunLease} port: one live
 * runner per run. It is an OS lock on
 * `runner.lock`, held for the runner's whole life, so a killed runner's lease
 * is released by the OS and a resume can take it at once. Who holds it is
 * written to `runner.json` just after the lock is taken; in between, that
 * file still names the previous holder, which may be dead — so a process
 * refused the lease names the holder only when the recorded process is
 * alive (same pid and same start time), and otherwise says the run is being
 * taken over.
 *
 * @module
 */

import { systemClock } from "../../core/clock.ts";
import { crashPoint } from "../../core/crash_point.ts";
import { ConflictError } from "../../core/errors.ts";
import { processStartTicks } from "../../core/proc_stat.ts";
import { openLockFile, writeFileAtomic } from "../durable_file.ts";
import { type RunLayout, runLayout, type StoreLayout } from "../layout.ts";
import type { AcquireLeaseOptions, HeldLease, RunLease } from "../ports.ts";
import { refuseSymlink } from "./refuse_symlink.ts";

/** Who holds a lease, as written to `runner.json`. */
export interface LeaseHolder {
  /** The runner's process id. */
  readonly pid: number;
  /** When it took the lease. */
  readonly since: string;
  /** Kernel ticks of the holder's start (tells a live holder from a reused pid); null without `/proc`. */
  readonly start_ticks?: number | null;
}

/** Reads who holds (or last held) the lease; `undefined` when nobody ever took it. */
async function readLeaseHolder(run: RunLayout): Promise<LeaseHolder | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(run.leaseInfo));
  } catch {
    return undefined;
  }
}

async function isRunLive(run: RunLayout): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await openLockFile(run.lease, { create: false });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  try {
    const free = await file.tryLock(true);
    return !free;
  } finally {
    file.close();
  }
}

/**
 * Tells whether the process `runner.json` names is the one that wrote it
 * and still runs.
 *
 * @param holder The recorded holder.
 * @returns `false` when it is gone (or its pid now belongs to another process).
 */
async function isHolderAlive(holder: LeaseHolder): Promise<boolean> {
  const ticks = await processStartTicks(holder.pid);
  if (holder.start_ticks === undefined || holder.start_ticks === null) return ticks !== undefined;
  return ticks === holder.start_ticks;
}

async function acquireRunLease(
  run: RunLayout,
  runId: string,
  options: AcquireLeaseOptions,
): Promise<HeldLease> {
  await refuseSymlink(run.lease);
  const file = await openLockFile(run.lease, { create: true });
  if (!(await file.tryLock(true))) {
    file.close();
    const holder = await readLeaseHolder(run);
    const hint = `; wait for it to stop, or stop it with \`lily run cancel ${runId}\``;
    if (holder === undefined || !(await isHolderAlive(holder))) {
      throw new ConflictError(
        `Run ${runId} is being taken over by another runner right now${hint}`,
      );
    }
    throw new ConflictError(
      `Run ${runId} is already being run by process ${holder.pid} (since ${holder.since})${hint}`,
    );
  }
  crashPoint("lease_acquired");
  const holder: LeaseHolder = {
    pid: Deno.pid,
    since: (options.clock ?? systemClock).now().toISOString(),
    start_ticks: (await processStartTicks(Deno.pid)) ?? null,
  };
  try {
    await writeFileAtomic(run.leaseInfo, new TextEncoder().encode(JSON.stringify(holder) + "\n"));
  } catch (err) {
    file.close();
    throw err;
  }
  return { release: () => file.close() };
}

/** The runner leases of every run in one workspace store: `runner.lock` and `runner.json`. */
export class FsRunLease implements RunLease {
  #layout: StoreLayout;

  /**
   * Creates the leases over a store's directories.
   *
   * @param layout The workspace store's paths.
   */
  constructor(layout: StoreLayout) {
    this.#layout = layout;
  }

  /**
   * Takes a run's lease without waiting.
   *
   * @param runId The run.
   * @param options The clock that stamps `since`.
   * @returns The held lease.
   * @throws {ConflictError} When another process holds it: naming that
   * process when `runner.json` names a live one, else saying the run is being
   * taken over.
   * @throws {UsageError} When `runId` is not a UUID.
   */
  async acquire(runId: string, options: AcquireLeaseOptions = {}): Promise<HeldLease> {
    return await acquireRunLease(runLayout(this.#layout, runId), runId, options);
  }

  /**
   * Tells whether a live process holds a run's lease.
   *
   * @param runId The run.
   * @returns `true` while a runner is alive.
   * @throws {IntegrityError} When `runner.lock` is a directory or under a file.
   * @throws {StorageError} When it cannot be opened otherwise (the message names it).
   */
  async isLive(runId: string): Promise<boolean> {
    return await isRunLive(runLayout(this.#layout, runId));
  }

  /**
   * Tells whether a run's lease was ever taken: whether `runner.lock`
   * exists (as anything).
   *
   * @param runId The run.
   * @returns `true` when `runner.lock` exists.
   * @throws {UsageError} When `runId` is not a UUID.
   */
  async taken(runId: string): Promise<boolean> {
    return await Deno.lstat(runLayout(this.#layout, runId).lease).then(() => true, () => false);
  }
}
