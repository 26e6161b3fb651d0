/**
 * The run journal: `events.jsonl`, one JSON event per line, appended and
 * (with the default {@linkcode Durability}, `fsync`) fsynced before the
 * runner acts on it. Appends issued together are written and fsynced
 * together (group commit). A torn last line — the trace of a
 * crash mid-append — is ignored by readers and cut off by the next writer.
 *
 * @module
 */

import { type Clock, systemClock } from "../core/clock.ts";
import { IntegrityError } from "../core/errors.ts";
import { storageError } from "../core/storage_error.ts";
import { syncFile, writeAll } from "../store/durable_file.ts";
import type { Durability } from "./durability.ts";
import { assertWritableRunEvent, describeEventIssue, parseRunEvent } from "./run_event_schema.ts";
import type { RunEvent, RunEventBody } from "./run_events.ts";

/** What {@linkcode readJournal} found. */
export interface JournalContents {
  /** The complete events, in order. */
  readonly events: RunEvent[];
  /** Bytes of complete lines; anything after is a torn tail. */
  readonly validBytes: number;
  /** Whether a torn last line was found (and ignored). */
  readonly tornTail: boolean;
}

/**
 * Reads a journal, tolerating a torn last line.
 *
 * @param path The `events.jsonl` file.
 * @returns The events; empty when the file does not exist.
 * @throws {IntegrityError} When a line other than the last is not an event,
 * the journal holds only NUL bytes (damage, not a torn append), or it is a
 * symlink.
 * @throws {StorageError} When the file cannot be read.
 */
export async function readJournal(path: string): Promise<JournalContents> {
  await refuseSymlink(path);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { events: [], validBytes: 0, tornTail: false };
    throw storageError(err, path, "read");
  }
  const lastNewline = bytes.lastIndexOf(10);
  const validBytes = lastNewline + 1;
  if (validBytes === 0 && bytes.length > 0 && bytes.every((b) => b === 0)) {
    throw new IntegrityError(
      `Run journal ${path} holds only NUL bytes (what a power loss leaves): the run's events ` +
        "are lost; restore the file from a backup",
    );
  }
  const text = new TextDecoder().decode(bytes.subarray(0, validBytes));
  const events: RunEvent[] = [];
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new IntegrityError(`Run journal ${path} is corrupt at line ${i + 1}: not JSON`, {
        cause: err,
      });
    }
    const checked = parseRunEvent(value);
    if (!checked.ok) {
      throw new IntegrityError(
        `Run journal ${path} is corrupt at line ${i + 1}: ${describeEventIssue(checked.issues[0])}`,
      );
    }
    if (checked.value.seq !== i + 1) {
      throw new IntegrityError(
        `Run journal ${path} is corrupt at line ${
          i + 1
        }: sequence number ${checked.value.seq}, expected ${i + 1}`,
      );
    }
    events.push(checked.value);
  });
  return { events, validBytes, tornTail: validBytes < bytes.length };
}

/**
 * Refuses to open a run file that something replaced with a symlink or a
 * non-file, so the kernel never writes through a link planted in a run dir.
 *
 * @param path The file.
 * @throws {IntegrityError} When it exists and is not a regular file.
 */
export async function refuseSymlink(path: string): Promise<void> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) {
      throw new IntegrityError(
        `${path} is ${info.isSymlink ? "a symlink" : "not a regular file"}; the run's files ` +
          "were tampered with, and Lily does not write through it",
      );
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, path, "read");
  }
}

interface Pending {
  bytes: Uint8Array;
  seq: number;
  resolve: () => void;
  reject: (err: unknown) => void;
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
 * full disk), the journal cuts the file back to its last durable event and
 * fails that append and every one queued behind it, so it never holds a torn
 * line in its middle or a gap in its sequence; later appends may succeed.
 */
export class RunJournal {
  #file: Deno.FsFile;
  #path: string;
  #seq: number;
  #durableSeq: number;
  #durableBytes: number;
  #clock: Clock;
  #fsync: boolean;
  #queue: Pending[] = [];
  #flushing = false;
  #broken: unknown = null;

  private constructor(
    file: Deno.FsFile,
    path: string,
    end: { seq: number; bytes: number },
    options: { clock: Clock; durability: Durability },
  ) {
    this.#file = file;
    this.#path = path;
    this.#seq = end.seq;
    this.#durableSeq = end.seq;
    this.#durableBytes = end.bytes;
    this.#clock = options.clock;
    this.#fsync = options.durability === "fsync";
  }

  /**
   * Opens a journal for appending, cutting off a torn tail first. Only the
   * holder of the run's lease may do this.
   *
   * @param path The `events.jsonl` file (created when missing).
   * @param options The clock and the durability.
   * @returns The journal and the events already in it.
   */
  static async open(
    path: string,
    options: RunJournalOptions = {},
  ): Promise<{ journal: RunJournal; events: RunEvent[] }> {
    const contents = await readJournal(path);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true, write: true, create: true });
    } catch (err) {
      throw storageError(err, path, "open");
    }
    try {
      if (contents.tornTail) {
        await file.truncate(contents.validBytes);
        await file.sync();
      }
      await file.seek(contents.validBytes, Deno.SeekMode.Start);
    } catch (err) {
      file.close();
      throw storageError(err, path, "write");
    }
    const last = contents.events.at(-1)?.seq ?? 0;
    return {
      journal: new RunJournal(
        file,
        path,
        { seq: last, bytes: contents.validBytes },
        { clock: options.clock ?? systemClock, durability: options.durability ?? "fsync" },
      ),
      events: contents.events,
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
    const event = { ...body, seq: this.#seq + 1, at: this.#clock.now().toISOString() } as RunEvent;
    assertWritableRunEvent(event);
    if (this.#broken !== null) return { event, durable: Promise.reject(this.#broken) };
    this.#seq = event.seq;
    const bytes = new TextEncoder().encode(JSON.stringify(event) + "\n");
    const durable = new Promise<void>((resolve, reject) => {
      this.#queue.push({ bytes, seq: event.seq, resolve, reject });
      if (!this.#flushing) {
        // Started after the current task, so every event queued in it shares the batch.
        this.#flushing = true;
        queueMicrotask(() => this.#flush());
      }
    });
    return { event, durable };
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        try {
          const total = batch.reduce((n, p) => n + p.bytes.length, 0);
          const joined = new Uint8Array(total);
          let offset = 0;
          for (const p of batch) {
            joined.set(p.bytes, offset);
            offset += p.bytes.length;
          }
          await writeAll(this.#file, joined, { path: this.#path });
          if (this.#fsync) await syncFile(this.#file, this.#path);
          this.#durableBytes += total;
          this.#durableSeq = batch.at(-1)!.seq;
          for (const p of batch) p.resolve();
        } catch (err) {
          const error = storageError(err, this.#path, "write");
          const failed = [...batch, ...this.#queue.splice(0)];
          this.#seq = this.#durableSeq;
          for (const p of failed) p.reject(error);
          await this.#rollBack(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Cuts a partly written batch off, so later appends follow the last durable event. */
  async #rollBack(error: unknown): Promise<void> {
    try {
      await this.#file.truncate(this.#durableBytes);
      await this.#file.seek(this.#durableBytes, Deno.SeekMode.Start);
    } catch {
      this.#broken = error;
    }
  }

  /** Closes the file; pending appends must have resolved. */
  close(): void {
    this.#file.close();
  }
}
