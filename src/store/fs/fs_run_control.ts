/**
 * The filesystem implementation of the {@linkcode RunControl} port: a cancel
 * request is the file `runs/<run_id>/cancel_requested` (holding the pid of
 * the process that asked and the request's id, as one JSON line), which the
 * live runner polls.
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
   * @returns The request's id (a random UUID).
   * @throws {UsageError} When `runId` is not a UUID.
   * @throws {StorageError} When the request cannot be written (the message names the file).
   */
  async requestCancel(runId: string): Promise<string> {
    const path = runLayout(this.#layout, runId).cancelRequest;
    const id = crypto.randomUUID();
    const body = JSON.stringify({ pid: Deno.pid, request_id: id }) + "\n";
    await writeFileAtomic(path, new TextEncoder().encode(body));
    return id;
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
   * Reads the pending request's id; a request in an earlier format (a bare
   * pid) is identified by its whole text.
   *
   * @param runId The run.
   * @returns The id, or `null` when none is pending.
   * @throws {UsageError} When `runId` is not a UUID.
   */
  async pendingCancel(runId: string): Promise<string | null> {
    const path = runLayout(this.#layout, runId).cancelRequest;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch {
      return null;
    }
    try {
      const id = (JSON.parse(text) as { request_id?: unknown }).request_id;
      return typeof id === "string" ? id : text;
    } catch {
      return text;
    }
  }

  /**
   * Removes `cancel_requested` (only when it holds `requestId`, if given); a
   * missing one is no error.
   *
   * @param runId The run.
   * @param requestId When given, only this request is cleared.
   * @throws {UsageError} When `runId` is not a UUID.
   * @throws {StorageError} When it exists and cannot be removed (the message names it).
   */
  async clearCancel(runId: string, requestId?: string): Promise<void> {
    const path = runLayout(this.#layout, runId).cancelRequest;
    if (requestId !== undefined && await this.pendingCancel(runId) !== requestId) return;
    try {
      await Deno.remove(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, path, "remove");
    }
  }
}
