/**
 * The global artifact index, `.iris/index.sqlite`: one immutable row per
 * artifact, in WAL mode so readers never block writers and SQLite serialises
 * writers with a busy timeout.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { IntegrityError } from "../core/errors.ts";
import type { ArtifactRef, ProducerKind, StorageKind } from "./artifact_ref.ts";

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
];

/** The schema version this kernel writes. */
export const INDEX_SCHEMA_VERSION: number = MIGRATIONS.length;

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
  /** Only payloads with this sha256. */
  sha256?: string;
  /** Only artifacts created at or after this ISO time. */
  since?: string;
  /** Only artifacts created before this ISO time. */
  until?: string;
  /**
   * At most this many rows, newest first.
   * @default {unlimited}
   */
  limit?: number;
}

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

function toRef(row: Row): ArtifactRef {
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
    input_artifact_refs: JSON.parse(row[10]),
    size_bytes: row[11],
  };
}

/** `node:sqlite` statements return arrays with this (typed in Deno only at run time). */
type ArrayStatement = StatementSync & { setReturnArrays(enabled: boolean): void };

const COLUMNS = "artifact_id, run_id, artifact_type, storage_kind, artifact_name, rel_path, " +
  "sha256, created_at, producer_id, producer_kind, inputs_json, size_bytes";

/** An open connection to a workspace's artifact index. */
export class ArtifactIndex {
  #db: DatabaseSync;
  #insert: StatementSync;
  #statements = new Map<string, StatementSync>();

  /**
   * Opens (creating when missing) the index and migrates it forward.
   *
   * @param path Path of `index.sqlite`.
   * @throws {IntegrityError} When the file was written by a newer kernel.
   */
  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = FULL");
    this.#migrate(path);
    this.#insert = this.#db.prepare(
      `INSERT INTO artifacts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Prepares a row-returning statement once per SQL text, returning arrays. */
  #rows(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      (statement as ArrayStatement).setReturnArrays(true);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #version(): number {
    const row = this.#db.prepare("PRAGMA user_version").get() as { user_version: number };
    return row.user_version;
  }

  #migrate(path: string): void {
    if (this.#version() === INDEX_SCHEMA_VERSION) return;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const current = this.#version();
      if (current > INDEX_SCHEMA_VERSION) {
        throw new IntegrityError(
          `Index ${path} has schema version ${current}, newer than this kernel's ` +
            `${INDEX_SCHEMA_VERSION}; upgrade Lily to read it`,
        );
      }
      for (let v = current; v < INDEX_SCHEMA_VERSION; v++) this.#db.exec(MIGRATIONS[v]);
      this.#db.exec(`PRAGMA user_version = ${INDEX_SCHEMA_VERSION}`);
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  /** The schema version of the open index. */
  get schemaVersion(): number {
    return this.#version();
  }

  /**
   * Inserts one row in its own committed transaction.
   *
   * @param ref The artifact's reference; its payload must already be durable.
   */
  insert(ref: ArtifactRef): void {
    this.#insert.run(
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
    );
  }

  /**
   * Looks one artifact up by id.
   *
   * @param artifactId The artifact id.
   * @returns Its reference, or `undefined` when there is no such row.
   */
  get(artifactId: string): ArtifactRef | undefined {
    const row = this.#rows(`SELECT ${COLUMNS} FROM artifacts WHERE artifact_id = ?`)
      .get(artifactId) as unknown as Row | undefined;
    return row ? toRef(row) : undefined;
  }

  /**
   * Finds artifacts matching every given filter, newest first.
   *
   * @param query The filters.
   * @returns The matching references.
   */
  query(query: ArtifactQuery = {}): ArtifactRef[] {
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
    return (this.#rows(sql).all(...params) as unknown as Row[]).map(toRef);
  }

  /**
   * Counts a run's artifacts by type.
   *
   * @param runId The run.
   * @returns Type → count.
   */
  countByType(runId: string): Record<string, number> {
    const rows = this.#db.prepare(
      "SELECT artifact_type, COUNT(*) AS n FROM artifacts WHERE run_id = ? GROUP BY artifact_type",
    ).all(runId) as unknown as { artifact_type: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.artifact_type, r.n]));
  }

  /** Closes the connection. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
