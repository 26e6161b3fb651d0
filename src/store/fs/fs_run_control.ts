/**
 * The filesystem implementation of the {@linkcode RunControl} port: a cancel
 * request is the file `runs/<run_id>/cancel_requested` (holding the pid of
 * the process that asked), which the live runner polls.
 *
 * @module
 */

import { storageError } from "../../core/storage_error.ts";
import { writeFileAtomic } from "../durable_file.ts";
import { runLayout, type StoreLayout } from "../layout.ts";
import type { RunControl } from "../ports.ts";

/** The cancel requests of every run in one workspace store. */
export class FsRunControl implements RunControl {
  #layout: StoreLayout;

  /**
   * Creates the control over a store's directories.
   *
   * @param layout The workspace store's paths.
   */
  constructor(layout: StoreLayout) {
    this.#layout = layout;
  }

  /**
   * Asks the run's runner to cancel: writes `cancel_requested` atomically.
   *
   * @param runId The run.
   * @throws {UsageError} When `runId` is not a UUID.
   * @throws {StorageError} When the request cannot be written (the message names the file).
   */
  async requestCancel(runId: string): Promise<void> {
    const path = runLayout(this.#layout, runId).cancelRequest;
    await writeFileAtomic(path, new TextEncoder().encode(`${Deno.pid}\n`));
  }

  /**
   * Tells whether `cancel_requested` exists. A runner asks this at every
   * phase of every attempt, so it is a sync `stat` (microseconds; an async
   * one queues on Deno's blocking thread pool and costs ten times more).
   *
   * @param runId The run.
   * @returns `true` when a request is pending.
   * @throws {UsageError} When `runId` is not a UUID.
   */
  cancelRequested(runId: string): Promise<boolean> {
    let path: string;
    try {
      path = runLayout(this.#layout, runId).cancelRequest;
    } catch (err) {
      return Promise.reject(err);
    }
    try {
      Deno.statSync(path);
      return Promise.resolve(true);
    } catch {
      return Promise.resolve(false);
    }
  }

  /**
   * Removes `cancel_requested`; a missing one is no error.
   *
   * @param runId The run.
   * @throws {UsageError} When `runId` is not a UUID.
   * @throws {StorageError} When it exists and cannot be removed (the message names it).
   */
  async clearCancel(runId: string): Promise<void> {
    const path = runLayout(this.#layout, runId).cancelRequest;
    try {
      await Deno.remove(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, path, "remove");
    }
  }
}
