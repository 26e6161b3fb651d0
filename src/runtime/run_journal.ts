/**
/**
 * The run journal: each run's event log, one event per entry, appended and
 * (with the default {@linkcode Durability}, `fsync`) made durable before the
 * runner acts on it (group commit and torn-tail semantics come from the
 * store's {@linkcode RunEventLog}). This module holds the run-event side:
 * each event is checked against the schema before it is appended and when it
 * is read back, and carries its sequence number.
 *
 * @module
 */

import { type Clock, systemClock } from "../core/clock.ts";
import type { AppendLog, LogCodec, LogCursor, LogTail, RunEventLog } from "../store/ports.ts";
import type { Durability } from "./durability.ts";
import { assertWritableRunEvent, describeEventIssue, parseRunEvent } from "./run_event_schema.ts";
import type { RunEvent, RunEventBody } from "./run_events.ts";

/** Reads run events back: each must match the schema and carry its line number as `seq`. */
export const RUN_EVENT_CODEC: LogCodec<RunEvent> = {
  label: "Run journal",
  parse(value, line) {
    const checked = parseRunEvent(value);
    if (!checked.ok) return { problem: checked.issues.map(describeEventIssue).join("; ") };
    if (checked.value.seq !== line) {
      return { problem: `sequence number ${checked.value.seq}, expected ${line}` };
    }
    return { entry: checked.value };
  },
};

/** What {@linkcode readJournal} found. */
export interface JournalContents {
  /** The complete events, in order. */
  readonly events: RunEvent[];
  /** Whether a torn last line was found (and ignored). */
  readonly tornTail: boolean;
}

/**
 * Reads a run's journal, tolerating a torn last line.
 *
 * @param log The store's run event log.
 * @param runId The run.
 * @returns The events; empty when the run has no journal.
 * @throws {IntegrityError} When an entry other than the last is not an
 * event, the journal holds only NUL bytes (damage, not a torn append), or it
 * is a symlink.
 * @throws {StorageError} When the journal cannot be read.
 */
export async function readJournal(log: RunEventLog, runId: string): Promise<JournalContents> {
  const { entries, tornTail } = await log.read(runId, RUN_EVENT_CODEC);
  return { events: entries, tornTail };
}

/**
 * Reads the events journaled after a cursor, for a follower in another
 * process (`lily run show --follow`): an event still being written is left
 * for the next read.
 *
 * @param log The store's run event log.
 * @param runId The run.
 * @param cursor Where the last read got to (`LOG_START` for all).
 * @returns The new events and the cursor after them.
 * @throws {IntegrityError} When a complete event is damaged.
 */
export async function readJournalFrom(
  log: RunEventLog,
  runId: string,
  cursor: LogCursor,
): Promise<LogTail<RunEvent>> {
  return await log.readFrom(runId, RUN_EVENT_CODEC, cursor);
}

/** Options of {@linkcode RunJournal.open}. */
export interface RunJournalOptions {
  /**
   * The clock that stamps events (`at`).
   * @default {systemClock}
   */
  readonly clock?: Clock;
  /**
   * Whether an append resolves once written and fsynced, or once written.
   * @default {"fsync"}
   */
  readonly durability?: Durability;
}

/**
 * An open journal that one runner appends to. Every event is checked
 * against the journal's schema before it is queued. When a write fails (a
 * full disk), the log cuts itself back to its last durable event and fails
 * that append and every one queued behind it, so it never holds a torn line
 * in its middle or a gap in its sequence; later appends may succeed.
 */
export class RunJournal {
  #log: AppendLog<RunEvent>;
  #clock: Clock;

  private constructor(log: AppendLog<RunEvent>, clock: Clock) {
    this.#log = log;
    this.#clock = clock;
  }

  /**
   * Opens a run's journal for appending, cutting off a torn tail first.
   * Only the holder of the run's lease may do this.
   *
   * @param log The store's run event log.
   * @param runId The run.
   * @param options The clock and the durability.
   * @returns The journal and the events already in it.
   */
  static async open(
    log: RunEventLog,
    runId: string,
    options: RunJournalOptions = {},
  ): Promise<{ journal: RunJournal; events: RunEvent[] }> {
    const opened = await log.open(runId, RUN_EVENT_CODEC, {
      fsync: (options.durability ?? "fsync") === "fsync",
    });
    return {
      journal: new RunJournal(opened.log, options.clock ?? systemClock),
      events: opened.entries,
    };
  }

  /**
   * Appends an event; resolves once it is on disk (written, and fsynced
   * unless the journal's durability is `process`).
   *
   * @param body The event without `seq` and `at`.
   * @returns The stored event.
   * @throws {LilyError} When the event does not match the journal's schema (a bug in Lily).
   * @throws {StorageError} When the journal cannot be written, e.g. on a full disk (the message names it).
   */
  async append(body: RunEventBody): Promise<RunEvent> {
    const { event, durable } = this.appendNow(body);
    await durable;
    return event;
  }

  /**
   * Queues an event and gives it back at once, with a promise that resolves
   * once it is on disk. Events queued in the same task (synchronously, one
   * after the other), or while a write is under way, share one write and fsync.
   *
   * @param body The event without `seq` and `at`.
   * @returns The event (with `seq` and `at`) and its durability.
   * @throws {LilyError} When the event does not match the journal's schema
   * (a bug in Lily); nothing is queued then.
   */
  appendNow(body: RunEventBody): { event: RunEvent; durable: Promise<void> } {
    const seq = this.#log.length + 1;
    const event = { ...body, seq, at: this.#clock.now().toISOString() } as RunEvent;
    assertWritableRunEvent(event);
    return { event, durable: this.#log.append(event) };
  }

  /** Closes the journal; pending appends must have resolved. */
  close(): void {
    this.#log.close();
  }
}
