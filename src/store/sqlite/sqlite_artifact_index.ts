/**
 * The SQLite implementation of the {@linkcode ArtifactIndex} port:
 * `.iris/index.sqlite`, one immutable row per artifact, in WAL mode so
 * readers never block writers and SQLite serialises writers with a busy
 * timeout. `node:sqlite` is synchronous; the port's promises resolve once
 * the statement has run (an insert is committed by then).
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import {
  ConflictError,
  DamagedFileError,
  IntegrityError,
  LilyError,
  StorageError,
} from "../../core/errors.ts";
import { storageError } from "../../core/storage_error.ts";
import { dirname, join } from "node:path";
import type { ArtifactRef, ProducerKind, StorageKind } from "../artifact_ref.ts";
import type { ArtifactIndex, ArtifactLineage, ArtifactQuery } from "../ports.ts";
import type { ArtifactCollection, ArtifactPin, GcRecord } from "../retention.ts";
import {
  collectedIdsSync,
  collectionSync,
  gcLogSync,
  markCollectedSync,
  pinsSync,
  pinSync,
  recordGcSync,
  RETENTION_MIGRATION,
  unpinSync,
} from "./sqlite_retention.ts";

/** How long a writer waits for another writer before failing, in ms. */
const BUSY_TIMEOUT_MS = 60_000;

/** Forward-only schema migrations; index `i` takes the schema to version `i + 1`. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE artifacts (
     artifact_id   TEXT PRIMARY KEY,
     run_id        TEXT NOT NULL,
     artifact_type TEXT NOT NULL,
     storage_kind  TEXT NOT NULL CHECK (storage_kind IN ('json', 'text', 'file')),
     artifact_name TEXT,
     rel_path      TEXT NOT NULL,
     sha256        TEXT NOT NULL,
     created_at    TEXT NOT NULL,
     producer_id   TEXT NOT NULL,
     producer_kind TEXT NOT NULL CHECK (producer_kind IN ('tool', 'llm', 'human', 'system')),
     inputs_json   TEXT NOT NULL,
     size_bytes    INTEGER NOT NULL
   );
   CREATE INDEX artifacts_by_run ON artifacts (run_id, created_at);
   CREATE INDEX artifacts_by_type ON artifacts (artifact_type, created_at);
   CREATE INDEX artifacts_by_name ON artifacts (artifact_name, created_at);
   CREATE INDEX artifacts_by_producer ON artifacts (producer_id, created_at);
   CREATE INDEX artifacts_by_sha256 ON artifacts (sha256);
   CREATE INDEX artifacts_by_time ON artifacts (created_at);`,
  RETENTION_MIGRATION,
  // The lineage table: one row per (input, artifact made from it), kept by a
  // trigger in the inserting statement itself, so that an artifact's outputs
  // are an index lookup instead of a scan of every row's inputs.
  `CREATE TABLE artifact_inputs (
     input_id    TEXT NOT NULL,
     artifact_id TEXT NOT NULL,
     position    INTEGER NOT NULL,
     PRIMARY KEY (input_id, artifact_id, position)
   ) WITHOUT ROWID;
   INSERT INTO artifact_inputs (input_id, artifact_id, position)
     SELECT json_each.value, artifacts.artifact_id, json_each.key
     FROM artifacts, json_each(artifacts.inputs_json);
   CREATE TRIGGER artifacts_lineage AFTER INSERT ON artifacts BEGIN
     INSERT INTO artifact_inputs (input_id, artifact_id, position)
       SELECT json_each.value, NEW.artifact_id, json_each.key FROM json_each(NEW.inputs_json);
   END;`,
];

/** The schema version this kernel writes. */
export const INDEX_SCHEMA_VERSION: number = MIGRATIONS.length;

type Row = [
  artifact_id: string,
  run_id: string,
  artifact_type: string,
  storage_kind: string,
  artifact_name: string | null,
  rel_path: string,
  sha256: string,
  created_at: string,
  producer_id: string,
  producer_kind: string,
  inputs_json: string,
  size_bytes: number,
];

