/**
 * The SQLite implementation of the {@linkcode StepCache} port: two tables in
 * the workspace's index database (`.iris/index.sqlite`), `step_cache`
 * (entries by key) and `step_cache_probes` (each attempt's lookup). They
 * are created on first use with `CREATE TABLE IF NOT EXISTS`, on a
 * connection of their own opened lazily, so a store that never caches
 * never touches them and the artifact index's schema version is unchanged.
 * Writes are not fsynced one by one (`synchronous = NORMAL` in WAL mode):
 * a power loss may lose the newest entries and probes, which only makes a
 * later run miss and run the step.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { IntegrityError, LilyError, StorageError } from "../../core/errors.ts";
import type { CacheEntry, CacheKeyParts, CacheProbe, CacheQuery, StepCache } from "../ports.ts";

/** How long a writer waits for another writer before failing, in ms. */
const BUSY_TIMEOUT_MS = 60_000;

const TABLES = `
  CREATE TABLE IF NOT EXISTS step_cache (
    key           TEXT PRIMARY KEY,
    parts_json    TEXT NOT NULL,
    workflow_name TEXT NOT NULL,
    step_id       TEXT NOT NULL,
    executor_kind TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    outputs_json  TEXT NOT NULL,
    created_at    TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS step_cache_by_step ON step_cache (step_id, created_at);
  CREATE TABLE IF NOT EXISTS step_cache_probes (
    run_id           TEXT NOT NULL,
    step_id          TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    workflow_name    TEXT NOT NULL,
    executor_kind    TEXT NOT NULL,
    key              TEXT,
    parts_json       TEXT,
    outcome          TEXT NOT NULL CHECK (outcome IN ('hit', 'miss', 'bypassed')),
    reason           TEXT NOT NULL,
    cached_from_json TEXT,
    at               TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, attempt)
  );`;

type EntryRow = {
  key: string;
  parts_json: string;
  workflow_name: string;
  step_id: string;
  executor_kind: string;
  run_id: string;
  attempt: number;
  outputs_json: string;
  created_at: string;
};

type ProbeRow = {
  run_id: string;
  step_id: string;
  attempt: number;
  workflow_name: string;
  executor_kind: string;
  key: string | null;
  parts_json: string | null;
  outcome: CacheProbe["outcome"];
  reason: string;
  cached_from_json: string | null;
  at: string;
};

function parsed<T>(text: string, what: string, path: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new IntegrityError(
      `Step cache in ${path} is damaged: ${what} is not JSON; run \`lily cache clear\``,
      { cause: err },
    );
  }
}

/** Filters of a {@linkcode CacheQuery} as SQL. */
function where(query: CacheQuery): { sql: string; params: string[] } {
  const filters: [string, string | undefined][] = [
    ["step_id", query.step],
    ["workflow_name", query.workflow],
    ["executor_kind", query.executorKind],
  ];
  const given = filters.filter((f): f is [string, string] => f[1] !== undefined);
  return {
    sql: given.length > 0 ? ` WHERE ${given.map(([column]) => `${column} = ?`).join(" AND ")}` : "",
    params: given.map(([, value]) => value),
  };
}

/** The step cache in the index database. */
export class SqliteStepCache implements StepCache {
  #path: string;
  #db: DatabaseSync | undefined;

  /**
   * Nothing is opened until the first call.
   *
   * @param path The index database file (`.iris/index.sqlite`).
   */
  constructor(path: string) {
    this.#path = path;
  }

