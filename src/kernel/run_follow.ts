/**
 * Following a run from another process: its journal is read from where the
 * last read got to (the store's `RunEventLog.readFrom`), every `pollMs`,
 * until the run's runner stops. The end is read from the journal and the
 * lease together: the lease is looked at first, then the journal, so a
 * runner that released its lease after its `run_finished` is always seen to
 * have finished, and a runner that died (its lease free, no `run_finished`
 * after its `runner_started`) is seen to be gone instead of waited on for
 * ever.
 *
 * @module
 */

import { crashPoint } from "../core/crash_point.ts";
import { sleep } from "../core/delay.ts";
import { LilyError } from "../core/errors.ts";
import type { RunEndStatus, RunEvent } from "../runtime/run_events.ts";
import { readJournalFrom } from "../runtime/run_journal.ts";
import { loadRunWorkflow } from "../runtime/run_starter.ts";
import { LOG_START } from "../store/ports.ts";
import type { Store } from "../store/store.ts";

/** How often a follower looks for new events and output, in ms. */
export const FOLLOW_POLL_MS = 100;

/** How a followed run ended. */
export interface RunEnd {
  /** The status its last `run_finished` recorded. */
  readonly status: RunEndStatus;
  /** Why, when it did not succeed. */
  readonly reason: string | null;
}

/** Options of {@linkcode pollRun}. */
export interface PollRunOptions {
  /** Keep reading until the runner stops; otherwise read once. */
  readonly follow: boolean;
  /**
   * How long to wait between reads, in ms.
   * @default {FOLLOW_POLL_MS}
   */
  readonly pollMs?: number;
  /** Stops following when aborted (the follower then just stops). */
  readonly signal?: AbortSignal;
}

/** One read of a followed run. */
export interface RunPoll {
  /** The events journaled since the last read. */
  readonly events: readonly RunEvent[];
  /**
   * `live` while a runner holds the run; `ended` once it stopped after its
   * `run_finished` (or, without `follow`, when the journal ends in one);
   * `idle` without `follow` otherwise; `gone` when no runner holds the run
   * and it has not finished (its runner was killed, or it never started).
   */
  readonly state: "live" | "ended" | "idle" | "gone";
  /** How it ended, for `ended`. */
  readonly end: RunEnd | null;
}

/** Why a follower stopped without the run having finished. */
export class RunnerGoneError extends LilyError {}

/**
 * The error a follower ends with when no runner holds an unfinished run.
 *
 * @param runId The run.
 * @returns The error, naming the command that continues the run.
 */
export function runnerGone(runId: string): RunnerGoneError {
  return new RunnerGoneError(
    `Run ${runId} has not finished and no runner is running it (its runner was killed or it ` +
      `never started); continue it with \`lily run resume ${runId}\``,
  );
}

function endOf(last: RunEvent | undefined): RunEnd | null {
  return last?.type === "run_finished" ? { status: last.status, reason: last.reason } : null;
}

/**
 * Reads a run's journal once, or follows it until its runner stops.
 *
 * @param store The open store.
 * @param runId The run.
 * @param options Whether to follow, how often, and when to stop.
 * @returns The reads, each with the events since the one before; the last
 * has state `ended`, `idle` or `gone` (or `live`, when the signal stopped it).
 * @throws {NotFoundError} When there is no such run.
 * @throws {UsageError} When following a run that was not started from a workflow.
 * @throws {ConflictError} When following a run whose start was interrupted before it journaled.
 */
export async function* pollRun(
  store: Store,
  runId: string,
  options: PollRunOptions,
): AsyncGenerator<RunPoll> {
  await store.runs.get(runId);
  let cursor = LOG_START;
  let last: RunEvent | undefined;
  let lookAgain = true;
  while (true) {
    const live = options.follow && (await store.leases.isLive(runId));
    if (options.follow) crashPoint("follow_lease_checked");
    const tail = await readJournalFrom(store.events, runId, cursor);
    cursor = tail.cursor;
    last = tail.entries.at(-1) ?? last;
    const end = endOf(last);
    if (!options.follow) {
      yield { events: tail.entries, state: end ? "ended" : "idle", end };
      return;
    }
    if (!live && end === null && lookAgain) {
      // A runner may have taken the run between the look at the lease and
      // the read (a rerun or a resume starting): look at both again, at once,
      // before saying that no runner runs it.
      lookAgain = false;
      yield { events: tail.entries, state: "live", end: null };
      continue;
    }
    lookAgain = true;
    if (!live) {
      // No event at all: a run of lily run new, or a start killed before it
      // journaled; loading its workflow throws the error that says which.
      if (last === undefined) await loadRunWorkflow(store, runId);
      yield { events: tail.entries, state: end ? "ended" : "gone", end };
      return;
    }
    yield { events: tail.entries, state: "live", end: null };
    if (options.signal?.aborted) return;
    await sleep(options.pollMs ?? FOLLOW_POLL_MS, options.signal);
    if (options.signal?.aborted) return;
  }
}

/** What {@linkcode followRunEvents} yields. */
export type RunFollowItem =
  | {
    /** One journaled event. */
    readonly kind: "event";
    readonly event: RunEvent;
  }
  | {
    /** The last item: how the run ended (`null` without `follow`, for a run not finished). */
    readonly kind: "end";
    readonly end: RunEnd | null;
  };

/**
 * A run's events, from the first, as they are journaled: once, or until its
 * runner stops.
 *
 * @param store The open store.
 * @param runId The run.
 * @param options Whether to follow, how often, and when to stop.
 * @returns Each event, then one `end` item.
 * @throws {NotFoundError} When there is no such run.
 * @throws {RunnerGoneError} When following a run that has not finished and no runner runs.
 */
export async function* followRunEvents(
  store: Store,
  runId: string,
  options: PollRunOptions,
): AsyncGenerator<RunFollowItem> {
  for await (const poll of pollRun(store, runId, options)) {
    for (const event of poll.events) yield { kind: "event", event };
    if (poll.state === "gone") throw runnerGone(runId);
    if (poll.state !== "live") yield { kind: "end", end: poll.end };
  }
}
