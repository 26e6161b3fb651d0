/**
 * The read models of runs — what `lily run list` and `lily run show` print
 * and what a web UI would show — assembled once from the store and the run
 * journals, so no front end rebuilds them.
 *
 * @module
 */

import type { ContractStore } from "../contracts/contract_store.ts";
import { LilyError } from "../core/errors.ts";
import type { RunEvent, RunState } from "../runtime/run_events.ts";
import { readJournal } from "../runtime/run_journal.ts";
import { readRunState } from "../runtime/run_starter.ts";
import type { RunManifest } from "../store/run_manifest.ts";
import { pendingRetries, type PendingRetry } from "./pending_retry.ts";
import { readRunRecords, type RunRecords } from "../observe/run_records.ts";
import { type LogExcerpt, readGateResult, readLogExcerpt } from "./run_logs.ts";
import type { ReplayEvent } from "./run_history.ts";

/** One run of the workspace, as a run list shows it. */
export type RunSummary =
  | {
    /** The run. */
    readonly run_id: string;
    /** Its manifest. */
    readonly manifest: RunManifest;
    /** The manifest says `running` but no runner holds the run: resume it. */
    readonly orphaned: boolean;
  }
  | {
    /** The run directory's name. */
    readonly run_id: string;
    /** Why its manifest could not be read. */
    readonly error: string;
  };

/** A human gate of a run: waiting, or decided with who, when and why. */
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
  /** When (ISO 8601). */
  readonly decided_at: string | null;
  /** Why, as given with the decision. */
  readonly reason: string | null;
}

/** A failed step's last attempt, or one of its failed required gates. */
export interface FailureView {
  /** The step. */
  readonly step: string;
  /** Its last attempt. */
  readonly attempt: number;
  /** The failed required gate, or `null` when the attempt itself failed. */
  readonly gate_id: string | null;
  /** What failed, in words. */
  readonly message: string;
  /** The gate's reasons (empty for an attempt). */
  readonly reasons: readonly string[];
  /** The end of the attempt's or gate's log, or `null` when there is none. */
  readonly log: LogExcerpt | null;
}

/** Everything known about one run. */
export interface RunDescription {
  /** The run's manifest (its status re-derived when a dead runner left it stale). */
  readonly manifest: RunManifest;
  /** The run's directory. */
  readonly path: string;
  /** How many artifacts of each type the run holds. */
  readonly artifact_counts: Readonly<Record<string, number>>;
  /** How many artifacts the run holds in all. */
  readonly artifact_total: number;
  /** Whether a runner holds the run now. */
  readonly runner_alive: boolean;
  /** The manifest says `running` but no runner holds the run: resume it. */
  readonly orphaned: boolean;
  /** The folded journal (an empty state for a run that never started a workflow). */
  readonly state: RunState;
  /** Whether the run was started from a workflow (else it was only created). */
  readonly has_workflow: boolean;
  /** Why the run ended, once (see {@linkcode endReason}), or `null`. */
  readonly end_reason: string | null;
  /** The run's human gates, in journal order. */
  readonly human_gates: readonly HumanGateView[];
  /** Failed steps' last attempts and failed required gates, in step order. */
  readonly failures: readonly FailureView[];
  /** The routes (`on_fail`) the run took, in journal order. */
  readonly routes: readonly RouteTaken[];
  /** The retries a live runner is waiting out (its backoff), in journal order. */
  readonly pending_retries: readonly PendingRetry[];
  /** The reruns and replacements the run took, in journal order. */
  readonly replays: readonly ReplayEvent[];
  /** The run's environment snapshot and the `step_run_record.v1` of every recorded attempt. */
  readonly records: RunRecords;
}

/** A route the run took: its `route_taken` event. */
export type RouteTaken = Extract<RunEvent, { type: "route_taken" }>;

/**
 * Says why a run ended, once: for failed steps which step and attempt (the
 * attempt's message is told with the attempt, with its log) and the
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

/**
 * Lists the runs of a store, oldest first, marking those a dead runner left
 * `running`; a run whose journal ended is shown with the journal's status.
 *
 * @param store The open store.
 * @returns One summary per run directory.
 */
