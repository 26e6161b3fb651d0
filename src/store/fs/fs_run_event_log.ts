/**
 * The filesystem implementation of the {@linkcode RunEventLog} port: each
 * run's log is `runs/<run_id>/events.jsonl`, a {@linkcode JsonlLog}.
 *
 * @module
 */

import { runLayout, type StoreLayout } from "../layout.ts";
import type { AppendLog, LogCodec, LogContents, OpenLogOptions, RunEventLog } from "../ports.ts";
import { JsonlLog, readJsonlLog } from "./jsonl_log.ts";

/** Every run's `events.jsonl` in one workspace store. */
export class FsRunEventLog implements RunEventLog {
  #layout: StoreLayout;

  /**
   * Creates the log over a store's directories.
   *
   * @param layout The workspace store's paths.
   */
  constructor(layout: StoreLayout) {
    this.#layout = layout;
  }

  /**
   * Reads a run's `events.jsonl`, tolerating a torn last line.
   *
   * @param runId The run.
   * @param codec Checks each entry.
   * @returns The entries; none when the file does not exist.
   * @throws {UsageError} When `runId` is not a UUID.
   * @throws {IntegrityError} When a line other than the last is damaged, or the file is a symlink.
   */
  async read<T>(runId: string, codec: LogCodec<T>): Promise<LogContents<T>> {
    return await readJsonlLog(runLayout(this.#layout, runId).events, codec);
  }

  /**
   * Opens a run's `events.jsonl` for appending, cutting a torn tail off first.
   *
   * @param runId The run.
   * @param codec Checks each entry already there.
   * @param options Whether appends are fsynced.
   * @returns The open log and the entries already in it.
   * @throws {UsageError} When `runId` is not a UUID.
   */
  async open<T>(
    runId: string,
    codec: LogCodec<T>,
    options: OpenLogOptions = {},
  ): Promise<{ log: AppendLog<T>; entries: T[] }> {
    return await JsonlLog.open(runLayout(this.#layout, runId).events, codec, options);
  }

  /**
   * Where a run's log is, for people: its `events.jsonl` path.
   *
   * @param runId The run.
   * @returns The path, for messages.
   * @throws {UsageError} When `runId` is not a UUID.
   */
  location(runId: string): string {
    return runLayout(this.#layout, runId).events;
  }
}
