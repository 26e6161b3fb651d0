/**
 * An append-only JSON-lines file: one JSON value per line, appended and
 * fsynced before the writer acts on it. Appends issued together are written
 * and fsynced together (group commit). A torn last line — the trace of a
 * crash mid-append — is ignored by readers and cut off by the next writer.
 * The run event log (`events.jsonl`) is one; the entries' schema is the
 * caller's, given as a {@linkcode LogCodec}.
 *
 * @module
 */

import { IntegrityError } from "../../core/errors.ts";
import { storageError } from "../../core/storage_error.ts";
import { syncFile, writeAll } from "../durable_file.ts";
import type {
  AppendLog,
  LogCodec,
  LogContents,
  LogCursor,
  LogTail,
  OpenLogOptions,
} from "../ports.ts";
import { refuseSymlink } from "./refuse_symlink.ts";

/** What {@linkcode readJsonlLog} found, with where the complete lines end. */
interface JsonlContents<T> extends LogContents<T> {
  /** Bytes of complete lines; anything after is a torn tail. */
  readonly validBytes: number;
}

/**
 * Reads a JSON-lines log, tolerating a torn last line.
 *
 * @param path The file.
 * @param codec Checks each line.
 * @returns The entries; none when the file does not exist.
 * @throws {IntegrityError} When a line other than the last is not an entry,
 * the file holds only NUL bytes (damage, not a torn append), or it is a
 * symlink.
 * @throws {StorageError} When the file cannot be read.
 */
export async function readJsonlLog<T>(path: string, codec: LogCodec<T>): Promise<LogContents<T>> {
  const { entries, tornTail } = await readContents(path, codec);
  return { entries, tornTail };
}

async function readContents<T>(path: string, codec: LogCodec<T>): Promise<JsonlContents<T>> {
  await refuseSymlink(path);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { entries: [], validBytes: 0, tornTail: false };
    throw storageError(err, path, "read");
  }
  const validBytes = bytes.lastIndexOf(10) + 1;
  if (validBytes === 0 && bytes.length > 0 && bytes.every((b) => b === 0)) {
    throw new IntegrityError(
      `${codec.label} ${path} holds only NUL bytes (what a power loss leaves): its entries ` +
        "are lost; restore the file from a backup",
    );
  }
  const entries = parseLines(bytes.subarray(0, validBytes), { path, codec, firstLine: 1 });
  return { entries, validBytes, tornTail: validBytes < bytes.length };
}

/** Parses complete lines, numbering them from `firstLine`. */
function parseLines<T>(
  bytes: Uint8Array,
  where: { path: string; codec: LogCodec<T>; firstLine: number },
): T[] {
  const { path, codec, firstLine } = where;
  const lines = new TextDecoder().decode(bytes).split("\n");
  lines.pop();
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new IntegrityError(
        `${codec.label} ${path} is corrupt at line ${firstLine + i}: not JSON`,
        { cause: err },
      );
    }
    const checked = codec.parse(value, firstLine + i);
    if ("problem" in checked) {
      throw new IntegrityError(
        `${codec.label} ${path} is corrupt at line ${firstLine + i}: ${checked.problem}`,
      );
    }
    return checked.entry;
  });
}

/**
 * Reads the complete lines of a JSON-lines log after a cursor, for a reader
 * that follows a live log: a line not yet ended by its newline (an append
 * under way, or a torn tail) is left for a later read.
 *
 * @param path The file.
 * @param codec Checks each line.
 * @param cursor Where the last read got to (a byte offset after a newline, and the lines before it).
 * @returns The new entries and the cursor after them; none when the file does not exist.
 * @throws {IntegrityError} When a complete line is not an entry, the file is
 * shorter than the cursor (it was replaced), or it is a symlink.
 * @throws {StorageError} When the file cannot be read.
 */
