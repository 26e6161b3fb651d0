/**
 * What `lily run diff` and `lily run replay --reapply` compare about a run,
 * as plain data gathered by the kernel (`kernel/run_facts_reader.ts`): per
 * step its status, attempts, the inputs and outputs of its last attempt with
 * their sha256, and its executor summary; per run its workflow hash, inputs
 * and environment snapshot. The comparisons themselves (`run_diff.ts`,
 * `output_drift.ts`) are pure functions of these.
 *
 * @module
 */

/** One input or output: the artifact and its sha256 (null when the index lacks it). */
export interface HashedArtifact {
  /** The artifact. */
  readonly artifact_id: string;
  /** Its sha256 as indexed, or null. */
  readonly sha256: string | null;
}

/** One step of a run, as compared. */
export interface StepFacts {
  /** Where it ended (or is). */
  readonly status: string;
  /** How many attempts it made. */
  readonly attempts: number;
  /** Its last attempt's number, or null when it never started. */
  readonly last_attempt: number | null;
  /** Why the last attempt started (null when unknown). */
  readonly cause: string | null;
  /** The last attempt's inputs by name. */
  readonly inputs: Readonly<Record<string, HashedArtifact>>;
  /** The last attempt's outputs by name (those of a succeeded attempt). */
  readonly outputs: Readonly<Record<string, HashedArtifact>>;
  /** The last attempt's executor summary (argv, cwd, environment subset, …). */
  readonly executor: Readonly<Record<string, unknown>>;
}

/** One run, as compared. */
export interface RunFacts {
  /** The run. */
  readonly run_id: string;
  /** Its status. */
  readonly status: string;
  /** Its workflow's name and definition hash (null for a run without a workflow). */
  readonly workflow: { readonly name: string | null; readonly sha256: string | null };
  /** Its run inputs by name. */
  readonly inputs: Readonly<Record<string, HashedArtifact>>;
  /** Its steps in declaration order. */
  readonly step_order: readonly string[];
  /** Its steps by id. */
  readonly steps: Readonly<Record<string, StepFacts>>;
  /** Its environment snapshot flattened to dotted keys (null when it has none). */
  readonly environment: Readonly<Record<string, unknown>> | null;
}

/**
 * Flattens a JSON value to dotted keys (`versions.deno`), arrays as
 * `key[0]`, leaving out keys that only say when (`at`, `captured_at`,
 * `timestamp`), since two runs are never taken at the same time.
 *
 * @param value A JSON value.
 * @returns Leaf values by path.
 */
export function flattenFacts(value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (v: unknown, path: string) => {
    if (v !== null && typeof v === "object") {
      const entries = Array.isArray(v)
        ? v.map((x, i) => [`${path}[${i}]`, x] as const)
        : Object.entries(v).filter(([k]) => !WHEN_KEYS.has(k)).map(([k, x]) =>
          [path === "" ? k : `${path}.${k}`, x] as const
        );
      for (const [p, x] of entries) walk(x, p);
      return;
    }
    out[path] = v;
  };
  walk(value, "");
  return out;
}

const WHEN_KEYS = new Set(["at", "captured_at", "timestamp", "taken_at"]);

/**
 * A value with every occurrence of a run's own id in its strings replaced by
 * `<run_id>`: an executor summary names its run (`LILY_RUN_ID`, the
 * attempt's dirs under `runs/<run_id>/tmp/`), which differs between any two
 * runs and says nothing about how they differ.
 *
 * @param value A JSON value.
 * @param runId The run's id.
 * @returns The value with the id replaced.
 */
export function withoutRunId(value: unknown, runId: string): unknown {
  if (typeof value === "string") return value.replaceAll(runId, "<run_id>");
  if (Array.isArray(value)) return value.map((v) => withoutRunId(v, runId));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, withoutRunId(v, runId)]),
    );
  }
  return value;
}
