/**
 * The store's ports: what the kernel needs from storage, as async interfaces
 * no file path leaks out of. One implementation ships today (the filesystem
 * under `<workspace>/.iris/` plus SQLite, in `fs/` and `sqlite/`); a
 * PostgreSQL + S3 backend implements the same interfaces and passes the same
 * conformance suite (`tests/store_conformance.ts`, `runStoreSpec`).
 *
 * | port | holds |
 * |---|---|
 * | {@linkcode BlobStore} | payload bytes by key, with their sha256 and size |
 * | {@linkcode ArtifactIndex} | one immutable row per artifact, queries and lineage |
 * | {@linkcode RunEventLog} | each run's append-only log, with torn-tail semantics |
 * | {@linkcode RunLease} | one live runner per run |
 * | {@linkcode RunControl} | requests to a run's live runner (cancel) |
 *
 * @module
 */

import type { Clock } from "../core/clock.ts";
import type { ArtifactRef } from "./artifact_ref.ts";
import type { RetentionIndex } from "./retention.ts";

/** What a {@linkcode BlobStore.put} stored. */
export interface BlobInfo {
  /** The key the bytes are stored under. */
  readonly key: string;
  /** Lower-case hex SHA-256 of the bytes. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/**
 * What a blob is made from: bytes, a stream, or a local file (copied, or
 * with `move` taken over, removing it from where it was).
 */
export type BlobSource =
  | Uint8Array
  | ReadableStream<Uint8Array>
  | { readonly file: string; readonly move?: boolean };

/** One payload of a content-addressed blob store, stored once however many keys name it. */
export interface ContentInfo {
  /** Lower-case hex SHA-256 of the bytes. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/** Options of {@linkcode BlobStore.put}. */
export interface BlobPutOptions {
  /**
   * Runs once the blob is durable and named by its key, before the put
   * resolves, while gc cannot remove its bytes (the artifact store commits
   * the index row here). A throw fails the put and removes the key.
   */
  readonly commit?: (info: BlobInfo) => Promise<void>;
}

/**
 * Payload bytes by key, content-addressed: identical bytes are stored once
 * (by sha256) however many keys name them. A key is a relative
 * `/`-separated name; each is written once and never changed (a second put
 * under the same key fails), so a key with its sha256 identifies content
 * for ever. Deleting a key leaves its bytes until gc removes payloads no
 * kept key references (inside {@linkcode BlobStore.exclusive}).
 */
export interface BlobStore {
  /**
   * Stores bytes under a new key; resolves once they are durable (fsynced,
   * with the directory entries that name them).
   *
   * @param key The new key.
   * @param data The bytes, whole, as a stream or from a local file.
   * @param options The commit to run while the bytes cannot be collected.
   * @returns The key, sha256 and size of what was stored.
   * @throws {Error} When the key is already taken (keys are fresh: a bug in the caller).
   * @throws {StorageError} When the bytes cannot be written, e.g. on a full disk (names the file).
   */
  put(key: string, data: BlobSource, options?: BlobPutOptions): Promise<BlobInfo>;
  /**
   * Opens a stored blob for reading.
   *
   * @param key The key.
   * @returns The bytes as a stream.
   * @throws {NotFoundError} When there is no such blob.
   */
  open(key: string): Promise<ReadableStream<Uint8Array>>;
  /**
   * Tells whether a blob is stored under a key.
   *
   * @param key The key.
   * @returns `true` when it is.
   */
  has(key: string): Promise<boolean>;
  /**
   * Deletes a blob; deleting a missing one does nothing.
   *
   * @param key The key.
   */
  delete(key: string): Promise<void>;
  /**
   * A local file holding the blob, for reading only: the one path that leaves
   * the store (a file artifact's `openPath`). A remote backend gives a cached
   * copy.
   *
   * @param key The key.
   * @returns The absolute path.
   */
  openPath(key: string): Promise<string>;
  /**
   * Lists the keys stored under a prefix, e.g. `<run_id>/artifacts`; a slot
   * an interrupted put left empty is listed as `<prefix>/<slot>/`, which
   * {@linkcode BlobStore.delete} takes too.
   *
   * @param prefix The key's first segments.
   * @returns The keys, sorted.
   */
  keys(prefix: string): Promise<string[]>;
  /**
   * Lists every stored payload once.
   *
   * @returns Hash and size of each, in hash order.
   */
  contents(): Promise<ContentInfo[]>;
  /**
   * Runs `fn` while no put is under way or can start: gc decides and
   * removes inside it.
   *
   * @param fn The work.
   * @returns What `fn` returns.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Removes a payload's bytes; only inside {@linkcode BlobStore.exclusive},
   * for bytes no kept key references.
   *
   * @param sha256 The payload's hash.
   */
  removeContent(sha256: string): Promise<void>;
  /**
   * Lists what interrupted puts left behind (temp files).
   *
   * @returns Names for {@linkcode BlobStore.removeLeftover}.
   */
  leftovers(): Promise<string[]>;
  /**
   * Removes one leftover; only inside {@linkcode BlobStore.exclusive}.
   *
   * @param name A name from {@linkcode BlobStore.leftovers}.
   */
  removeLeftover(name: string): Promise<void>;
}

/** Filters for artifact queries; every given field must match. */
export interface ArtifactQuery {
  /** Only this run's artifacts. */
  runId?: string;
  /** Only this artifact type. */
  type?: string;
  /** Only artifacts with this name. */
  name?: string;
  /** Only this producer id. */
  producer?: string;
  /** Only artifacts with this payload hash. */
  sha256?: string;
  /** Only artifacts created at or after this ISO timestamp. */
  since?: string;
  /** Only artifacts created before this ISO timestamp. */
  until?: string;
  /** At most this many rows. */
  limit?: number;
}

/** An artifact's neighbours in the provenance graph, across runs. */
export interface ArtifactLineage {
  /** The artifacts it was made from (its `input_artifact_refs`), in recorded order. */
  readonly inputs: ArtifactRef[];
  /** The artifacts made from it, oldest first. */
  readonly outputs: ArtifactRef[];
}

/**
 * One immutable row per artifact, for every run of a workspace, with the
 * pins and gc records kept beside the rows (see {@linkcode RetentionIndex}).
 */
export interface ArtifactIndex extends RetentionIndex {
  /**
   * Inserts one row, committed when the promise resolves.
   *
   * @param ref The artifact's reference; its payload must already be durable.
   * @throws {StorageError} When the row cannot be written, e.g. on a full disk.
   */
  insert(ref: ArtifactRef): Promise<void>;
  /**
   * Looks one artifact up by id.
   *
   * @param artifactId The artifact id.
   * @returns Its reference, or `undefined` when there is no such row.
   */
  get(artifactId: string): Promise<ArtifactRef | undefined>;
  /**
   * Finds artifacts matching every given filter, newest first.
   *
   * @param query The filters.
   * @returns The matching references.
   */
  query(query?: ArtifactQuery): Promise<ArtifactRef[]>;
  /**
   * Counts a run's artifacts by type.
   *
   * @param runId The run.
   * @returns Type → count.
   */
  countByType(runId: string): Promise<Record<string, number>>;
  /**
   * The artifacts an artifact was made from and those made from it.
   *
   * @param artifactId The artifact id.
   * @returns Its inputs and outputs; both empty for an unknown id.
   */
  lineage(artifactId: string): Promise<ArtifactLineage>;
  /**
   * Where the index is, for people (e.g. in the message of a lost index);
   * not a path to read or write.
   *
   * @returns The location.
   */
  location(): string;
  /** Closes the index. */
  close(): void;
}

/** How a log's entries are checked when read back. */
export interface LogCodec<T> {
  /** What the log is called in messages, e.g. `Run journal`. */
  readonly label: string;
  /**
   * Checks one parsed line.
   *
   * @param value The line's JSON value.
   * @param line Its 1-based line number.
   * @returns The entry, or a problem naming what is wrong.
   */
  parse(value: unknown, line: number): { entry: T } | { problem: string };
}

/** What reading a log found. */
export interface LogContents<T> {
  /** The complete entries, in order. */
  readonly entries: T[];
  /** Whether a torn last entry (the trace of a crash mid-append) was found and ignored. */
  readonly tornTail: boolean;
}

/**
 * Where a reader of a log got to, for {@linkcode RunEventLog.readFrom}:
 * start from {@linkcode LOG_START} and pass each answer's cursor to the next
 * read.
 */
export interface LogCursor {
  /** How many entries come before it. */
  readonly entries: number;
  /**
   * Where the backend goes on reading; opaque to callers (the filesystem
   * backend's byte offset after the last complete entry read).
   */
  readonly position: number;
}

/** The cursor at the start of every log. */
export const LOG_START: LogCursor = { entries: 0, position: 0 };

/** What {@linkcode RunEventLog.readFrom} found after a cursor. */
export interface LogTail<T> {
  /** The complete entries after the cursor, in order. */
  readonly entries: T[];
  /** Where the next read goes on from: after the last complete entry. */
  readonly cursor: LogCursor;
}

/**
 * A log open for appending by its one writer. Entries appended together
 * are written and made durable together (group commit). When a write fails
 * the log cuts itself back to its last durable entry and fails that append
 * and every one queued behind it; later appends may succeed.
 */
export interface AppendLog<T> {
  /** How many entries the log holds, queued ones included. */
  readonly length: number;
  /**
   * Queues an entry at once.
   *
   * @param entry The entry, already checked by the caller.
   * @returns A promise that resolves once the entry is written (and fsynced,
   * unless the log was opened with `fsync: false`).
   * @throws {StorageError} Through the promise, when it cannot be written (names the file).
   */
  append(entry: T): Promise<void>;
  /** Closes the log; pending appends must have resolved. */
  close(): void;
}

/** Options of {@linkcode RunEventLog.open}. */
export interface OpenLogOptions {
  /**
   * Whether an append resolves once written and fsynced (surviving a power
   * loss), or once written (surviving a crash of the process only).
   * @default {true}
   */
  readonly fsync?: boolean;
}

/**
 * Each run's append-only log, one JSON value per entry. A torn last entry is
 * ignored by readers and cut off by the next writer. The log is generic over
 * its entries: the run-event schema stays in the runtime.
 */
export interface RunEventLog {
  /**
   * Reads a run's log, tolerating a torn last entry.
   *
   * @param runId The run.
   * @param codec Checks each entry.
   * @returns The entries; none when the log does not exist.
   * @throws {IntegrityError} When an entry other than the last is damaged.
   */
  read<T>(runId: string, codec: LogCodec<T>): Promise<LogContents<T>>;
  /**
   * Reads the complete entries appended after a cursor, so another process
   * can follow a live log (`lily run show --follow`): an entry still being
   * written (or a torn tail) is left for a later read, which finds it once it
   * is complete. Never writes.
   *
   * @param runId The run.
   * @param codec Checks each entry (line numbers count from the log's start).
   * @param cursor Where the last read got to; {@linkcode LOG_START} for the whole log.
   * @returns The new entries and the cursor after them; none when the log does not exist yet.
   * @throws {IntegrityError} When a complete entry is damaged, or the log is
   * shorter than the cursor (it was replaced).
   */
  readFrom<T>(runId: string, codec: LogCodec<T>, cursor: LogCursor): Promise<LogTail<T>>;
  /**
   * Opens a run's log for appending, cutting a torn tail off first. Only the
   * holder of the run's lease may do this.
   *
   * @param runId The run.
   * @param codec Checks each entry already there.
   * @param options Whether appends are fsynced.
   * @returns The open log and the entries already in it.
   */
  open<T>(
    runId: string,
    codec: LogCodec<T>,
    options?: OpenLogOptions,
  ): Promise<{ log: AppendLog<T>; entries: T[] }>;
  /**
   * Where a run's log is, for people (e.g. in the message of a lost
   * journal); not a path to read or write.
   *
   * @param runId The run.
   * @returns The location.
   */
  location(runId: string): string;
}

/** A held lease; release it when the runner stops. */
export interface HeldLease {
  /** Releases the lease. */
  release(): void;
}

/** Options of {@linkcode RunLease.acquire}. */
export interface AcquireLeaseOptions {
  /** The clock that stamps when the lease was taken. */
  readonly clock?: Clock;
}

/**
 * One live runner per run. A lease is released when its holder releases it
 * or dies (a killed runner never blocks a resume).
 */
export interface RunLease {
  /**
   * Takes a run's lease without waiting.
   *
   * @param runId The run.
   * @param options The clock.
   * @returns The held lease.
   * @throws {ConflictError} When another live process holds it.
   */
  acquire(runId: string, options?: AcquireLeaseOptions): Promise<HeldLease>;
  /**
   * Tells whether a live process holds a run's lease.
   *
   * @param runId The run.
   * @returns `true` while a runner is alive.
   */
  isLive(runId: string): Promise<boolean>;
  /**
   * Tells whether a run's lease was ever taken (by a runner, or by a cancel
   * of a run without one): the trace that `run start` got past creating it.
   *
   * @param runId The run.
   * @returns `true` once the lease was first taken.
   */
  taken(runId: string): Promise<boolean>;
}

/** Requests to a run's live runner. */
export interface RunControl {
  /**
   * Asks the run's runner to cancel the run; the request stays until cleared.
   * Each request gets an id of its own, so a runner can tell a request made
   * for an earlier runner from one made for it.
   *
   * @param runId The run.
   * @returns The request's id.
   */
  requestCancel(runId: string): Promise<string>;
  /**
   * Tells whether a cancel was requested (the runner's per-phase check: keep it cheap).
   *
   * @param runId The run.
   * @returns `true` when a request is pending.
   */
  cancelRequested(runId: string): Promise<boolean>;
  /**
   * The id of the pending cancel request.
   *
   * @param runId The run.
   * @returns The id, or `null` when no request is pending.
   */
  pendingCancel(runId: string): Promise<string | null>;
  /**
   * Clears a pending cancel request; clearing none does nothing.
   *
   * @param runId The run.
   * @param requestId When given, clears the pending request only if it is this one.
   */
  clearCancel(runId: string, requestId?: string): Promise<void>;
}

/**
 * What a step cache key is the canonical hash of (`docs/cache.md`). Kept
 * whole beside the key, so a miss can be explained part by part.
 */
export interface CacheKeyParts {
  /**
   * What runs: the executor spec as JSON, the variables the step sets
   * (`env`) and the names it passes through (`env_pass`).
   */
  readonly executor: Readonly<Record<string, unknown>>;
  /** The sha256 of each input by name (`null`: the artifact was not in the index). */
  readonly inputs: Readonly<Record<string, string | null>>;
  /** The declared outputs by name, as normalised from the workflow. */
  readonly outputs: Readonly<Record<string, unknown>>;
  /** The step's effective confinement: sandbox mode, paths, tools, hosts and env names. */
  readonly policy: Readonly<Record<string, unknown>>;
  /** The environment-snapshot fields that matter: the Deno version and the `deno.lock` sha256. */
  readonly environment: {
    readonly deno_version: string | null;
    readonly deno_lock_sha256: string | null;
  };
}

/** One reusable step result: a succeeded attempt whose outputs passed their gates. */
export interface CacheEntry {
  /** The key: lower-case hex sha256 of the canonical JSON of `parts`. */
  readonly key: string;
  /** What the key was computed from. */
  readonly parts: CacheKeyParts;
  /** The workflow's name. */
  readonly workflow_name: string;
  /** The step. */
  readonly step_id: string;
  /** The step's executor kind. */
  readonly executor_kind: string;
  /** The run of the attempt that produced the outputs. */
  readonly run_id: string;
  /** The attempt that produced them. */
  readonly attempt: number;
  /** Its outputs: name → artifact id. */
  readonly outputs: Readonly<Record<string, string>>;
  /** When it entered the cache (ISO 8601, UTC). */
  readonly created_at: string;
}

/** How a cache lookup ended. */
export type CacheOutcome =
  /** An entry was reused; nothing ran. */
  | "hit"
  /** No usable entry; the step ran. */
  | "miss"
  /** The lookup was skipped (`--no-cache`, a retry); the step ran, its key recorded. */
  | "bypassed";

/** One step attempt's encounter with the cache: its key, and what became of the lookup. */
export interface CacheProbe {
  /** The run. */
  readonly run_id: string;
  /** The step. */
  readonly step_id: string;
  /** The attempt. */
  readonly attempt: number;
  /** The workflow's name. */
  readonly workflow_name: string;
  /** The step's executor kind. */
  readonly executor_kind: string;
  /** The key (`null` when the step cannot be keyed, e.g. an `fn` given as a function). */
  readonly key: string | null;
  /** What the key was computed from (`null` with the key). */
  readonly parts: CacheKeyParts | null;
  /** How the lookup ended. */
  readonly outcome: CacheOutcome;
  /** Why, in words a person can read. */
  readonly reason: string;
  /** The entry reused, on a hit. */
  readonly cached_from:
    | { readonly run: string; readonly step: string; readonly attempt: number }
    | null;
  /** When (ISO 8601, UTC). */
  readonly at: string;
}

/** Which cache entries a listing or a clear covers. */
export interface CacheQuery {
  /** Only this step's. */
  readonly step?: string;
  /** Only this workflow's. */
  readonly workflow?: string;
  /** Only entries of steps run by this executor kind. */
  readonly executorKind?: string;
}

/**
 * The step cache: reusable results by key, and each attempt's lookup (its
 * probe) for `lily cache explain` — a port of its own, as LangGraph's
 * `BaseCache` is separate from its checkpoints.
 */
export interface StepCache {
  /**
   * Looks an entry up.
   *
   * @param key The key.
   * @returns The entry, or `undefined`.
   */
  get(key: string): Promise<CacheEntry | undefined>;
  /**
   * Stores an entry, replacing one with the same key (the newest verified
   * result wins).
   *
   * @param entry The entry.
   */
  put(entry: CacheEntry): Promise<void>;
  /**
   * Lists entries, newest first.
   *
   * @param query Which entries.
   * @returns The entries.
   */
  list(query?: CacheQuery): Promise<CacheEntry[]>;
  /**
   * Removes entries (probes stay: they are runs' history).
   *
   * @param query Which entries; all without one.
   * @returns How many were removed.
   */
  clear(query?: CacheQuery): Promise<number>;
  /**
   * Records an attempt's probe, replacing an earlier one of the same attempt
   * (a resumed runner looks up again).
   *
   * @param probe The probe.
   */
  recordProbe(probe: CacheProbe): Promise<void>;
  /**
   * A step's probes in a run, by attempt.
   *
   * @param runId The run.
   * @param stepId The step.
   * @returns Its probes, oldest attempt first.
   */
  probes(runId: string, stepId: string): Promise<CacheProbe[]>;
}
