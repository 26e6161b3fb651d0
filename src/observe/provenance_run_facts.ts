/**
 * Turns what the store holds about one run into {@linkcode RunFacts}: its
 * journal's attempts (with the inputs and hashes `attempt_started`
 * recorded, the outputs `attempt_finished` committed and the gates
 * `gate_finished` recorded) and the payloads of its annotation artifacts.
 * Pure: the kernel reads, these decide what the bytes say.
 *
 * @module
 */

import type { GateRecord, InputRecord } from "../runtime/run_events.ts";
import type { LogCodec } from "../store/ports.ts";
import type {
  AttemptFacts,
  EnvironmentFacts,
  EvaluationFacts,
  ReplacementFacts,
  RunFacts,
  ViolationFacts,
} from "./provenance_facts.ts";

/**
 * The journal events provenance reads, with the fields it reads; every
 * other event is `other`. (`run_events.ts` documents the events in full.)
 */
export type ProvenanceEvent =
  | {
    readonly type: "run_started";
    readonly workflow_name: string;
    readonly inputs: Readonly<Record<string, string>>;
    readonly environment_snapshot?: string;
  }
  | { readonly type: "runner_started" }
  | { readonly type: "run_finished"; readonly status: string }
  | {
    readonly type: "attempt_started";
    readonly step: string;
    readonly attempt: number;
    readonly at: string;
    readonly cause?: string;
    readonly inputs?: Readonly<Record<string, InputRecord>>;
    readonly supersedes?: number;
  }
  | {
    readonly type: "attempt_finished";
    readonly step: string;
    readonly attempt: number;
    readonly at: string;
    readonly status: string;
    readonly exit_code: number | null;
    readonly outputs: Readonly<Record<string, string>>;
    readonly violations?: readonly string[];
  }
  | {
    readonly type: "attempt_recorded";
    readonly step: string;
    readonly attempt: number;
    readonly record: string;
  }
  | {
    readonly type: "gate_finished";
    readonly step: string;
    readonly attempt: number;
    readonly gate: GateRecord;
  }
  | { readonly type: "other" };

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** The JSON types a read field may need. */
type FieldType = "string" | "number" | "object";

const HAS_TYPE: Readonly<Record<FieldType, (v: unknown) => boolean>> = {
  string: (v) => typeof v === "string",
  number: (v) => typeof v === "number",
  object: isObject,
};

/** The fields each read event must have, with their JSON type (`object`: a JSON object). */
const REQUIRED: Readonly<Record<string, Readonly<Record<string, FieldType>>>> = {
  run_started: { workflow_name: "string", inputs: "object" },
  runner_started: {},
  run_finished: { status: "string" },
  attempt_started: { step: "string", attempt: "number", at: "string" },
  attempt_finished: {
    step: "string",
    attempt: "number",
    at: "string",
    status: "string",
    outputs: "object",
  },
  attempt_recorded: { step: "string", attempt: "number", record: "string" },
  gate_finished: { step: "string", attempt: "number", gate: "object" },
};

/**
 * Reads journal lines for provenance: each must be a JSON object with a
 * `type`, and the events provenance reads must carry the fields it reads
 * with the right JSON types. Lighter than the run-event schema (which the
 * runner and `lily verify` apply): a 1,000-step run's journal is read in a
 * fraction of the time, and a line the schema would refuse for a field
 * provenance does not read is still read.
 */
export const PROVENANCE_EVENT_CODEC: LogCodec<ProvenanceEvent> = {
  label: "Run journal",
  parse(value) {
    if (!isObject(value) || typeof value.type !== "string") {
      return { problem: "expected an event: a JSON object with a type" };
    }
    const required = REQUIRED[value.type];
    if (required === undefined) return { entry: { type: "other" } };
    for (const [field, type] of Object.entries(required)) {
      const v = value[field];
      if (!HAS_TYPE[type](v)) {
        return { problem: `${value.type}: $.${field}: expected ${type}` };
      }
    }
    return { entry: value as unknown as ProvenanceEvent };
  },
};

interface MutableAttempt {
  step: string;
  attempt: number;
  cause: string | null;
  supersedes: number | null;
  record_id: string | null;
  status: string;
  started_at: string;
  ended_at: string | null;
  exit_code: number | null;
  inputs: AttemptFacts["inputs"];
  outputs: Readonly<Record<string, string>>;
  gates: GateRecord[];
  violations: readonly string[];
}

/**
 * Reads the attempts out of a run's journal.
 *
 * @param runId The run.
 * @param events Its journal, in order, as {@linkcode PROVENANCE_EVENT_CODEC} reads it.
 * @param annotations The run's violations, gates-only evaluations and environment snapshot.
 * @returns The run's facts.
 */
