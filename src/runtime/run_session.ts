/**
 * A session on a run: its lease held, its journal open, its events read.
 * The run loop, a human decision and a cancel all change a run this way, so
 * nothing is appended to a journal by a process that does not hold the run.
 *
 * @module
 */

import { type Clock, systemClock } from "../core/clock.ts";
import type { Store } from "../store/store.ts";
import type { RunEvent } from "./run_events.ts";
import type { Durability } from "./durability.ts";
import { RunJournal } from "./run_journal.ts";

/** What a session holds while its callback runs. */
export interface RunSession {
  /** The run's journal, open for appending. */
  readonly journal: RunJournal;
  /** The events already in it. */
  readonly events: RunEvent[];
}

/** Options of {@linkcode withRunSession}. */
export interface RunSessionOptions {
  /**
   * The clock that stamps the lease and the events.
   * @default {systemClock}
   */
  readonly clock?: Clock;
  /**
   * How durable an appended event is before its append resolves.
   * @default {"fsync"}
   */
  readonly durability?: Durability;
}

/**
 * Takes the run's lease, opens its journal, runs `fn`, then closes the
 * journal and releases the lease (also when `fn` throws).
 *
 * @param store The open store.
 * @param runId The run.
 * @param fn What to do while holding the run.
 * @param options The clock and the journal's durability.
 * @returns What `fn` returns.
 * @throws {ConflictError} When another live process holds the run.
 * @throws {IntegrityError} When the journal is damaged.
 */
export async function withRunSession<T>(
  store: Store,
  runId: string,
  fn: (session: RunSession) => Promise<T>,
  options: RunSessionOptions = {},
): Promise<T> {
  const clock = options.clock ?? systemClock;
  const lease = await store.leases.acquire(runId, { clock });
  try {
    const { journal, events } = await RunJournal.open(store.events, runId, {
      clock,
      durability: options.durability,
    });
    try {
      return await fn({ journal, events });
    } finally {
      journal.close();
    }
  } finally {
    lease.release();
  }
}
