/**
 * The access journal: each run's record of what every attempt read, was
 * granted and allowed, staged and committed (`access_entry.ts`), on the
 * same log primitive as the run's events (the store's `access`
 * {@linkcode RunEventLog}: append-only, group commit, a torn last entry
 * skipped by readers and cut off by the next writer). It is kept apart
 * from the run journal (`run_journal.ts`) so that thousands of permission
 * checks never slow the fold of the run's state, which never reads it.
 *
 * Only the holder of the run's lease appends. Entries that must be on disk
 * before the runner goes on (the staged outputs, before they are
 * committed) are awaited; the rest are queued and made durable together,
 * at the latest before the attempt's end is journaled.
 *
 * @module
 */

import { type Clock, systemClock } from "../core/clock.ts";
import type { ArtifactRef } from "../store/artifact_ref.ts";
import type { AppendLog, LogCodec, RunEventLog } from "../store/ports.ts";
import type { AccessEntry, AccessEntryBody } from "./access_entry.ts";
import { parseAccessEntry } from "./access_entry.ts";
import type { Durability } from "./durability.ts";
import type { AccessReport } from "./executors/executor.ts";

/** Reads access journal entries back: each must match the entry schema. */
export const ACCESS_ENTRY_CODEC: LogCodec<AccessEntry> = {
  label: "Access journal",
  parse: (value) => parseAccessEntry(value),
};

/** What {@linkcode readAccessJournal} found. */
export interface AccessJournalContents {
  /** The complete entries, in the order they were journaled. */
  readonly entries: AccessEntry[];
  /** Whether a torn last line (the trace of a crash mid-append) was found and skipped. */
  readonly tornTail: boolean;
}

/**
 * Reads a run's access journal, tolerating a torn last line.
 *
 * @param log The store's access log (`store.access`).
 * @param runId The run.
 * @returns The entries; none when the run has no access journal.
 * @throws {IntegrityError} When an entry other than the last is damaged.
 * @throws {StorageError} When the journal cannot be read.
 */
export async function readAccessJournal(
  log: RunEventLog,
  runId: string,
): Promise<AccessJournalContents> {
  return await log.read(runId, ACCESS_ENTRY_CODEC);
}

/** Which attempt an entry is about. */
export interface AccessSubject {
  /** The step. */
  readonly step: string;
  /** The attempt number. */
  readonly attempt: number;
  /** The gate, for a gate's attempt. */
  readonly gate?: string;
}

/**
 * The entry an executor's report becomes: a grant as it is, a permission
 * decision with `decision` `allow` or `deny` (its time is the entry's `at`).
 *
 * @param report What the executor told.
 * @returns The entry's body.
 */
export function accessEntryOf(report: AccessReport): AccessEntryBody {
  if (report.type === "grant") return report;
  const { permission, value, kind, target, allowed, reason, pid } = report;
  const decision = allowed ? "allow" : "deny";
  return { type: "permission", permission, value, kind, target, decision, reason, pid };
}

/**
 * The `committed` entry of an attempt's committed outputs.
 *
 * @param refs The committed outputs' references, by output name.
 * @returns The entry's body: each output's artifact id and sha256.
 */
export function committedEntry(refs: Readonly<Record<string, ArtifactRef>>): AccessEntryBody {
  const outputs = Object.fromEntries(
    Object.entries(refs).map(([name, ref]) => [name, {
      artifact_id: ref.artifact_id,
      sha256: ref.sha256,
    }]),
  );
  return { type: "committed", outputs };
}

/** Options of {@linkcode AccessJournal.open}. */
export interface AccessJournalOptions {
  /**
   * The clock that stamps entries (`at`).
   * @default {systemClock}
   */
  readonly clock?: Clock;
  /**
   * Whether an append resolves once written and fsynced, or once written.
   * @default {"fsync"}
   */
  readonly durability?: Durability;
}

/** A run's access journal, open for appending by the runner that holds the run's lease. */
export class AccessJournal {
  #log: AppendLog<AccessEntry>;
  #clock: Clock;
  #pending = new Set<Promise<void>>();
  #failure: { error: unknown } | null = null;

  private constructor(log: AppendLog<AccessEntry>, clock: Clock) {
    this.#log = log;
    this.#clock = clock;
  }

  /**
   * Opens a run's access journal for appending, cutting off a torn tail first.
   *
   * @param log The store's access log (`store.access`).
   * @param runId The run.
   * @param options The clock and the durability.
   * @returns The open journal.
   * @throws {IntegrityError} When an entry other than the last is damaged.
   * @throws {StorageError} When the journal cannot be opened.
   */
  static async open(
    log: RunEventLog,
    runId: string,
    options: AccessJournalOptions = {},
  ): Promise<AccessJournal> {
    const opened = await log.open(runId, ACCESS_ENTRY_CODEC, {
      fsync: (options.durability ?? "fsync") === "fsync",
    });
    return new AccessJournal(opened.log, options.clock ?? systemClock);
  }

  /**
   * Appends an entry and resolves once it is on disk.
   *
   * @param subject The attempt it is about.
   * @param body What it says.
   * @throws {StorageError} When it cannot be written, e.g. on a full disk (names the file).
   */
  async append(subject: AccessSubject, body: AccessEntryBody): Promise<void> {
    this.record(subject, body);
    await this.settle();
  }

  /**
   * Queues an entry without waiting for it; a failure to write it is thrown
   * by the next {@linkcode AccessJournal.settle}.
   *
   * @param subject The attempt it is about.
   * @param body What it says.
   */
  record(subject: AccessSubject, body: AccessEntryBody): void {
    const entry = {
      v: 1,
      at: this.#clock.now().toISOString(),
      step: subject.step,
      attempt: subject.attempt,
      ...(subject.gate === undefined ? {} : { gate: subject.gate }),
      ...body,
    } as AccessEntry;
    const written = this.#log.append(entry).catch((error) => {
      this.#failure ??= { error };
    }).finally(() => this.#pending.delete(written));
    this.#pending.add(written);
  }

  /**
   * Waits until every queued entry is on disk.
   *
   * @throws {StorageError} The first failure to write an entry (names the file).
   */
  async settle(): Promise<void> {
    await Promise.all([...this.#pending]);
    if (this.#failure !== null) throw this.#failure.error;
  }

  /** Waits for queued entries (ignoring failures) and closes the journal. */
  async close(): Promise<void> {
    await Promise.all([...this.#pending]);
    this.#log.close();
  }
}