  /** Runs `fn` on the connection (opened, with the tables, on first use). */
  #use<T>(fn: (db: DatabaseSync) => T): Promise<T> {
    try {
      if (this.#db === undefined) {
        const db = new DatabaseSync(this.#path);
        try {
          db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
          // Derived data: a power loss may lose the last entries and probes (later runs miss and
          // run); an entry is written after the artifacts it names are durable, never before.
          db.exec("PRAGMA synchronous = NORMAL");
          db.exec(TABLES);
        } catch (err) {
          db.close();
          throw err;
        }
        this.#db = db;
      }
      return Promise.resolve(fn(this.#db));
    } catch (err) {
      if (err instanceof LilyError) return Promise.reject(err);
      const reason = err instanceof Error ? err.message : String(err);
      return Promise.reject(
        new StorageError(`Step cache in ${this.#path} failed: ${reason}`, {
          path: this.#path,
          cause: err,
        }),
      );
    }
  }

  #entry(row: EntryRow): CacheEntry {
    return {
      key: row.key,
      parts: parsed<CacheKeyParts>(row.parts_json, `the parts of entry ${row.key}`, this.#path),
      workflow_name: row.workflow_name,
      step_id: row.step_id,
      executor_kind: row.executor_kind,
      run_id: row.run_id,
      attempt: row.attempt,
      outputs: parsed(row.outputs_json, `the outputs of entry ${row.key}`, this.#path),
      created_at: row.created_at,
    };
  }

  get(key: string): Promise<CacheEntry | undefined> {
    return this.#use((db) => {
      const row = db.prepare("SELECT * FROM step_cache WHERE key = ?").get(key) as
        | EntryRow
        | undefined;
      return row === undefined ? undefined : this.#entry(row);
    });
  }

  put(entry: CacheEntry): Promise<void> {
    return this.#use((db) => {
      db.prepare(
        `INSERT OR REPLACE INTO step_cache (key, parts_json, workflow_name, step_id,
           executor_kind, run_id, attempt, outputs_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        entry.key,
        JSON.stringify(entry.parts),
        entry.workflow_name,
        entry.step_id,
        entry.executor_kind,
        entry.run_id,
        entry.attempt,
        JSON.stringify(entry.outputs),
        entry.created_at,
      );
    });
  }

  list(query: CacheQuery = {}): Promise<CacheEntry[]> {
    return this.#use((db) => {
      const { sql, params } = where(query);
      const rows = db.prepare(
        `SELECT * FROM step_cache${sql} ORDER BY created_at DESC, rowid DESC`,
      ).all(...params) as EntryRow[];
      return rows.map((row) => this.#entry(row));
    });
  }

  clear(query: CacheQuery = {}): Promise<number> {
    return this.#use((db) => {
      const { sql, params } = where(query);
      return Number(db.prepare(`DELETE FROM step_cache${sql}`).run(...params).changes);
    });
  }

  recordProbe(probe: CacheProbe): Promise<void> {
    return this.#use((db) => {
      db.prepare(
        `INSERT OR REPLACE INTO step_cache_probes (run_id, step_id, attempt, workflow_name,
           executor_kind, key, parts_json, outcome, reason, cached_from_json, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        probe.run_id,
        probe.step_id,
        probe.attempt,
        probe.workflow_name,
        probe.executor_kind,
        probe.key,
        probe.parts === null ? null : JSON.stringify(probe.parts),
        probe.outcome,
        probe.reason,
        probe.cached_from === null ? null : JSON.stringify(probe.cached_from),
        probe.at,
      );
    });
  }

  probes(runId: string, stepId: string): Promise<CacheProbe[]> {
    return this.#use((db) => {
      const rows = db.prepare(
        "SELECT * FROM step_cache_probes WHERE run_id = ? AND step_id = ? ORDER BY attempt",
      ).all(runId, stepId) as ProbeRow[];
      return rows.map((row) => ({
        run_id: row.run_id,
        step_id: row.step_id,
        attempt: row.attempt,
        workflow_name: row.workflow_name,
        executor_kind: row.executor_kind,
        key: row.key,
        parts: row.parts_json === null
          ? null
          : parsed<CacheKeyParts>(row.parts_json, "a probe's parts", this.#path),
        outcome: row.outcome,
        reason: row.reason,
        cached_from: row.cached_from_json === null
          ? null
          : parsed(row.cached_from_json, "a probe's cached_from", this.#path),
        at: row.at,
      }));
    });
  }

  /** Closes the connection, when one was opened. */
  close(): void {
    if (this.#db?.isOpen) this.#db.close();
    this.#db = undefined;
  }
}
