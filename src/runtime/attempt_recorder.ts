/**
 * Stores an attempt's `step_run_record.v1` (the effect next to the pure
 * `stepRunRecord`): looks up the indexed sha256 of its outputs and logs,
 * stores the record as a JSON artifact named `record.<step>.<attempt>`, and
 * returns its id for the `attempt_recorded` event. Reading records back is
 * `readRunRecords` in `src/observe/run_records.ts`.
 *
 * @module
 */

import type { Redactor } from "../core/redaction.ts";
import type { Store } from "../store/store.ts";
import type { RunState } from "./run_events.ts";
import { STEP_RUN_RECORD_TYPE, stepRunRecord } from "./step_run_record.ts";

/** Options of {@linkcode storeAttemptRecord}. */
export interface StoreAttemptRecordOptions {
  /** The step. */
  readonly step: string;
  /** The attempt. */
  readonly attempt: number;
  /** The executor kind the step's spec names (used when the attempt's summary names none). */
  readonly kind: string;
  /** The run's redactor. */
  readonly redactor: Redactor;
  /**
   * Looks for a record stored before a crash (and not yet journaled) and
   * returns it instead of storing a second one; a resume sets it.
   * @default {false}
   */
  readonly reuse?: boolean;
}

/**
 * The name of an attempt's record artifact.
 *
 * @param step The step.
 * @param attempt The attempt.
 * @returns `record.<step>.<attempt>`.
 */
export function recordName(step: string, attempt: number): string {
  return `record.${step}.${attempt}`;
}

/**
 * Stores an ended attempt's record.
 *
 * @param store The store.
 * @param state The run state, with the attempt ended (and its gates decided).
 * @param options The attempt, its executor kind and the redactor.
 * @returns The `step_run_record.v1` artifact id.
 */
export async function storeAttemptRecord(
  store: Store,
  state: RunState,
  options: StoreAttemptRecordOptions,
): Promise<string> {
  const runId = state.run_id;
  const name = recordName(options.step, options.attempt);
  if (options.reuse) {
    const [earlier] = await store.artifacts.list(runId, { type: STEP_RUN_RECORD_TYPE, name });
    if (earlier) return earlier.artifact_id;
  }
  const attempt = state.steps[options.step].attempts.find((a) => a.attempt === options.attempt)!;
  const ids = [...Object.values(attempt.outputs), ...Object.values(attempt.logs)];
  const hashes = new Map(
    await Promise.all(ids.map(async (id) => [id, (await store.artifacts.ref(id)).sha256] as const)),
  );
  const record = stepRunRecord(state, {
    step: options.step,
    attempt: options.attempt,
    kind: options.kind,
    sha256Of: (id) => hashes.get(id) ?? null,
    redactor: options.redactor,
  });
  const ref = await store.artifacts.putJson(runId, record, {
    type: STEP_RUN_RECORD_TYPE,
    name,
    producer: { id: "lily", kind: "system" },
  });
  return ref.artifact_id;
}
