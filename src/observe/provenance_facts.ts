/**
 * What the provenance of an artifact is built from: facts read from the
 * store's ports (index rows and lineage, each run's journal, the
 * `policy_violation.v1` artifacts, environment snapshots and replacement
 * records), gathered by the kernel's query and
 * turned into a graph by the pure `buildProvenanceGraph`.
 *
 * @module
 */

import type { ArtifactRef } from "../store/artifact_ref.ts";
import type { GateRecord, InputRecord } from "../runtime/run_events.ts";

/** Which way the lineage is followed from the artifact asked about. */
export type ProvenanceDirection = "up" | "down" | "both";

/** The directions, in a fixed order (`up`: ancestors, `down`: descendants). */
export const PROVENANCE_DIRECTIONS: readonly ProvenanceDirection[] = ["up", "down", "both"];

/** What provenance shows of any attempt: which one it was, why it started and how it ended. */
export interface AttemptSummary {
  /** The step id. */
  readonly step: string;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /** Why it started (`first`, `retry`, `resume`, `route`, `rerun`, `replace`, `cached`), or `null` in journals older than causes. */
  readonly cause: string | null;
  /** The attempt of the same step it superseded (a rerun or a replacement), or `null`. */
  readonly supersedes: number | null;
  /** Its `step_run_record.v1` (`attempt_recorded`), or `null` before it is recorded. */
  readonly record_id: string | null;
  /** How it ended, or `running`. */
  readonly status: string;
  /** When it started (ISO-8601). */
  readonly started_at: string;
  /** When it ended (ISO-8601), or `null` while it runs. */
  readonly ended_at: string | null;
  /** Its process's exit code, when it had one. */
  readonly exit_code: number | null;
}

/** One attempt of a step, as its run's journal records it. */
export interface AttemptFacts extends AttemptSummary {
  /** What it read, by input name: artifact id and sha256 at the time (`attempt_started`). */
  readonly inputs: Readonly<Record<string, InputRecord>>;
  /** What it committed, by output name (`attempt_finished`). */
  readonly outputs: Readonly<Record<string, string>>;
  /** The gates that judged it (`gate_finished`), in the order they finished. */
  readonly gates: readonly GateRecord[];
  /** Ids of the `policy_violation.v1` artifacts the attempt itself caused. */
  readonly violations: readonly string[];
}

/** One `policy_violation.v1` artifact of a run. */
export interface ViolationFacts {
  /** The violation artifact. */
  readonly artifact_id: string;
  /** The step it belongs to (for a gate, the step the gate judged). */
  readonly step_id: string;
  /** The gate that caused it, or `null` for the step itself. */
  readonly gate_id: string | null;
  /** The attempt. */
  readonly attempt: number;
  /** What kind of access was refused (`read`, `write`, `run`, `net`, `env`). */
  readonly kind: string;
  /** What was refused: a path, program, host or name. */
  readonly target: string;
  /** The refusal, in words. */
  readonly message: string;
}

/** A run's `environment_snapshot.v1` artifact (named by its `run_started`), when it has one. */
export interface EnvironmentFacts {
  /** The snapshot artifact. */
  readonly artifact_id: string;
  /** Its payload, as stored (fields in `docs/schemas.md`). */
  readonly snapshot: Readonly<Record<string, unknown>>;
}

/** One `artifact_replacement.v1` record (`lily artifact replace`). */
export interface ReplacementFacts {
  /** The record artifact. */
  readonly record_id: string;
  /** The run it was recorded in. */
  readonly run_id: string;
  /** The artifact that was replaced. */
  readonly original_artifact_id: string;
  /** The artifact that takes its place downstream. */
  readonly replacement_artifact_id: string;
  /** Why, in words. */
  readonly reason: string;
  /** When (ISO-8601). */
  readonly replaced_at: string;
  /** Who replaced it, when recorded. */
  readonly replaced_by: string | null;
}

/**
 * A gate verdict the run's journal does not record: a gates-only evaluation
 * (`lily run rerun --gates-only`), a `gate_result.v1` stored beside the run.
 */
export interface EvaluationFacts {
  /** The `gate_result.v1` artifact. */
  readonly result_id: string;
  /** The gate. */
  readonly gate_id: string;
  /** Its verdict. */
  readonly status: string;
  /** Whether the step needs the gate to pass. */
  readonly required: boolean;
  /** The artifacts it judged (the result's inputs). */
  readonly inputs: readonly string[];
  /** When it was stored (ISO-8601). */
  readonly evaluated_at: string;
}

/** What one run contributes: its journal's attempts and its annotations. */
export interface RunFacts {
  /** The run. */
  readonly run_id: string;
  /** The workflow's name, when the run started one. */
  readonly workflow_name: string | null;
  /** The run's status as its journal folds. */
  readonly status: string;
  /** Run input artifact ids by input name (`run_started`). */
  readonly inputs: Readonly<Record<string, string>>;
  /** Every attempt of every step, in journal order. */
  readonly attempts: readonly AttemptFacts[];
  /** The run's `policy_violation.v1` artifacts. */
  readonly violations: readonly ViolationFacts[];
  /** The run's gates-only evaluations. */
  readonly evaluations: readonly EvaluationFacts[];
  /** The run's environment snapshot, or `null` when none was taken (runs older than snapshots). */
  readonly environment: EnvironmentFacts | null;
}

/** An edge of the lineage: `to` was made from `from` (`from` is in `to`'s inputs). */
export interface LineageEdge {
  /** The input artifact. */
  readonly from: string;
  /** The artifact made from it. */
  readonly to: string;
}

/** Everything `buildProvenanceGraph` needs, gathered by the kernel. */
export interface ProvenanceFacts {
  /** The artifact asked about. */
  readonly root: string;
  /** Which way the lineage was followed. */
  readonly direction: ProvenanceDirection;
  /** How many edges away from the root it was followed; `null`: all the way. */
  readonly depth: number | null;
  /** Every artifact reached, the root included. */
  readonly artifacts: readonly ArtifactRef[];
  /** The lineage edges between them. */
  readonly edges: readonly LineageEdge[];
  /** The runs those artifacts belong to. */
  readonly runs: readonly RunFacts[];
  /** Every replacement record naming one of the artifacts, as original or replacement. */
  readonly replacements: readonly ReplacementFacts[];
}
