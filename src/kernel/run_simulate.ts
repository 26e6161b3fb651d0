/**
 * `queries.simulate`: reads a run's journal and the workflow it was started
 * with (its stored copy), and walks the journal through the decider under
 * that workflow or an edited one (`runSimulation.simulateRun`). A query: it
 * reads the journal, the run's stored workflow and the index, and writes
 * nothing — no lease, no repair of the run's files, no artifact, no event.
 *
 * @module
 */

import { ConflictError, IntegrityError, UsageError } from "../core/errors.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import { parseWorkflow, type WorkflowLoadOptions } from "../graph/workflow_loader.ts";
import { foldEvents, type RunState } from "../runtime/run_events.ts";
import { retypedOutputs } from "../graph/spec_changes.ts";
import type { OutputValidator } from "../runtime/attempt_workspace.ts";
import {
  checkRunJournal,
  interruptedStartMessage,
  lostJournalError,
} from "../runtime/run_journal_check.ts";
import { type Divergence, simulateRun, type Simulation } from "../runtime/run_simulation.ts";
import { WORKFLOW_FILE_TYPE, workflowHash } from "../runtime/run_starter.ts";
import type { Store } from "../store/store.ts";

/** What `lily run replay --simulate` reports. */
export interface SimulationReport extends Simulation {
  /** The run. */
  readonly run_id: string;
  /** The workflow simulated: the run's own, or a file; its hash, and whether it is the run's. */
  readonly workflow: {
    readonly source: "recorded" | "file" | "graph";
    /** The file, for `file`. */
    readonly file?: string;
    /** The sha256 of the workflow's definition (as `run_started` records it). */
    readonly sha256: string;
    /** Whether it is the workflow the run was started with. */
    readonly same_as_recorded: boolean;
  };
  /** Whether any decision differs. */
  readonly differs: boolean;
  /** The first decision that differs: where the run would leave its record. */
  readonly first_divergence: Divergence | null;
}

/** Options of {@linkcode simulateStoredRun}. */
export interface SimulateStoredRunOptions {
  /** The workflow to simulate, and where it came from; default: the run's own. */
  readonly current?: {
    readonly graph: WorkflowGraph;
    readonly source: "file" | "graph";
    readonly file?: string;
  };
  /** For runs started from a graph (TS API): that graph again (its hash is checked). */
  readonly recorded?: WorkflowGraph;
  /** What the run's stored workflow file is read with (the packs' kinds, templates, default policy). */
  readonly load?: WorkflowLoadOptions;
  /**
   * Validates a JSON value against an artifact type (as the run loop
   * validates outputs); with it, a step whose output types alone changed is
   * simulated by re-validating its recorded outputs in-process.
   */
  readonly validate?: OutputValidator;
}

/**
 * Re-validates the recorded JSON outputs of the steps whose declared output
 * types alone changed, against the new types, as the run loop would at
 * commit. Reads payloads; writes nothing.
 */
async function checkRetypedOutputs(
  store: Store,
  state: RunState,
  graphs: { readonly recorded: WorkflowGraph; readonly current: WorkflowGraph },
  validate: OutputValidator,
): Promise<Map<string, string | null>> {
  const checks = new Map<string, string | null>();
  for (const step of graphs.current.steps) {
    const i = graphs.recorded.indexOf.get(step.id);
    const before = i === undefined ? undefined : graphs.recorded.steps[i];
    const retyped = before === undefined ? null : retypedOutputs(before, step);
    if (retyped === null || Object.keys(retyped).length === 0) continue;
    for (const attempt of state.steps[step.id]?.attempts ?? []) {
      if (attempt.status !== "succeeded") continue;
      let why: string | null = null;
      for (const [name, type] of Object.entries(retyped)) {
        const id = attempt.outputs[name];
        if (id === undefined || step.outputs[name]?.kind !== "json") continue;
        const issues = validate(type, (await store.artifacts.get(id)).value);
        if (issues.length === 0) continue;
        why = `output ${name} does not match schema ${type}: ` +
          issues.map((x) => `${x.path}: ${x.message}`).join("; ");
        break;
      }
      checks.set(`${step.id}#${attempt.attempt}`, why);
    }
  }
  return checks;
}

/**
 * Simulates a stored run.
 *
 * @param store The open store.
 * @param runId The run.
 * @param options The workflow to simulate, the recorded graph of a TS API run, how to read the
 *   stored workflow, and the output validator.
 * @returns The report.
 * @throws {NotFoundError} When there is no such run.
 * @throws {UsageError} When the run was not started from a workflow, or a TS API run's graph is needed.
 * @throws {IntegrityError} When the journal is lost or damaged, or the stored workflow's hash differs.
 */
export async function simulateStoredRun(
  store: Store,
  runId: string,
  options: SimulateStoredRunOptions = {},
): Promise<SimulationReport> {
  const { events, verdict } = await checkRunJournal(store, runId);
  if (verdict.kind === "lost") throw lostJournalError(store, runId, verdict.evidence);
  if (verdict.kind === "interrupted_start") throw new ConflictError(interruptedStartMessage(runId));
  const state = foldEvents(runId, events);
  if (state.workflow_ref === null || state.workflow_sha256 === null) {
    throw new UsageError(`Run ${runId} was not started from a workflow; nothing to simulate`);
  }
  let recorded = options.recorded;
  if (recorded === undefined) {
    const ref = await store.artifacts.ref(state.workflow_ref);
    if (ref.artifact_type !== WORKFLOW_FILE_TYPE) {
      throw new UsageError(
        `Run ${runId} was started from the TS API; simulate it from the library with its workflow`,
      );
    }
    const { bytes } = await store.artifacts.readBytes(ref);
    recorded = parseWorkflow(
      new TextDecoder().decode(bytes),
      ref.rel_path.split("/").at(-1) ?? "workflow.yaml",
      options.load,
    );
  }
  if (workflowHash(recorded.workflow) !== state.workflow_sha256) {
    throw new IntegrityError(
      `The workflow given for run ${runId} differs from the one it was started with ` +
        `(sha256 ${workflowHash(recorded.workflow)}, expected ${state.workflow_sha256})`,
    );
  }
  const current = options.current?.graph ?? recorded;
  const sha256 = workflowHash(current.workflow);
  const outputChecks = options.validate === undefined
    ? undefined
    : await checkRetypedOutputs(store, state, { recorded, current }, options.validate);
  const simulation = simulateRun(runId, events, { recorded, current, outputChecks });
  return {
    run_id: runId,
    workflow: {
      source: options.current?.source ?? "recorded",
      ...(options.current?.file === undefined ? {} : { file: options.current.file }),
      sha256,
      same_as_recorded: sha256 === state.workflow_sha256,
    },
    ...simulation,
    differs: simulation.divergences.length > 0,
    first_divergence: simulation.divergences[0] ?? null,
  };
}