export function runFactsFromEvents(
  runId: string,
  events: readonly ProvenanceEvent[],
  annotations: {
    readonly violations: readonly ViolationFacts[];
    readonly evaluations: readonly EvaluationFacts[];
    readonly environment: EnvironmentFacts | null;
  },
): RunFacts {
  const attempts: MutableAttempt[] = [];
  const byKey = new Map<string, MutableAttempt>();
  let workflowName: string | null = null;
  let inputs: Readonly<Record<string, string>> = {};
  let status = "created";
  for (const event of events) {
    if (event.type === "run_started") {
      workflowName = event.workflow_name;
      inputs = event.inputs;
      status = "running";
    } else if (event.type === "runner_started") {
      status = "running";
    } else if (event.type === "run_finished") {
      status = event.status;
    } else if (event.type === "attempt_started") {
      const attempt: MutableAttempt = {
        step: event.step,
        attempt: event.attempt,
        cause: event.cause ?? null,
        supersedes: typeof event.supersedes === "number" ? event.supersedes : null,
        record_id: null,
        status: "running",
        started_at: event.at,
        ended_at: null,
        exit_code: null,
        inputs: event.inputs ?? {},
        outputs: {},
        gates: [],
        violations: [],
      };
      attempts.push(attempt);
      byKey.set(`${event.step}#${event.attempt}`, attempt);
    } else if (event.type === "attempt_finished") {
      const attempt = byKey.get(`${event.step}#${event.attempt}`);
      if (attempt === undefined) continue;
      attempt.status = event.status;
      attempt.ended_at = event.at;
      attempt.exit_code = typeof event.exit_code === "number" ? event.exit_code : null;
      attempt.outputs = event.outputs;
      attempt.violations = event.violations ?? [];
    } else if (event.type === "attempt_recorded") {
      const attempt = byKey.get(`${event.step}#${event.attempt}`);
      if (attempt !== undefined) attempt.record_id = event.record;
    } else if (event.type === "gate_finished") {
      byKey.get(`${event.step}#${event.attempt}`)?.gates.push(event.gate);
    }
  }
  return {
    run_id: runId,
    workflow_name: workflowName,
    status,
    inputs,
    attempts,
    violations: annotations.violations,
    evaluations: annotations.evaluations,
    environment: annotations.environment,
  };
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/**
 * Reads a `policy_violation.v1` payload (fields in `docs/schemas.md`).
 *
 * @param artifactId The violation artifact.
 * @param payload Its JSON payload.
 * @returns The violation's facts.
 */
export function violationFacts(artifactId: string, payload: unknown): ViolationFacts {
  const p = (payload ?? {}) as Record<string, unknown>;
  return {
    artifact_id: artifactId,
    step_id: text(p.step_id),
    gate_id: typeof p.gate_id === "string" ? p.gate_id : null,
    attempt: typeof p.attempt === "number" ? p.attempt : 0,
    kind: text(p.kind),
    target: text(p.target),
    message: text(p.message),
  };
}

/**
 * The environment snapshot a run's journal names (`run_started`).
 *
 * @param events The run's journal.
 * @returns The snapshot's artifact id, or `null` for a run started without one.
 */
export function journaledSnapshot(events: readonly ProvenanceEvent[]): string | null {
  const started = events.find((e) => e.type === "run_started");
  return started?.type === "run_started" && typeof started.environment_snapshot === "string"
    ? started.environment_snapshot
    : null;
}

/**
 * The gate results a run's journal names (each attempt's `gate_finished`):
 * any other `gate_result.v1` of the run is a gates-only evaluation.
 *
 * @param events The run's journal.
 * @returns The result ids.
 */
export function journaledGateResults(events: readonly ProvenanceEvent[]): Set<string> {
  return new Set(events.flatMap((e) => e.type === "gate_finished" ? [e.gate.result_id] : []));
}

/**
 * Reads a `gate_result.v1` payload as a gates-only evaluation.
 *
 * @param result The result artifact's id, inputs and creation time.
 * @param payload Its JSON payload.
 * @returns The evaluation's facts.
 */
export function evaluationFacts(
  result: {
    readonly artifact_id: string;
    readonly input_artifact_refs: readonly string[];
    readonly created_at: string;
  },
  payload: unknown,
): EvaluationFacts {
  const p = (payload ?? {}) as Record<string, unknown>;
  return {
    result_id: result.artifact_id,
    gate_id: text(p.gate_id),
    status: text(p.status),
    required: p.required !== false,
    inputs: result.input_artifact_refs,
    evaluated_at: result.created_at,
  };
}

/**
 * Reads an environment snapshot's payload.
 *
 * @param artifactId The snapshot artifact.
 * @param payload Its JSON payload.
 * @returns The environment's facts.
 */
export function environmentFacts(artifactId: string, payload: unknown): EnvironmentFacts {
  const snapshot = payload !== null && typeof payload === "object" && !Array.isArray(payload)
    ? payload as Record<string, unknown>
    : {};
  return { artifact_id: artifactId, snapshot };
}

/**
 * Reads an `artifact_replacement.v1` payload (fields in `docs/schemas.md`).
 *
 * @param record The record artifact and its run.
 * @param payload Its JSON payload.
 * @returns The replacement's facts.
 */
export function replacementFacts(
  record: { readonly artifact_id: string; readonly run_id: string },
  payload: unknown,
): ReplacementFacts {
  const p = (payload ?? {}) as Record<string, unknown>;
  return {
    record_id: record.artifact_id,
    run_id: record.run_id,
    original_artifact_id: text(p.original_artifact_id),
    replacement_artifact_id: text(p.replacement_artifact_id),
    reason: text(p.reason),
    replaced_at: text(p.replaced_at),
    replaced_by: typeof p.replaced_by === "string" ? p.replaced_by : null,
  };
}