function toRef(row: Row, path: string): ArtifactRef {
  let inputs: string[];
  try {
    inputs = JSON.parse(row[10]);
  } catch (err) {
    throw new IntegrityError(
      `Artifact index ${path} is damaged: the row of artifact ${row[0]} has unreadable inputs; ` +
        DAMAGED_HINT,
      { cause: err },
    );
  }
  return {
    artifact_id: row[0],
    run_id: row[1],
    artifact_type: row[2],
    storage_kind: row[3] as StorageKind,
    artifact_name: row[4],
    rel_path: row[5],
    sha256: row[6],
    created_at: row[7],
    producer_id: row[8],
    producer_kind: row[9] as ProducerKind,
    input_artifact_refs: inputs,
    size_bytes: row[11],
  };
}

/** What to do about a damaged index, appended to its errors. */
const DAMAGED_HINT = "restore it from a backup (lily verify lists every damaged file)";

/** The first four bytes of a WAL file, big-endian (https://sqlite.org/fileformat.html#wal_file_format). */
const WAL_MAGIC = [0x377f0682, 0x377f0683];

/**
 * Turns an error from SQLite into a Lily error naming the index: a full disk
 * is a {@linkcode StorageError} `No space left on device`, a damaged file an
 * {@linkcode IntegrityError}, a lock held too long a {@linkcode ConflictError}.
 * Constraint violations (Lily's own bugs) and Lily errors pass unchanged.
 */
function indexError(err: unknown, path: string): unknown {
  if (err instanceof LilyError || !(err instanceof Error)) return err;
  if ((err as { code?: unknown }).code !== "ERR_SQLITE_ERROR") {
    return storageError(err, path, "open");
  }
  const reason = err.message;
  if (/constraint failed/i.test(reason)) return err;
  if (
    /database or disk is full/i.test(reason) || (/disk I\/O error/i.test(reason) && diskFull(path))
  ) {
    return new StorageError(`No space left on device: ${path}; free some space and try again`, {
      path,
      code: "ENOSPC",
      cause: err,
    });
  }
  if (/database is locked|database table is locked|busy/i.test(reason)) {
    return new ConflictError(
      `Artifact index ${path} stayed locked by another process (${reason}); try again`,
      { cause: err },
    );
  }
  if (/not a database|malformed|corrupt/i.test(reason)) {
    return new DamagedFileError(`Artifact index ${path} is damaged (${reason}); ${DAMAGED_HINT}`, {
      path,
      cause: err,
    });
  }
  return new StorageError(`Cannot use the artifact index ${path}: ${reason}`, {
    path,
    cause: err,
  });
}

/**
 * Tells whether the disk holding `path` is full, by trying to write 64 KiB
 * next to it (and removing them again): SQLite reports a full disk met while
 * growing its shared-memory file only as a `disk I/O error`.
 */
function diskFull(path: string): boolean {
  const probe = join(dirname(path), `.space-probe-${crypto.randomUUID()}`);
  try {
    Deno.writeFileSync(probe, new Uint8Array(64 * 1024), { createNew: true });
    return false;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return code === "ENOSPC" || code === "EDQUOT";
  } finally {
    try {
      Deno.removeSync(probe);
    } catch {
      // Never created.
    }
  }
}

/**
 * Refuses a write-ahead log whose header is not SQLite's: SQLite would
 * silently ignore it, and with it every write it holds.
 */
