/**
 * `lily logs`: the output a run's attempts and gates captured, read from the
 * run's live log files (`logs/<label>.<stream>.log`, written as the output
 * arrives) through the store, once or while the run is live. Which
 * attempts and gates exist is read from the run's journal: an attempt from
 * its `attempt_started`, a gate from its `gate_spawned` or `gate_finished`.
 *
 * @module
 */

import { NotFoundError, UsageError } from "../core/errors.ts";
import type { RunEvent, RunState } from "../runtime/run_events.ts";
import { foldEvents } from "../runtime/run_events.ts";
import {
  attemptLabel,
  gateLabel,
  LOG_STREAMS,
  logFileName,
  type LogStream,
} from "../runtime/log_names.ts";
import type { Store } from "../store/store.ts";
import { pollRun, type RunEnd, runnerGone } from "./run_follow.ts";

/** Which output `lily logs` prints; every given field must match. */
export interface LogFilter {
  /** Only this step's attempts and the gates that judged them. */
  readonly step?: string;
  /** Only this attempt (with `step`). */
  readonly attempt?: number;
  /** Only this stream. */
  readonly stream?: LogStream;
}

/** Where a piece of output comes from. */
export interface LogSource {
  /** The step. */
  readonly step: string;
  /** Its attempt. */
  readonly attempt: number;
  /** The gate that judged the attempt, or `null` for the attempt's own output. */
  readonly gate_id: string | null;
  /** The stream. */
  readonly stream: LogStream;
}

/** Options of {@linkcode readRunLogs}. */
export interface RunLogOptions extends LogFilter {
  /** Keep reading while the run is live, until its runner stops. */
  readonly follow?: boolean;
  /**
   * How long a follower waits between reads, in ms.
   * @default {100}
   */
  readonly pollMs?: number;
  /** Stops following when aborted. */
  readonly signal?: AbortSignal;
}

/** What {@linkcode readRunLogs} yields. */
export type RunLogItem =
  | {
    /** New output of one source, decoded as UTF-8 (a sequence split between reads is kept whole). */
    readonly kind: "output";
    readonly source: LogSource;
    readonly text: string;
  }
  | {
    /** The last item: the run's status when the reading stopped, and how it ended when it did. */
    readonly kind: "end";
    readonly status: RunState["status"];
    readonly end: RunEnd | null;
  };

interface Tracked {
  readonly source: LogSource;
  readonly file: string;
  offset: number;
  readonly decoder: TextDecoder;
}

/** Checks a filter against the run's steps and attempts. */
function checkFilter(runId: string, filter: LogFilter, events: readonly RunEvent[]): void {
  if (filter.attempt !== undefined && filter.step === undefined) {
    throw new UsageError("--attempt needs --step: attempts are numbered per step");
  }
  if (filter.step === undefined) return;
  const started = events.find((e) => e.type === "run_started");
  const steps = started?.type === "run_started" ? started.step_ids : [];
  if (!steps.includes(filter.step)) {
    throw new NotFoundError(
      `Run ${runId} has no step ${filter.step}; its steps: ${steps.join(", ") || "none"}`,
    );
  }
}

/** The error for an attempt the run never started. */
function noAttempt(runId: string, filter: LogFilter, events: readonly RunEvent[]): NotFoundError {
  const attempts = events.flatMap((e) =>
    e.type === "attempt_started" && e.step === filter.step ? [e.attempt] : []
  );
  return new NotFoundError(
    `Step ${filter.step} of run ${runId} has no attempt ${filter.attempt}; its attempts: ` +
      (attempts.join(", ") || "none yet"),
  );
}

/** The sources an event makes known, in the order they are shown. */
function sourcesOf(event: RunEvent): { step: string; attempt: number; gate_id: string | null }[] {
  switch (event.type) {
    case "attempt_started":
      return [{ step: event.step, attempt: event.attempt, gate_id: null }];
    case "gate_spawned":
      return [{ step: event.step, attempt: event.attempt, gate_id: event.gate_id }];
    case "gate_finished":
      return [{ step: event.step, attempt: event.attempt, gate_id: event.gate.gate_id }];
    default:
      return [];
  }
}

