/**
 * `runs.dryRunGates`: a gates-only evaluation. Runs a run's automated gates
 * against the outputs that exist (each step's last attempt whose process
 * succeeded, replacements applied) and stores each verdict as a
 * `gate_result.v1` artifact marked `evaluation: "gates_only"`, with the
 * logs it references. It executes no step, journals nothing and writes no
 * `run_state.json`: the run's state is the same before and after. It holds
 * the run's lease while the gates run, so no runner changes the outputs
 * under it.
 *
 * @module
 */

import type { Clock } from "../core/clock.ts";
import { crashPoint } from "../core/crash_point.ts";
import { ConflictError, UsageError } from "../core/errors.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { WorkflowLoadOptions } from "../graph/workflow_loader.ts";
import { createGateEvaluator } from "../gates/gate_evaluator.ts";
import { attemptConfinement } from "../runtime/attempt_context.ts";
import type { ExecutorRegistry } from "../runtime/executors/executor_registry.ts";
import { type GateLeftOut, planGatesOnly } from "../runtime/replay_decider.ts";
import { foldEvents, type GateStatus, type RunState } from "../runtime/run_events.ts";
import { resolveInputSource } from "../runtime/run_loop.ts";
import { withRunSession } from "../runtime/run_session.ts";
import { loadRunWorkflow, readRunState } from "../runtime/run_starter.ts";

/** Options of {@linkcode dryRunGates}. */
export interface DryRunGatesOptions {
  /** Only this step's gates. */
  readonly step?: string;
  /** Only this gate. */
  readonly gate?: string;
  /** Executors by kind (the gates' runners). */
  readonly executors: ExecutorRegistry;
  /** The kernel's environment, from which gates get their subset. */
  readonly kernelEnv: Readonly<Record<string, string>>;
  /** The clock: times the gates and names the evaluation. */
  readonly clock: Clock;
  /** Stops the gates when aborted (their results are recorded `cancelled`). */
  readonly signal?: AbortSignal;
  /** For runs started from a graph: the same workflow again. */
  readonly workflow?: WorkflowGraph;
  /** What the run's stored workflow file is read with (the packs' kinds and templates). */
  readonly load?: WorkflowLoadOptions;
}

/** One gate's verdict in a gates-only evaluation. */
export interface GatesOnlyResult {
  /** The step judged. */
  readonly step: string;
  /** Its attempt whose outputs were judged. */
  readonly attempt: number;
  /** The gate. */
  readonly gate_id: string;
  /** The verdict. */
  readonly status: GateStatus;
  /** Whether the step needs the gate to pass. */
  readonly required: boolean;
  /** The stored `gate_result.v1` (marked `evaluation: "gates_only"`). */
  readonly result_id: string;
}

/** What a gates-only evaluation found. */
export interface GatesOnlyReport {
  /** The run. */
  readonly run_id: string;
  /** The evaluation's label: it prefixes the names of its results and logs. */
  readonly evaluation: string;
  /** The verdicts, in the order the gates ran. */
  readonly results: readonly GatesOnlyResult[];
  /** The gates left out, and why. */
  readonly left_out: readonly GateLeftOut[];
  /** Whether every required gate evaluated passed. */
  readonly passed: boolean;
}

/**
 * Runs a gates-only evaluation of a run (see the module doc).
 *
 * @param store The open store.
 * @param runId The run; any run started from a workflow.
 * @param options The scope (step, gate), executors, environment and clock.
 * @returns The verdicts and the gates left out.
 * @throws {UsageError} When the scope names what the workflow lacks, or nothing can be evaluated.
 * @throws {ConflictError} When a live runner holds the run.
 */
export async function dryRunGates(
  store: ContractStore,
  runId: string,
  options: DryRunGatesOptions,
): Promise<GatesOnlyReport> {
  const graph = await loadRunWorkflow(store, runId, options.workflow, options.load);
  const label = `gates-only.${options.clock.now().getTime()}`;
  const scope = { step: options.step, gate: options.gate };
  const planFor = (state: RunState) => {
    const plan = planGatesOnly(graph, state, scope);
    if (plan.kind === "refuse") {
      throw plan.code === "usage" ? new UsageError(plan.message) : new ConflictError(plan.message);
    }
    return plan;
  };
  // Checked before the lease is taken, so a wrong scope changes nothing on disk.
  if (!(await store.leases.isLive(runId))) planFor(await readRunState(store, runId));
  return await withRunSession(store, runId, async ({ events }) => {
    const state = foldEvents(runId, events);
    const plan = planFor(state);
    const evaluator = createGateEvaluator(store, {
      executors: options.executors,
      kernelEnv: options.kernelEnv,
      clock: options.clock,
    });
    const results: GatesOnlyResult[] = [];
    for (const item of plan.evaluate) {
      const step = graph.steps.find((s) => s.id === item.step)!;
      await evaluator.evaluate({
        runId,
        step,
        attempt: item.attempt,
        gates: item.gates,
        kinds: graph.kinds,
        outputs: item.outputs,
        resolveInput: (source) =>
          source.from === "step_output" && source.step === step.id
            ? item.outputs[source.output]
            : resolveInputSource(source, state),
        decided: {},
        signal: options.signal ?? new AbortController().signal,
        onSpawn: () => Promise.resolve(),
        record: (gate) => {
          results.push({ step: item.step, attempt: item.attempt, ...gate });
          crashPoint("gates_only_evaluating");
          return Promise.resolve();
        },
        confinementOf: (gate) =>
          attemptConfinement(graph.workflow, { kind: "gate", spec: gate }, {
            workspace: store.workspace,
            mode: state.sandbox === "none" ? "none" : "sandbox",
            workflowPath: state.workflow_path,
          }),
        evaluation: { kind: "gates_only", label },
      });
    }
    return {
      run_id: runId,
      evaluation: label,
      results,
      left_out: plan.left_out,
      passed: results.every((r) => !r.required || r.status === "pass" || r.status === "skipped"),
    };
  }, { clock: options.clock });
}
