/**
 * Turns what the store holds about one run into {@linkcode RunFacts}: its
 * journal's attempts (with the inputs and hashes `attempt_started`
 * recorded, the outputs `attempt_finished` committed and the gates
 * `gate_finished` recorded) and the payloads of its annotation artifacts.
 * Pure: the kernel reads, these decide what the bytes say.
 *
 * @module
 */

import { foldEvents, type GateRecord, type RunEvent } from "../runtime/run_events.ts";
import type {
  AttemptFacts,
  EnvironmentFacts,
  ReplacementFacts,
  RunFacts,
  ViolationFacts,
} from "./provenance_facts.ts";

/** The annotation artifact types: shown on the nodes they describe, never nodes themselves. */
export const ANNOTATION_TYPES: ReadonlySet<string> = new Set([
  "gate_result.v1",
  "policy_violation.v1",
  "step_run_record.v1",
  "environment_snapshot.v1",
  "artifact_replacement.v1",
]);

interface MutableAttempt {
  step: string;
  attempt: number;
  cause: string | null;
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
 * @param events Its journal, in order.
 * @param annotations The run's violations and environment snapshot.
 * @returns The run's facts.
 */
export function runFactsFromEvents(
  runId: string,
  events: readonly RunEvent[],
  annotations: {
    readonly violations: readonly ViolationFacts[];
    readonly environment: EnvironmentFacts | null;
  },
): RunFacts {
  const attempts: MutableAttempt[] = [];
  const byKey = new Map<string, MutableAttempt>();
  let workflowName: string | null = null;
  let inputs: Readonly<Record<string, string>> = {};
  for (const event of events) {
    if (event.type === "run_started") {
      workflowName = event.workflow_name;
      inputs = event.inputs;
    } else if (event.type === "attempt_started") {
      const attempt: MutableAttempt = {
        step: event.step,
        attempt: event.attempt,
        cause: event.cause ?? null,
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
      attempt.exit_code = event.exit_code;
      attempt.outputs = event.outputs;
      attempt.violations = event.violations ?? [];
    } else if (event.type === "gate_finished") {
      byKey.get(`${event.step}#${event.attempt}`)?.gates.push(event.gate);
    }
  }
  return {
    run_id: runId,
    workflow_name: workflowName,
    status: foldEvents(runId, events).status,
    inputs,
    attempts,
    violations: annotations.violations,
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
 * Reads an `environment_snapshot.v1` payload.
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