function matches(source: LogSource, filter: LogFilter): boolean {
  return (filter.step === undefined || source.step === filter.step) &&
    (filter.attempt === undefined || source.attempt === filter.attempt) &&
    (filter.stream === undefined || source.stream === filter.stream);
}

/** Adds the sources new events make known, keeping each once. */
function track(
  tracked: Map<string, Tracked>,
  events: readonly RunEvent[],
  filter: LogFilter,
): void {
  for (const event of events) {
    for (const where of sourcesOf(event)) {
      const label = where.gate_id === null
        ? attemptLabel(where.step, where.attempt)
        : gateLabel(where.gate_id, where.step, where.attempt);
      for (const stream of LOG_STREAMS) {
        const source = { ...where, stream };
        const file = logFileName(label, stream);
        if (!matches(source, filter) || tracked.has(file)) continue;
        tracked.set(file, { source, file, offset: 0, decoder: new TextDecoder() });
      }
    }
  }
}

/**
 * Reads what a source's file gained since the last read, a chunk (at most
 * 1 MiB) at a time, so a large log never has to fit in memory.
 */
async function* drain(store: Store, runId: string, t: Tracked, final: boolean) {
  while (true) {
    const chunk = await store.runs.readLiveLog(runId, t.file, t.offset);
    if (chunk === undefined || chunk.bytes.length === 0) break;
    t.offset += chunk.bytes.length;
    yield t.decoder.decode(chunk.bytes, { stream: true });
    if (t.offset >= chunk.size) break;
  }
  if (final) yield t.decoder.decode();
}

/** Orders sources as `lily logs` prints them: by step (declaration order), attempt, then gate. */
function blockOrder(events: readonly RunEvent[]): (a: Tracked, b: Tracked) => number {
  const started = events.find((e) => e.type === "run_started");
  const steps = started?.type === "run_started" ? started.step_ids : [];
  const rank = (t: Tracked) => steps.indexOf(t.source.step);
  return (a, b) =>
    rank(a) - rank(b) || a.source.attempt - b.source.attempt ||
    Number(a.source.gate_id !== null) - Number(b.source.gate_id !== null);
}

/**
 * Reads the captured output of a run's attempts and gates: without
 * `follow`, everything captured so far, by step in declaration order, then
 * attempt, the attempt's own streams before its gates'; with `follow`, that
 * first, then new output as it is written, until the run's runner stops.
 *
 * @param store The open store.
 * @param runId The run.
 * @param options The filter, and how to follow.
 * @returns The output, piece by piece, then one `end` item.
 * @throws {NotFoundError} When there is no such run, step or attempt.
 * @throws {UsageError} For `attempt` without `step`.
 * @throws {RunnerGoneError} When following a run that has not finished and no runner runs.
 */
export async function* readRunLogs(
  store: Store,
  runId: string,
  options: RunLogOptions = {},
): AsyncGenerator<RunLogItem> {
  const filter: LogFilter = {
    step: options.step,
    attempt: options.attempt,
    stream: options.stream,
  };
  const tracked = new Map<string, Tracked>();
  const events: RunEvent[] = [];
  let checked = false;
  for await (const poll of pollRun(store, runId, { ...options, follow: options.follow ?? false })) {
    const first = !checked;
    events.push(...poll.events);
    if (first) checkFilter(runId, filter, events);
    checked = true;
    track(tracked, poll.events, filter);
    const final = poll.state !== "live";
    const order = [...tracked.values()];
    if (first) order.sort(blockOrder(events));
    for (const t of order) {
      for await (const text of drain(store, runId, t, final)) {
        if (text.length > 0) yield { kind: "output", source: t.source, text };
      }
    }
    if (!final) continue;
    if (filter.attempt !== undefined && tracked.size === 0) throw noAttempt(runId, filter, events);
    if (poll.state === "gone") throw runnerGone(runId);
    yield { kind: "end", status: foldEvents(runId, events).status, end: poll.end };
  }
}
