/**
 * The runner lease: one live runner per run. It is an OS lock on
 * `runner.lock`, held for the runner's whole life, so a killed runner's lease
 * is released by the OS and a resume can take it at once.
 *
 * @module
 */

import { ConflictError, IntegrityError } from "../core/errors.ts";
import { storageError, writeFileAtomic } from "../store/durable_file.ts";
import type { RunLayout } from "../store/layout.ts";
import { refuseSymlink } from "./run_journal.ts";

/** Who holds a lease, as written to `runner.json`. */
export interface LeaseHolder {
  /** The runner's process id. */
  readonly pid: number;
  /** When it took the lease. */
  readonly since: string;
}

/** A held lease; release it when the runner stops. */
export interface RunLease {
  /** Releases the lease. */
  release(): void;
}

/**
 * Reads who holds (or last held) the lease.
 *
 * @param run The run's paths.
 * @returns The holder, or `undefined` when nobody ever took it.
 */
export async function readLeaseHolder(run: RunLayout): Promise<LeaseHolder | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(run.leaseInfo));
  } catch {
    return undefined;
  }
}

/**
 * Tells whether a live process holds the run's lease.
 *
 * @param run The run's paths.
 * @returns `true` while a runner is alive.
 * @throws {IntegrityError} When `runner.lock` is a directory or under a file.
 * @throws {StorageError} When it cannot be opened otherwise (the message names it).
 */
export async function isRunLive(run: RunLayout): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(run.lease, { read: true, write: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    const error = storageError(err, run.lease, "open");
    if (err instanceof Deno.errors.IsADirectory || err instanceof Deno.errors.NotADirectory) {
      throw new IntegrityError(
        `${error.message}; the runner lease holds no data, remove it (lily verify lists every ` +
          "damaged file)",
        { cause: err },
      );
    }
    throw error;
  }
  try {
    const free = await file.tryLock(true);
    return !free;
  } finally {
    file.close();
  }
}

/**
 * Takes the run's lease without waiting.
 *
 * @param run The run's paths.
 * @param runId The run id, for the message.
 * @param options The clock.
 * @returns The lease.
 * @throws {ConflictError} When a live runner holds it.
 */
export async function acquireRunLease(
  run: RunLayout,
  runId: string,
  options: { now?: () => Date } = {},
): Promise<RunLease> {
  await refuseSymlink(run.lease);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(run.lease, { read: true, write: true, create: true });
  } catch (err) {
    throw storageError(err, run.lease, "open");
  }
  if (!(await file.tryLock(true))) {
    file.close();
    const holder = await readLeaseHolder(run);
    throw new ConflictError(
      `Run ${runId} is already being run by process ${holder?.pid ?? "unknown"}` +
        (holder ? ` (since ${holder.since})` : "") +
        `; wait for it to stop, or stop it with \`lily run cancel ${runId}\``,
    );
  }
  const holder: LeaseHolder = {
    pid: Deno.pid,
    since: (options.now ?? (() => new Date()))().toISOString(),
  };
  await writeFileAtomic(run.leaseInfo, new TextEncoder().encode(JSON.stringify(holder) + "\n"));
  return { release: () => file.close() };
}