function checkWal(path: string): void {
  const wal = `${path}-wal`;
  let header: Uint8Array;
  try {
    const info = Deno.statSync(wal);
    if (!info.isFile) {
      throw new DamagedFileError(
        `Artifact index log ${wal} is not a regular file; ${DAMAGED_HINT}`,
        { path: wal },
      );
    }
    if (info.size < 32) return;
    const file = Deno.openSync(wal, { read: true });
    try {
      header = new Uint8Array(4);
      file.readSync(header);
    } finally {
      file.close();
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw storageError(err, wal, "read");
  }
  const magic = new DataView(header.buffer).getUint32(0);
  if (!WAL_MAGIC.includes(magic)) {
    throw new DamagedFileError(
      `Artifact index log ${wal} is damaged (its header is not a SQLite write-ahead log); ` +
        "restore the index and its log from a backup, or move the log aside to lose only " +
        "the writes it holds (lily verify then lists their payloads as orphans)",
      { path: wal },
    );
  }
}

/** Runs a synchronous call, giving its result or its throw as a promise. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Options of {@linkcode SqliteArtifactIndex}. */
export interface ArtifactIndexOptions {
  /**
   * When the index cannot be opened (damaged, unreadable), record why in
   * {@linkcode SqliteArtifactIndex.damage} instead of throwing; every query then
   * throws that error. Verification uses this to report the index and go on.
   * @default {false}
   */
  tolerateDamage?: boolean;
}

/** `node:sqlite` statements return arrays with this (typed in Deno only at run time). */
type ArrayStatement = StatementSync & { setReturnArrays(enabled: boolean): void };

const COLUMNS = "artifact_id, run_id, artifact_type, storage_kind, artifact_name, rel_path, " +
  "sha256, created_at, producer_id, producer_kind, inputs_json, size_bytes";

/** An open connection to a workspace's SQLite artifact index. */
export class SqliteArtifactIndex implements ArtifactIndex {
  #path: string;
  #db: DatabaseSync | undefined;
  #insert: StatementSync | undefined;
  #statements = new Map<string, StatementSync>();
  #damage: LilyError | undefined;

  /**
   * Opens (creating when missing) the index and migrates it forward.
   *
   * @param path Path of `index.sqlite`.
   * @param options Whether a damaged index is recorded instead of thrown.
   * @throws {IntegrityError} When the file (or its `-wal` log) is damaged, or
   * was written by a newer kernel.
   * @throws {StorageError} When it cannot be opened or created, e.g. on a full disk.
   */
  constructor(path: string, options: ArtifactIndexOptions = {}) {
    this.#path = path;
    try {
      checkWal(path);
      this.#db = new DatabaseSync(path);
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec("PRAGMA synchronous = FULL");
      this.#migrate(this.#db, path);
      this.#insert = this.#db.prepare(
        `INSERT INTO artifacts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
    } catch (err) {
      if (this.#db?.isOpen) this.#db.close();
      this.#db = undefined;
      const error = indexError(err, path);
      if (!options.tolerateDamage || !(error instanceof LilyError)) throw error;
      this.#damage = error;
    }
  }

  /** Why the index could not be opened (with `tolerateDamage`), else `undefined`. */
  get damage(): LilyError | undefined {
    return this.#damage;
  }

  /** Runs `fn` on the open connection, turning SQLite errors into Lily errors. */
  #use<T>(fn: (db: DatabaseSync) => T): T {
    if (this.#db === undefined) {
      throw this.#damage ??
        new StorageError(`Artifact index ${this.#path} is closed`, { path: this.#path });
    }
    try {
      return fn(this.#db);
    } catch (err) {
      throw indexError(err, this.#path);
    }
  }

  /** Prepares a row-returning statement once per SQL text, returning arrays. */
  #rows(db: DatabaseSync, sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      (statement as ArrayStatement).setReturnArrays(true);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #version(db: DatabaseSync): number {
    const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
    return row.user_version;
  }

  #migrate(db: DatabaseSync, path: string): void {
    if (this.#version(db) === INDEX_SCHEMA_VERSION) return;
    db.exec("BEGIN IMMEDIATE");
    try {
      const current = this.#version(db);
      if (current > INDEX_SCHEMA_VERSION) {
        throw new IntegrityError(
          `Index ${path} has schema version ${current}, newer than this kernel's ` +
            `${INDEX_SCHEMA_VERSION}; upgrade Lily to read it`,
        );
      }
      for (let v = current; v < INDEX_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
      db.exec(`PRAGMA user_version = ${INDEX_SCHEMA_VERSION}`);
      db.exec("COMMIT");
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw err;
    }
  }

  /** The schema version of the open index. */
  get schemaVersion(): number {
    return this.#use((db) => this.#version(db));
  }

  /**
   * Runs SQLite's `PRAGMA quick_check` over the whole file.
   *
   * @returns The problems SQLite found; empty when the file is sound.
   * @throws {IntegrityError} When the index is too damaged to check.
   */
  check(): string[] {
    return this.#use((db) => {
      const rows = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
      return rows.map((r) => r.quick_check).filter((r) => r !== "ok");
    });
  }

  /**
   * Inserts one row in its own committed transaction.
   *
   * @param ref The artifact's reference; its payload must already be durable.
   * @throws {StorageError} When the disk is full (`No space left on device`).
   */
  insert(ref: ArtifactRef): Promise<void> {
    return settle(() => this.#insertSync(ref));
  }

  #insertSync(ref: ArtifactRef): void {
    this.#use(() =>
      this.#insert!.run(
        ref.artifact_id,
        ref.run_id,
        ref.artifact_type,
        ref.storage_kind,
        ref.artifact_name,
        ref.rel_path,
        ref.sha256,
        ref.created_at,
        ref.producer_id,
        ref.producer_kind,
        JSON.stringify(ref.input_artifact_refs),
        ref.size_bytes,
      )
    );
  }

  /**
   * Looks one artifact up by id.
   *
   * @param artifactId The artifact id.
   * @returns Its reference, or `undefined` when there is no such row.
   */
  get(artifactId: string): Promise<ArtifactRef | undefined> {
    return settle(() => this.#getSync(artifactId));
  }

  #getSync(artifactId: string): ArtifactRef | undefined {
    const row = this.#use((db) =>
      this.#rows(db, `SELECT ${COLUMNS} FROM artifacts WHERE artifact_id = ?`)
        .get(artifactId) as unknown as Row | undefined
    );
    return row ? toRef(row, this.#path) : undefined;
  }

  /**
   * Finds artifacts matching every given filter, newest first.
   *
   * @param query The filters.
   * @returns The matching references.
   */
  query(query: ArtifactQuery = {}): Promise<ArtifactRef[]> {
    return settle(() => this.#querySync(query));
  }

  #querySync(query: ArtifactQuery): ArtifactRef[] {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    const add = (clause: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    add("run_id = ?", query.runId);
    add("artifact_type = ?", query.type);
    add("artifact_name = ?", query.name);
    add("producer_id = ?", query.producer);
    add("sha256 = ?", query.sha256);
    add("created_at >= ?", query.since);
    add("created_at < ?", query.until);
    let sql = `SELECT ${COLUMNS} FROM artifacts`;
    if (where.length > 0) sql += ` WHERE ${where.join(" AND ")}`;
    sql += " ORDER BY created_at DESC, rowid DESC";
    if (query.limit !== undefined) {
      sql += " LIMIT ?";
      params.push(query.limit);
    }
    const rows = this.#use((db) => this.#rows(db, sql).all(...params) as unknown as Row[]);
    return rows.map((row) => toRef(row, this.#path));
  }

  /**
   * Counts a run's artifacts by type.
   *
   * @param runId The run.
   * @returns Type → count.
   */
  countByType(runId: string): Promise<Record<string, number>> {
    return settle(() => this.#countByTypeSync(runId));
  }

  #countByTypeSync(runId: string): Record<string, number> {
    const rows = this.#use((db) =>
      db.prepare(
        "SELECT artifact_type, COUNT(*) AS n FROM artifacts WHERE run_id = ? GROUP BY artifact_type",
      ).all(runId) as unknown as { artifact_type: string; n: number }[]
    );
    return Object.fromEntries(rows.map((r) => [r.artifact_type, r.n]));
  }

  /**
   * The artifacts an artifact was made from and those made from it. The
   * outputs are found through the lineage table (`artifact_inputs`, one row
   * per input of each artifact), an index lookup.
   *
   * @param artifactId The artifact id.
   * @returns Its inputs (in recorded order) and outputs (oldest first).
   */
  lineage(artifactId: string): Promise<ArtifactLineage> {
    return settle(() => this.#lineageSync(artifactId));
  }

  #lineageSync(artifactId: string): ArtifactLineage {
    const rows = this.#use((db) => {
      const self = this.#rows(db, `SELECT ${COLUMNS} FROM artifacts WHERE artifact_id = ?`)
        .get(artifactId) as unknown as Row | undefined;
      const outputs = this.#rows(
        db,
        `SELECT ${COLUMNS} FROM artifacts WHERE artifact_id IN ` +
          "(SELECT artifact_id FROM artifact_inputs WHERE input_id = ?) " +
          "ORDER BY created_at, rowid",
      ).all(artifactId) as unknown as Row[];
      return { self, outputs };
    });
    if (rows.self === undefined) return { inputs: [], outputs: [] };
    const inputs = toRef(rows.self, this.#path).input_artifact_refs
      .map((id) => this.#getSync(id))
      .filter((ref) => ref !== undefined);
    return { inputs, outputs: rows.outputs.map((row) => toRef(row, this.#path)) };
  }

  /**
   * Pins an artifact, or updates its pin.
   *
   * @param pin The pin.
   * @returns Whether it was pinned already.
   */
  pin(pin: ArtifactPin): Promise<boolean> {
    return settle(() => this.#use((db) => pinSync(db, pin)));
  }

  /**
   * Removes an artifact's pin.
   *
   * @param artifactId The artifact.
   * @returns Whether it was pinned.
   */
  unpin(artifactId: string): Promise<boolean> {
    return settle(() => this.#use((db) => unpinSync(db, artifactId)));
  }

  /**
   * Lists every pin, oldest first.
   *
   * @returns The pins.
   */
  pins(): Promise<ArtifactPin[]> {
    return settle(() => this.#use((db) => pinsSync(db)));
  }

  /**
   * Tells whether (and by which gc) an artifact's payload was collected.
   *
   * @param artifactId The artifact.
   * @returns The mark, or `undefined`.
   */
  collection(artifactId: string): Promise<ArtifactCollection | undefined> {
    return settle(() => this.#use((db) => collectionSync(db, artifactId)));
  }

  /**
   * Lists the ids of every artifact whose payload was collected.
   *
   * @returns The ids.
   */
  collectedIds(): Promise<Set<string>> {
    return settle(() => this.#use((db) => collectedIdsSync(db)));
  }

  /**
   * Marks artifacts collected by a gc, in one transaction.
   *
   * @param gcId The gc.
   * @param artifactIds The artifacts.
   * @param at When (ISO 8601 UTC).
   */
  markCollected(gcId: string, artifactIds: readonly string[], at: string): Promise<void> {
    return settle(() => this.#use((db) => markCollectedSync(db, gcId, artifactIds, at)));
  }

  /**
   * Records what a gc removed.
   *
   * @param record The gc's record.
   */
  recordGc(record: GcRecord): Promise<void> {
    return settle(() => this.#use((db) => recordGcSync(db, record)));
  }

  /**
   * Lists the gc log, oldest first.
   *
   * @returns Every gc's record.
   */
  gcLog(): Promise<GcRecord[]> {
    return settle(() => this.#use((db) => gcLogSync(db)));
  }

  /**
   * Where the index is, for people: its `index.sqlite` path.
   *
   * @returns The path, for messages.
   */
  location(): string {
    return this.#path;
  }

  /** Closes the connection. */
  close(): void {
    if (this.#db?.isOpen) this.#db.close();
  }
}