export async function listRunSummaries(store: ContractStore): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  for (const r of await store.runs.list()) {
    if (!("manifest" in r)) {
      out.push({ run_id: r.run_id, error: r.error });
      continue;
    }
    if (r.manifest.status !== "running" || await store.leases.isLive(r.run_id)) {
      out.push({ run_id: r.run_id, manifest: r.manifest, orphaned: false });
    } else out.push(await journalTruth(store, r.run_id));
  }
  return out;
}

/**
 * A `running` run without a live runner, as its journal tells it: a runner
 * killed after `run_finished` left the manifest stale, which reading the
 * state re-derives; a run still running by its journal is orphaned.
 */
async function journalTruth(store: ContractStore, runId: string): Promise<RunSummary> {
  try {
    const state = await readRunState(store, runId);
    const manifest = await store.runs.get(runId);
    // The journal's status, even when re-deriving the manifest's failed (a read-only store).
    if (state.status !== "running" && state.status !== "created") {
      return { run_id: runId, manifest: { ...manifest, status: state.status }, orphaned: false };
    }
    return { run_id: runId, manifest, orphaned: true };
  } catch (err) {
    if (!(err instanceof LilyError)) throw err;
    return { run_id: runId, error: err.message };
  }
}

/**
 * Describes a run: manifest, counts, state, liveness, human gates and failures.
 *
 * @param store The open store.
 * @param runId The run.
 * @param now The current time (for how long a pending retry still waits).
 * @returns The description.
 * @throws {NotFoundError} When there is no such run.
 */
export async function describeRunIn(
  store: ContractStore,
  runId: string,
  now: Date = new Date(),
): Promise<RunDescription> {
  // Read first: it re-derives a manifest status a dead runner left stale.
  const state = await readRunState(store, runId);
  const manifest = await store.runs.get(runId);
  const events = (await readJournal(store.events, runId)).events;
  const counts = await store.index.countByType(runId);
  const live = await store.leases.isLive(runId);
  return {
    manifest,
    path: store.runs.location(runId),
    artifact_counts: counts,
    artifact_total: Object.values(counts).reduce((a, b) => a + b, 0),
    runner_alive: live,
    orphaned: manifest.status === "running" && !live,
    state,
    has_workflow: state.workflow_ref !== null,
    end_reason: endReason(state),
    human_gates: await humanGates(store, state, events),
    failures: await failures(store, state),
    routes: events.filter((e): e is RouteTaken => e.type === "route_taken"),
    pending_retries: live ? pendingRetries(state, events, now) : [],
    replays: events.filter((e): e is ReplayEvent =>
      e.type === "rerun_requested" || e.type === "artifact_replaced"
    ),
    records: await readRunRecords(store, state),
  };
}

/** Failed steps' last attempts and their failed required gates, with log excerpts. */
async function failures(store: ContractStore, state: RunState): Promise<FailureView[]> {
  const out: FailureView[] = [];
  for (const [id, step] of Object.entries(state.steps)) {
    const last = step.attempts.at(-1);
    if (step.status !== "failed" || !last) continue;
    if (last.status !== "succeeded") {
      out.push({
        step: id,
        attempt: last.attempt,
        gate_id: null,
        message: last.message ?? `attempt ${last.status}`,
        reasons: [],
        log: await readLogExcerpt(store, last.logs),
      });
    }
    for (const gate of Object.values(last.gates)) {
      if (!gate.required || (gate.status !== "fail" && gate.status !== "error")) continue;
      const result = await readGateResult(store, gate.result_id);
      out.push({
        step: id,
        attempt: last.attempt,
        gate_id: gate.gate_id,
        // The message says what the text says, the gate's reasons included.
        message: `required gate ${gate.gate_id}: ${gate.status}` +
          (result.reasons.length > 0 ? ` (${result.reasons.join("; ")})` : ""),
        reasons: result.reasons,
        log: await readLogExcerpt(store, {
          stderr: result.stderr_artifact_id,
          stdout: result.stdout_artifact_id,
        }),
      });
    }
  }
  return out;
}

/** A run's human gates: those it waits on and those decided, in journal order. */
async function humanGates(
  store: ContractStore,
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
    const result = await readGateResult(store, record.result_id);
    const verb = result.status === "pass" ? "approved" : "rejected";
    const ref = await store.artifacts.ref(record.result_id);
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
