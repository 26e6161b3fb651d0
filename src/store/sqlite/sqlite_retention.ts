/**
 * The SQLite side of {@linkcode RetentionIndex}: three tables beside
 * `artifacts` in `index.sqlite` (schema version 2). Artifact rows are never
 * changed: a collected artifact is a row in `collected`.
 *
 * | table | one row per |
 * |---|---|
 * | `pins` | pinned artifact: `reason`, `pinned_by`, `pinned_at` |
 * | `collected` | artifact whose payload gc removed: `gc_id`, `collected_at` |
 * | `gc_log` | gc run: when, who, its selection and everything it removed (`record_json`) |
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { ArtifactCollection, ArtifactPin, GcRecord } from "../retention.ts";

/** The migration that adds the retention tables (schema version 2). */
export const RETENTION_MIGRATION = `CREATE TABLE pins (
     artifact_id TEXT PRIMARY KEY,
     reason      TEXT,
     pinned_by   TEXT NOT NULL,
     pinned_at   TEXT NOT NULL
   );
   CREATE TABLE collected (
     artifact_id  TEXT PRIMARY KEY,
     gc_id        TEXT NOT NULL,
     collected_at TEXT NOT NULL
   );
   CREATE TABLE gc_log (
     gc_id       TEXT PRIMARY KEY,
     at          TEXT NOT NULL,
     by          TEXT NOT NULL,
     record_json TEXT NOT NULL
   );`;

/**
 * Pins an artifact or updates its pin.
 *
 * @param db The open index.
 * @param pin The pin.
 * @returns Whether it was pinned already.
 */
export function pinSync(db: DatabaseSync, pin: ArtifactPin): boolean {
  const had = db.prepare("SELECT 1 FROM pins WHERE artifact_id = ?").get(pin.artifact_id);
  db.prepare(
    "INSERT INTO pins (artifact_id, reason, pinned_by, pinned_at) VALUES (?, ?, ?, ?) " +
      "ON CONFLICT (artifact_id) DO UPDATE SET reason = excluded.reason, " +
      "pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at",
  ).run(pin.artifact_id, pin.reason, pin.pinned_by, pin.pinned_at);
  return had !== undefined;
}

/**
 * Removes a pin.
 *
 * @param db The open index.
 * @param artifactId The artifact.
 * @returns Whether it was pinned.
 */
export function unpinSync(db: DatabaseSync, artifactId: string): boolean {
  return Number(db.prepare("DELETE FROM pins WHERE artifact_id = ?").run(artifactId).changes) > 0;
}

/**
 * Lists every pin, oldest first.
 *
 * @param db The open index.
 * @returns The pins.
 */
export function pinsSync(db: DatabaseSync): ArtifactPin[] {
  return db.prepare(
    "SELECT artifact_id, reason, pinned_by, pinned_at FROM pins ORDER BY pinned_at, artifact_id",
  ).all().map((row) => ({ ...row }) as unknown as ArtifactPin);
}

/**
 * Reads an artifact's collection mark.
 *
 * @param db The open index.
 * @param artifactId The artifact.
 * @returns The mark, or `undefined`.
 */
export function collectionSync(
  db: DatabaseSync,
  artifactId: string,
): ArtifactCollection | undefined {
  const row = db.prepare(
    "SELECT artifact_id, gc_id, collected_at FROM collected WHERE artifact_id = ?",
  ).get(artifactId);
  return row === undefined ? undefined : { ...row } as unknown as ArtifactCollection;
}

/**
 * Lists the collected artifacts' ids.
 *
 * @param db The open index.
 * @returns The ids.
 */
export function collectedIdsSync(db: DatabaseSync): Set<string> {
  const rows = db.prepare("SELECT artifact_id FROM collected").all() as { artifact_id: string }[];
  return new Set(rows.map((r) => r.artifact_id));
}

/**
 * Marks artifacts collected, in one transaction.
 *
 * @param db The open index.
 * @param gcId The gc.
 * @param artifactIds The artifacts.
 * @param at When.
 */
export function markCollectedSync(
  db: DatabaseSync,
  gcId: string,
  artifactIds: readonly string[],
  at: string,
): void {
  const insert = db.prepare(
    "INSERT OR IGNORE INTO collected (artifact_id, gc_id, collected_at) VALUES (?, ?, ?)",
  );
  db.exec("BEGIN IMMEDIATE");
  try {
    for (const id of artifactIds) insert.run(id, gcId, at);
    db.exec("COMMIT");
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

/**
 * Records a gc.
 *
 * @param db The open index.
 * @param record What it removed.
 */
export function recordGcSync(db: DatabaseSync, record: GcRecord): void {
  db.prepare("INSERT INTO gc_log (gc_id, at, by, record_json) VALUES (?, ?, ?, ?)")
    .run(record.gc_id, record.at, record.by, JSON.stringify(record));
}

/**
 * Lists the gc log, oldest first.
 *
 * @param db The open index.
 * @returns The records.
 */
export function gcLogSync(db: DatabaseSync): GcRecord[] {
  const rows = db.prepare("SELECT record_json FROM gc_log ORDER BY at, rowid").all() as {
    record_json: string;
  }[];
  return rows.map((r) => JSON.parse(r.record_json) as GcRecord);
}
