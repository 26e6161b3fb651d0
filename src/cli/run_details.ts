/**
 * What a person needs to act on a failed attempt or gate, or on a human
 * gate: the last lines of its log, the command that prints the whole log,
 * the gate's prompt and the decision taken on it.
 *
 * @module
 */

import type { Store } from "../store/store.ts";
import type { GateResultPayload } from "../gates/gate_evaluator.ts";
import type { RunEvent, RunState } from "../runtime/run_events.ts";

/** How many trailing log lines a failure shows. */
export const TAIL_LINES = 10;

/** How many trailing bytes of a log are read to find its last lines. */
const TAIL_BYTES = 64 * 1024;

/** Spells a `lily` command so that it works as typed. */
export type CommandHint = (args: readonly string[]) => string;

/**
 * Reads the last lines of a log artifact without reading the whole file.
 *
 * @param store The open store.
 * @param logId The `log.v1` artifact.
 * @param max At most this many lines.
 * @returns The lines, and how many the log has in all when that is known
 * (`null` when only the tail was read).
 */
export async function logTail(
  store: Store,
  logId: string,
  max: number = TAIL_LINES,
): Promise<{ lines: string[]; total: number | null }> {
  const { path } = await store.artifacts.payloadPath(logId);
  using file = await Deno.open(path);
  const size = (await file.stat()).size;
  const start = Math.max(0, size - TAIL_BYTES);
  await file.seek(start, Deno.SeekMode.Start);
  const bytes = new Uint8Array(size - start);
  let read = 0;
  while (read < bytes.length) {
    const n = await file.read(bytes.subarray(read));
    if (n === null) break;
    read += n;
  }
  const all = new TextDecoder().decode(bytes.subarray(0, read)).replace(/\n$/, "").split("\n");
  if (start > 0) all.shift();
  return { lines: all.slice(-max), total: start === 0 ? all.length : null };
}

/**
 * Describes the log of a failed attempt or gate: its last lines and the
 * command that prints all of it. stderr is preferred; stdout is shown when
 * stderr is empty.
 *
 * @param store The open store.
 * @param logs Log artifact ids by stream (`stdout`, `stderr`).
 * @param hint Spells a command.
 * @param indent Prefix of every line.
 * @returns The lines (none when there is no log).
 */
export async function logDetails(
  store: Store,
  logs: Readonly<Record<string, string | null | undefined>>,
  hint: CommandHint,
  indent: string,
): Promise<string[]> {
  const stream = logs.stderr ? "stderr" : logs.stdout ? "stdout" : undefined;
  if (stream === undefined) return [];
  const id = logs[stream]!;
  const { lines, total } = await logTail(store, id);
  const of = total === null
    ? `last ${lines.length} lines`
    : total > lines.length
    ? `last ${lines.length} of ${total} lines`
    : lines.length === 1
    ? "1 line"
    : `${lines.length} lines`;
  const ref = store.artifacts.ref(id);
  const command = ref.storage_kind === "file"
    ? `cat "$(${hint(["artifact", "path", id])})"`
    : hint(["artifact", "get", id]);
  return [
    `${indent}${stream} (${of}):`,
    ...lines.map((line) => `${indent}  ${line}`),
    `${indent}whole ${stream}: ${command}`,
  ];
}

/**
 * Reads a gate's stored result.
 *
 * @param store The open store.
 * @param resultId The `gate_result.v1` artifact.
 * @returns The payload.
 */
export async function gateResult(store: Store, resultId: string): Promise<GateResultPayload> {
  return (await store.artifacts.get(resultId)).value as GateResultPayload;
}

/**
 * Describes a failed or errored gate: its reasons, then its log.
 *
 * @param store The open store.
 * @param resultId The `gate_result.v1` artifact.
 * @param hint Spells a command.
 * @param indent Prefix of every line.
 * @returns The lines.
 */
export async function gateFailureDetails(
  store: Store,
  resultId: string,
  hint: CommandHint,
  indent: string,
): Promise<string[]> {
  const result = await gateResult(store, resultId);
  return [
    ...(result.reasons.length > 0 ? [`${indent}${result.reasons.join("; ")}`] : []),
    ...await logDetails(
      store,
      {
        stderr: result.stderr_artifact_id,
        stdout: result.stdout_artifact_id,
      },
      hint,
      indent,
    ),
  ];
}

/**
 * Says why a run ended, once: for failed steps which step and attempt (the
 * attempt's message is printed with the attempt, with its log) and the
 * decider's rule when one let it fail (a retry rule, a route's bound), else
 * the run's reason.
 *
 * @param state The run's state.
 * @returns E.g. `step test failed (attempt 2)`, or `null` when there is no reason.
 */
export function endReason(state: RunState): string | null {
  const failed = Object.entries(state.steps).filter(([, s]) => s.status === "failed");
  if (state.status === "failed" && failed.length > 0) {
    return failed.map(([id, s]) =>
      `step ${id} failed (attempt ${s.attempts.at(-1)?.attempt ?? 0})` +
      (s.reason ? `: ${s.reason}` : "")
    ).join(", ");
  }
  return state.reason;
}

/** A human gate of a run, as `run show` reports it. */
export interface HumanGateView {
  /** The step it judges. */
  readonly step: string;
  /** The attempt it judges. */
  readonly attempt: number;
  /** The gate. */
  readonly gate_id: string;
  /** What the person is asked (`null` for journals that did not record it). */
  readonly prompt: string | null;
  /** Where the decision is. */
  readonly status: "waiting" | "approved" | "rejected";
  /** Who decided. */
  readonly decided_by: string | null;
  /** When. */
  readonly decided_at: string | null;
  /** Why, as given with `--reason`. */
  readonly reason: string | null;
}

/**
 * Lists a run's human gates: those it waits on and those decided, with the
 * prompt and the decision's who, when and why.
 *
 * @param store The open store.
 * @param state The run's state.
 * @param events The run's journal.
 * @returns The gates, in journal order.
 */
export async function humanGates(
  store: Store,
  state: RunState,
  events: readonly RunEvent[],
): Promise<HumanGateView[]> {
  const out: HumanGateView[] = [];
  for (const event of events) {
    if (event.type !== "gate_waiting") continue;
    const attempt = state.steps[event.step]?.attempts.find((a) => a.attempt === event.attempt);
    const record = attempt?.gates[event.gate_id];
    const base = {
      step: event.step,
      attempt: event.attempt,
      gate_id: event.gate_id,
      prompt: event.prompt ?? null,
    };
    if (record === undefined) {
      if (attempt?.waiting_on !== event.gate_id) continue;
      out.push({ ...base, status: "waiting", decided_by: null, decided_at: null, reason: null });
      continue;
    }
    const result = await gateResult(store, record.result_id);
    const verb = result.status === "pass" ? "approved" : "rejected";
    const ref = store.artifacts.ref(record.result_id);
    out.push({
      ...base,
      status: verb,
      decided_by: result.decided_by ?? ref.producer_id,
      decided_at: ref.created_at,
      reason: result.reasons.find((r) => r !== verb) ?? null,
    });
  }
  return out;
}
