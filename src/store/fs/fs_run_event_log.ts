/**
 * The filesystem implementation of the {@linkcode RunEventLog} port: each
 * run's log is a {@linkcode JsonlLog} in its run dir, `events.jsonl` for the
 * run's events and `access.jsonl` for its access journal.
 *
 * @module
 */

import { runLayout, type StoreLayout } from "../layout.ts";
import type {
  AppendLog,
  LogCodec,
  LogContents,
  LogCursor,
  LogTail,
  OpenLogOptions,
  RunEventLog,
} from "../ports.ts";
import { JsonlLog, readJsonlLog, readJsonlLogFrom } from "./jsonl_log.ts";

/** Which of a run's logs: its events or its access journal. */
export type RunLogFile = "events" | "access";

/** Every run's `events.jsonl` (or `access.jsonl`) in one workspace store. */
export class FsRunEventLog implements RunEventLog {
  #layout: StoreLayout;
  #file: RunLogFile;

  /**
   * Creates the log over a store's directories.
   *
   * @param layout The workspace store's paths.
   * @param file Which of each run's logs: `events.jsonl` or `access.jsonl`.
   */
  constructor(layout: StoreLayout, file: RunLogFile = "events") {
    this.#layout = layout;
    this.#file = file;
  }

  #path(runId: string): string {
    return runLayout(this.#layout, runId)[this.#file];
  }

  /**
   * Reads a run's log, tolerating a torn last line.
   *
   * @param runId The run.
   * @param codec Checks each entry.
   * @returns The entries; none when the file does not exist.
   * @throws {UsageError} When `runId` is not a UUID.
   * @throws {IntegrityError} When a line other than the last is damaged, or the file is a symlink.
   */
  async read<T>(runId: string, codec: LogCodec<T>): Promise<LogContents<T>> {
    return await readJsonlLog(this.#path(runId), codec);
  }

  /**
   * Reads the complete lines of a run's log after a cursor (its
   * position is a byte offset), leaving a line not yet ended for a later read.
   *
   * @param runId The run.
   * @param codec Checks each entry.
   * @param cursor Where the last read got to.
   * @returns The new entries and the cursor after them.
   * @throws {UsageError} When `runId` is not a UUID.
   * @throws {IntegrityError} When a complete line is damaged, the file is
   * shorter than the cursor, or it is a symlink.
   */
  async readFrom<T>(runId: string, codec: LogCodec<T>, cursor: LogCursor): Promise<LogTail<T>> {
    return await readJsonlLogFrom(this.#path(runId), codec, cursor);
  }

  /**
   * Opens a run's log for appending, cutting a torn tail off first.
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
    return await JsonlLog.open(this.#path(runId), codec, options);
  }

  /**
   * Where a run's log is, for people: its file's path.
   *
   * @param runId The run.
   * @returns The path, for messages.
   * @throws {UsageError} When `runId` is not a UUID.
   */
  location(runId: string): string {
    return this.#path(runId);
  }
}
