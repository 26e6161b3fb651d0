/**
 * Reads a run's records back: its `environment_snapshot.v1` and the
 * `step_run_record.v1` of every recorded attempt, found through the run
 * state (`run_started.environment_snapshot`, `attempt_recorded.record`).
 * The one lookup `lily run show --json`, provenance and other readers use.
 *
 * @module
 */

import type { EnvironmentSnapshotV1, StepRunRecordV1 } from "../contracts/kernel_schemas.ts";
import type { RunState } from "../runtime/run_events.ts";
import type { Store } from "../store/store.ts";

/** A stored `step_run_record.v1` with its artifact id. */
export type StoredStepRunRecord = StepRunRecordV1 & {
  /** The record's artifact id. */
  readonly record_id: string;
};

/** A stored `environment_snapshot.v1` with its artifact id. */
export type StoredEnvironmentSnapshot = EnvironmentSnapshotV1 & {
  /** The snapshot's artifact id. */
  readonly artifact_id: string;
};

/** A run's records. */
export interface RunRecords {
  /** The run's environment snapshot; `null` for runs started before snapshots. */
  readonly environment_snapshot: StoredEnvironmentSnapshot | null;
  /** One record per recorded attempt, in step order then attempt order. */
  readonly records: readonly StoredStepRunRecord[];
}

/**
 * Reads the records of a run.
 *
 * @param store The store.
 * @param state The run's state (`readRunState`).
 * @returns The snapshot and the records.
 * @throws {IntegrityError} When a record's payload does not match its indexed hash.
 */
export async function readRunRecords(store: Store, state: RunState): Promise<RunRecords> {
  const ids = Object.values(state.steps).flatMap((step) =>
    step.attempts.flatMap((a) => a.record === null ? [] : [a.record])
  );
  const records = await Promise.all(ids.map(async (id) => ({
    record_id: id,
    ...(await store.artifacts.get(id)).value as StepRunRecordV1,
  })));
  const snapshotId = state.environment_snapshot;
  return {
    environment_snapshot: snapshotId === null ? null : {
      artifact_id: snapshotId,
      ...(await store.artifacts.get(snapshotId)).value as EnvironmentSnapshotV1,
    },
    records,
  };
}
