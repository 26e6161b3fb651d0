/**
 * Stores an attempt's `step_run_record.v1` (the effect next to the pure
 * `stepRunRecord`): looks up the indexed sha256 of its outputs and logs,
 * stores the record as a JSON artifact named `record.<step>.<attempt>`, and
 * returns its id for the `attempt_recorded` event. {@linkcode AttemptRecorder}
 * does so for a runner, off the critical path of the steps that follow. Reading records back is
 * `readRunRecords` in `src/observe/run_records.ts`.
 *
 * @module
 */

import type { Redactor } from "../core/redaction.ts";
import { crashPoint } from "../core/crash_point.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { Store } from "../store/store.ts";
import type { RunEventBody, RunState } from "./run_events.ts";
import { recordDue, STEP_RUN_RECORD_TYPE, stepRunRecord } from "./step_run_record.ts";

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
  // The record's index inputs are the artifacts it describes (read and
  // produced), so the index knows a kept run still refers to them: a cached
  // attempt's outputs belong to an earlier run, which gc then keeps.
  const described = [
    ...Object.values(attempt.inputs).map((input) => input.artifact_id),
    ...Object.values(attempt.outputs),
  ];
  const ref = await store.artifacts.putJson(runId, record, {
    type: STEP_RUN_RECORD_TYPE,
    name,
    producer: { id: "lily", kind: "system" },
    inputs: [...new Set(described)],
  });
  return ref.artifact_id;
}

/** What an {@linkcode AttemptRecorder} needs from its runner. */
export interface AttemptRecorderOptions {
  /** The run's redactor. */
  readonly redactor: Redactor;
  /** Journals an event (the runner's own, durable when it resolves). */
  readonly journal: (body: RunEventBody) => Promise<void>;
  /** Told when a record cannot be stored or journaled (the runner then stops). */
  readonly onError: (error: unknown) => void;
}

/**
 * A runner's record keeper: stores and journals each attempt's record once
 * the attempt is settled (see `recordDue`), at most once per attempt, in the
 * background so the steps that follow do not wait for it; `drain` waits for
 * all before the run's end is journaled.
 */
export class AttemptRecorder {
  readonly #store: Store;
  readonly #graph: WorkflowGraph;
  readonly #options: AttemptRecorderOptions;
  readonly #pending = new Map<string, Promise<void>>();
  #error: { error: unknown } | null = null;

  /**
   * @param store The store.
   * @param graph The run's workflow graph (the steps' gates and executor kinds).
   * @param options The redactor, the journal and the error handler.
   */
  constructor(store: Store, graph: WorkflowGraph, options: AttemptRecorderOptions) {
    this.#store = store;
    this.#graph = graph;
    this.#options = options;
  }

  /**
   * Records an attempt in the background when it is settled and has no record yet.
   *
   * @param state The run state.
   * @param step The step.
   * @param attempt The attempt.
   */
  settle(state: RunState, step: string, attempt: number): void {
    const work = this.#start(state, step, attempt, false);
    work?.catch((error) => {
      this.#error ??= { error };
      this.#options.onError(error);
    });
  }

  /**
   * Records an attempt now when it is settled and has no record yet, finding
   * a record stored before a crash instead of storing a second one.
   *
   * @param state The run state.
   * @param step The step.
   * @param attempt The attempt.
   */
  async settleNow(state: RunState, step: string, attempt: number): Promise<void> {
    await this.#start(state, step, attempt, true);
  }

  /**
   * Waits for every record in flight.
   *
   * @throws The first error a record met.
   */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled(this.#pending.values());
    if (this.#error !== null) throw this.#error.error;
  }

  #start(state: RunState, step: string, attempt: number, reuse: boolean): Promise<void> | null {
    const key = `${step}\u0000${attempt}`;
    const stepState = state.steps[step];
    const attemptState = stepState.attempts.find((a) => a.attempt === attempt);
    const gateIds = (this.#graph.gatesOf.get(step) ?? []).map((g) => g.id);
    if (this.#pending.has(key) || !attemptState || !recordDue(stepState, attemptState, gateIds)) {
      return null;
    }
    const spec = this.#graph.steps[this.#graph.indexOf.get(step)!];
    const work = (async () => {
      const record = await storeAttemptRecord(this.#store, state, {
        step,
        attempt,
        kind: spec.executor.kind,
        redactor: this.#options.redactor,
        reuse,
      });
      crashPoint("attempt_recording");
      await this.#options.journal({ type: "attempt_recorded", step, attempt, record });
    })().finally(() => this.#pending.delete(key));
    this.#pending.set(key, work);
    return work;
  }
}