export async function readJsonlLogFrom<T>(
  path: string,
  codec: LogCodec<T>,
  cursor: LogCursor,
): Promise<LogTail<T>> {
  await refuseSymlink(path);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { entries: [], cursor };
    throw storageError(err, path, "read");
  }
  let bytes: Uint8Array;
  try {
    const size = (await file.stat()).size;
    if (size < cursor.position) {
      throw new IntegrityError(
        `${codec.label} ${path} is shorter (${size} bytes) than what was read of it ` +
          `(${cursor.position} bytes): it was replaced; read it again from its start`,
      );
    }
    bytes = new Uint8Array(size - cursor.position);
    await file.seek(cursor.position, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < bytes.length) {
      const n = await file.read(bytes.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    bytes = bytes.subarray(0, filled);
  } catch (err) {
    if (err instanceof IntegrityError) throw err;
    throw storageError(err, path, "read");
  } finally {
    file.close();
  }
  const complete = bytes.lastIndexOf(10) + 1;
  const entries = parseLines(bytes.subarray(0, complete), {
    path,
    codec,
    firstLine: cursor.entries + 1,
  });
  return {
    entries,
    cursor: { entries: cursor.entries + entries.length, position: cursor.position + complete },
  };
}

interface Pending {
  bytes: Uint8Array;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * A JSON-lines log open for appending by its one writer. When a write fails
 * (a full disk), the log cuts the file back to its last durable line and
 * fails that append and every one queued behind it, so it never holds a torn
 * line in its middle; later appends may succeed.
 */
export class JsonlLog<T> implements AppendLog<T> {
  #file: Deno.FsFile;
  #path: string;
  #length: number;
  #durableLength: number;
  #durableBytes: number;
  #fsync: boolean;
  #queue: Pending[] = [];
  #flushing = false;
  #broken: unknown = null;

  private constructor(
    file: Deno.FsFile,
    path: string,
    end: { length: number; bytes: number; fsync: boolean },
  ) {
    this.#file = file;
    this.#path = path;
    this.#fsync = end.fsync;
    this.#length = end.length;
    this.#durableLength = end.length;
    this.#durableBytes = end.bytes;
  }

  /**
   * Opens a log for appending, cutting off a torn tail first.
   *
   * @param path The file (created when missing).
   * @param codec Checks each line already there.
   * @param options Whether appends are fsynced (by default they are).
   * @returns The log and the entries already in it.
   * @throws {IntegrityError} When a complete line is not an entry.
   * @throws {StorageError} When the file cannot be opened or cut (names it).
   */
  static async open<T>(
    path: string,
    codec: LogCodec<T>,
    options: OpenLogOptions = {},
  ): Promise<{ log: JsonlLog<T>; entries: T[] }> {
    const contents = await readContents(path, codec);
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
    const end = {
      length: contents.entries.length,
      bytes: contents.validBytes,
      fsync: options.fsync ?? true,
    };
    return { log: new JsonlLog<T>(file, path, end), entries: contents.entries };
  }

  /** How many entries the log holds, queued ones included. */
  get length(): number {
    return this.#length;
  }

  /**
   * Queues an entry at once; entries queued in the same task (synchronously,
   * one after the other), or while a write is under way, share one write and
   * fsync.
   *
   * @param entry The entry, already checked by the caller.
   * @returns A promise that resolves once the entry is written, and fsynced
   * unless the log was opened with `fsync: false`.
   * @throws {StorageError} Through the promise, when the file cannot be
   * written, e.g. on a full disk (the message names it).
   */
  append(entry: T): Promise<void> {
    if (this.#broken !== null) return Promise.reject(this.#broken);
    this.#length++;
    const bytes = new TextEncoder().encode(JSON.stringify(entry) + "\n");
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ bytes, resolve, reject });
      if (!this.#flushing) {
        // Started after the current task, so every entry queued in it shares the batch.
        this.#flushing = true;
        queueMicrotask(() => this.#flush());
      }
    });
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
          this.#durableLength += batch.length;
          for (const p of batch) p.resolve();
        } catch (err) {
          const error = storageError(err, this.#path, "write");
          const failed = [...batch, ...this.#queue.splice(0)];
          this.#length = this.#durableLength;
          for (const p of failed) p.reject(error);
          await this.#rollBack(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Cuts a partly written batch off, so later appends follow the last durable line. */
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
