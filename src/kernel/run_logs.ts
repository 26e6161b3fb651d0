/**
 * What a person needs to act on a failed attempt or gate: the last lines of
 * its log (read from the end of the file, never the whole of it) and the
 * gate's stated reasons. Data only; the CLI and a web UI word it.
 *
 * @module
 */

import type { Store } from "../store/store.ts";
import type { GateResultPayload } from "../gates/gate_evaluator.ts";

/** How many trailing log lines a failure shows. */
const TAIL_LINES = 10;

/** How many trailing bytes of a log are read to find its last lines. */
const TAIL_BYTES = 64 * 1024;

/** The end of a captured log, as a failure shows it. */
export interface LogExcerpt {
  /** Which stream: stderr is preferred, stdout is shown when stderr is empty. */
  readonly stream: "stderr" | "stdout";
  /** The `log.v1` artifact holding the whole stream. */
  readonly artifact_id: string;
  /** How the artifact is stored (`file` logs have a path; others are printed). */
  readonly storage_kind: string;
  /** The last lines, at most 10, without their newlines. */
  readonly lines: readonly string[];
  /** How many lines the log has in all, or `null` when only its tail was read. */
  readonly total: number | null;
}

/** A failed or errored gate's reasons and log. */
export interface GateFailure {
  /** The gate's reasons, as stored in its result. */
  readonly reasons: readonly string[];
  /** The end of its log, or `null` when it captured none. */
  readonly log: LogExcerpt | null;
}

/**
 * Reads the last lines of a log artifact without reading the whole file.
 *
 * @param store The open store.
 * @param logId The `log.v1` artifact.
 * @param max At most this many lines.
 * @returns The lines, and how many the log has in all when that is known
 * (`null` when only the tail was read).
 */
async function logTail(
  store: Store,
  logId: string,
  max: number,
): Promise<{ lines: string[]; total: number | null }> {
  const { bytes, offset } = await store.artifacts.readTail(logId, TAIL_BYTES);
  const all = new TextDecoder().decode(bytes).replace(/\n$/, "").split("\n");
  if (offset > 0) all.shift();
  return { lines: all.slice(-max), total: offset === 0 ? all.length : null };
}

/**
 * Reads the end of the log of a failed attempt or gate.
 *
 * @param store The open store.
 * @param logs Log artifact ids by stream (`stdout`, `stderr`).
 * @returns The excerpt of stderr, else of stdout, else `null` when there is no log
 * (or gc removed it).
 */
export async function readLogExcerpt(
  store: Store,
  logs: Readonly<Record<string, string | null | undefined>>,
): Promise<LogExcerpt | null> {
  const stream = logs.stderr ? "stderr" : logs.stdout ? "stdout" : undefined;
  if (stream === undefined) return null;
  const id = logs[stream]!;
  if (await store.index.collection(id)) return null;
  const { lines, total } = await logTail(store, id, TAIL_LINES);
  return {
    stream,
    artifact_id: id,
    storage_kind: (await store.artifacts.ref(id)).storage_kind,
    lines,
    total,
  };
}

/**
 * Reads a gate's stored result.
 *
 * @param store The open store.
 * @param resultId The `gate_result.v1` artifact.
 * @returns The payload.
 */
export async function readGateResult(store: Store, resultId: string): Promise<GateResultPayload> {
  return (await store.artifacts.get(resultId)).value as GateResultPayload;
}

/**
 * Reads why a gate failed: its reasons and the end of its log.
 *
 * @param store The open store.
 * @param resultId The `gate_result.v1` artifact.
 * @returns The reasons and the log excerpt.
 */
export async function readGateFailure(store: Store, resultId: string): Promise<GateFailure> {
  const result = await readGateResult(store, resultId);
  return {
    reasons: result.reasons,
    log: await readLogExcerpt(store, {
      stderr: result.stderr_artifact_id,
      stdout: result.stdout_artifact_id,
    }),
  };
}
