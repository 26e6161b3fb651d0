/**
 * Replay decisions (`lily run rerun`, `lily artifact replace`), as pure
 * functions of the graph and the folded run state: whether a run can be
 * replayed now, which steps a rerun or a replacement resets (and which
 * routes' counters start again), and which gates a gates-only evaluation
 * runs against which outputs. The kernel journals what these return; the
 * fold (`run_events.ts`) applies it. Nothing here reads a clock, a file or
 * the environment.
 *
 * A rerun or a replacement is taken on a run that has ended (succeeded,
 * failed or cancelled), or that no step is in flight in (reset by an
 * earlier replacement not yet continued). A run that waits for a person,
 * or whose runner stopped while a step ran, is refused with what to do
 * first; a live runner is refused by the run's lease, which names it.
 *
 * @module
 */

import { stepAndDescendants } from "../graph/graph_reach.ts";
import { didYouMean } from "../graph/did_you_mean.ts";
import type { GateSpec, InputSource } from "../graph/workflow.ts";
import type { WorkflowGraph } from "../graph/workflow_graph.ts";
import type { RunEventBody, RunState } from "./run_events.ts";

/** Why a replay request is refused: `usage` (a wrong argument) or `conflict` (the run's state). */
export interface ReplayRefusal {
  /** Refused. */
  readonly kind: "refuse";
  /** `usage`: the request names what the run lacks; `conflict`: the run cannot be replayed now. */
  readonly code: "usage" | "conflict";
  /** One line: what is wrong and what would be right. */
  readonly message: string;
}

/** The `rerun_requested` event a rerun journals. */
export type RerunRequested = Extract<RunEventBody, { type: "rerun_requested" }>;

/**
 * Says why a run cannot be rerun or have an artifact replaced now, or null
 * when it can: it must have ended (succeeded, failed or cancelled), or
 * have no step running or waiting.
 *
 * @param state The run state.
 * @returns The refusal, or null.
 */
export function replayRefusal(state: RunState): ReplayRefusal | null {
  const runId = state.run_id;
  const refuse = (code: ReplayRefusal["code"], message: string): ReplayRefusal => ({
    kind: "refuse",
    code,
    message,
  });
  switch (state.status) {
    case "created":
      return refuse("usage", `Run ${runId} was not started from a workflow; nothing to replay`);
    case "running": {
      // Reset by an earlier replay not yet continued, or stopped between steps: nothing in flight.
      const busy = Object.entries(state.steps).find(([, s]) =>
        s.status === "running" || s.status === "waiting"
      );
      if (busy === undefined) return null;
      return refuse(
        "conflict",
        `Run ${runId} stopped while step ${busy[0]} was ${busy[1].status}; continue it with ` +
          `\`lily run resume ${runId}\` first`,
      );
    }
    case "waiting": {
      const gates = Object.values(state.steps).flatMap((s) => s.attempts.at(-1)?.waiting_on ?? []);
      return refuse(
        "conflict",
        `Run ${runId} waits for a person (gate ${gates.join(", ") || "?"}); decide with ` +
          `\`lily approve ${runId} ${gates[0] ?? "<gate>"}\` and resume, or \`lily run cancel ` +
          `${runId}\`, first`,
      );
    }
    default:
      return null;
  }
}

/**
 * The routes whose counters a reset starts again: the `on_fail` routes of
 * the reset steps and of their gates that the run has taken.
 *
 * @param graph The workflow graph.
 * @param state The run state (its `routing_counters`).
 * @param reset The reset steps.
 * @returns Route keys, in step order.
 */
export function routesReset(
  graph: WorkflowGraph,
  state: RunState,
  reset: readonly string[],
): string[] {
  const keys = reset.flatMap((id) => [
    `steps.${id}.on_fail`,
    ...(graph.gatesOf.get(id) ?? []).map((g) => `gates.${g.id}.on_fail`),
  ]);
  return keys.filter((key) => key in state.routing_counters);
}

function unknownStep(graph: WorkflowGraph, runId: string, stepId: string): ReplayRefusal {
  const ids = graph.steps.map((s) => s.id);
  return {
    kind: "refuse",
    code: "usage",
    message: `Run ${runId}'s workflow has no step ${JSON.stringify(stepId)}` +
      didYouMean(stepId, ids) + `; its steps: ${ids.join(", ")}`,
  };
}

/**
 * Decides a rerun from a step: that step and everything downstream of it
 * are reset and run again (new attempts, cause `rerun`, each superseding
 * the step's last attempt); upstream outputs are reused.
 *
 * @param graph The workflow graph.
 * @param state The run state.
 * @param request The step to rerun from and who asks.
 * @returns The event to journal, or why not.
 */
export function decideRerun(
  graph: WorkflowGraph,
  state: RunState,
  request: { readonly from: string; readonly by: string },
): ReplayRefusal | { readonly kind: "take"; readonly event: RerunRequested } {
  if (!graph.indexOf.has(request.from)) return unknownStep(graph, state.run_id, request.from);
  const refused = replayRefusal(state);
  if (refused) return refused;
  const reset = stepAndDescendants(graph, request.from);
  return {
    kind: "take",
    event: {
      type: "rerun_requested",
      from: request.from,
      reset,
      routes_reset: routesReset(graph, state, reset),
      by: request.by,
    },
  };
}

/** Where a replaceable artifact sits in a run. */
export type ArtifactPlace =
  /** A current output of a step. */
  | { readonly kind: "step_output"; readonly step: string; readonly output: string }
  /** A run input. */
  | { readonly kind: "run_input"; readonly name: string }
  /** An existing artifact a step or gate names as input (`@ARTIFACT_ID`). */
  | { readonly kind: "artifact" };

/**
 * Where an artifact sits in a run, as far as its steps can read it: a step's
 * current output, a run input, or an `@ARTIFACT_ID` input (after earlier
 * replacements).
 *
 * @param graph The workflow graph.
 * @param state The run state.
 * @param artifactId The artifact.
 * @returns Where it sits, or null when no step can read it.
 */
export function artifactPlace(
  graph: WorkflowGraph,
  state: RunState,
  artifactId: string,
): ArtifactPlace | null {
  for (const [step, s] of Object.entries(state.steps)) {
    for (const [output, id] of Object.entries(s.outputs)) {
      if (id === artifactId) return { kind: "step_output", step, output };
    }
  }
  for (const [name, id] of Object.entries(state.inputs)) {
    if (id === artifactId) return { kind: "run_input", name };
  }
  const named = allSources(graph).some(({ source }) =>
    source.from === "artifact" &&
    (state.replacements[source.artifactId] ?? source.artifactId) === artifactId
  );
  return named ? { kind: "artifact" } : null;
}

/** Every input source of the workflow, with the step it feeds (a gate feeds its subject). */
function allSources(
  graph: WorkflowGraph,
): { step: string; gate?: GateSpec; source: InputSource }[] {
  return graph.steps.flatMap((step) => [
    ...Object.values(step.inputs).map((source) => ({ step: step.id, source })),
    ...(graph.gatesOf.get(step.id) ?? []).flatMap((gate) =>
      Object.values(gate.inputs).map((source) => ({ step: step.id, gate, source }))
    ),
  ]);
}

function reads(place: ArtifactPlace, source: InputSource, state: RunState, id: string): boolean {
  switch (place.kind) {
    case "step_output":
      return source.from === "step_output" && source.step === place.step &&
        source.output === place.output;
    case "run_input":
      return source.from === "run_input" && source.name === place.name;
    case "artifact":
      return source.from === "artifact" &&
        (state.replacements[source.artifactId] ?? source.artifactId) === id;
  }
}

/**
 * The steps a replaced artifact resets: those whose inputs, or whose gates'
 * inputs, read it, and everything downstream of them. The step that
 * produced it is not among them (its own gates judged the original; judge
 * the replacement with a gates-only evaluation).
 *
 * @param graph The workflow graph.
 * @param state The run state.
 * @param place Where the artifact sits.
 * @param artifactId The artifact.
 * @returns Step ids, in declaration order.
 */
export function readersReset(
  graph: WorkflowGraph,
  state: RunState,
  place: ArtifactPlace,
  artifactId: string,
): string[] {
  const producer = place.kind === "step_output" ? place.step : null;
  const readers = new Set(
    allSources(graph).filter(({ step, source }) =>
      step !== producer && reads(place, source, state, artifactId)
    ).map(({ step }) => step),
  );
  const reset = new Set([...readers].flatMap((id) => stepAndDescendants(graph, id)));
  return graph.steps.map((s) => s.id).filter((id) => reset.has(id));
}

/** A replacement decided: where the original sits, and what it resets. */
export interface ReplaceDecision {
  /** Taken. */
  readonly kind: "take";
  /** Where the original sits in the run. */
  readonly place: ArtifactPlace;
  /** The steps reset, in declaration order (empty: nothing reads it). */
  readonly reset: readonly string[];
  /** The routes whose counters start again. */
  readonly routes_reset: readonly string[];
}

/**
 * Decides whether an artifact can be replaced in a run, and what that resets.
 *
 * @param graph The workflow graph.
 * @param state The run state.
 * @param artifactId The artifact to replace.
 * @returns The decision, or why not (the artifact is not one the run's steps read now).
 */
export function decideReplace(
  graph: WorkflowGraph,
  state: RunState,
  artifactId: string,
): ReplayRefusal | ReplaceDecision {
  const refused = replayRefusal(state);
  if (refused) return refused;
  const place = artifactPlace(graph, state, artifactId);
  if (place === null) {
    return { kind: "refuse", code: "usage", message: notReplaceable(state, artifactId) };
  }
  const reset = readersReset(graph, state, place, artifactId);
  return { kind: "take", place, reset, routes_reset: routesReset(graph, state, reset) };
}

function notReplaceable(state: RunState, artifactId: string): string {
  const runId = state.run_id;
  const replacedBy = state.replacements[artifactId];
  if (replacedBy !== undefined) {
    return `Artifact ${artifactId} was already replaced in run ${runId} by ${replacedBy}; ` +
      "replace that one instead";
  }
  for (const [step, s] of Object.entries(state.steps)) {
    const attempt = s.attempts.find((a) => Object.values(a.outputs).includes(artifactId));
    if (attempt) {
      return `Artifact ${artifactId} is an output of ${step}#${attempt.attempt}, which is not ` +
        `${step}'s current result (the step is ${s.status}); only current outputs and inputs ` +
        "can be replaced";
    }
  }
  return `Artifact ${artifactId} is neither a current step output nor an input of run ${runId}; ` +
    "only those can be replaced (see lily run show " + runId + ")";
}

/** One step's gates a gates-only evaluation runs, against its outputs. */
export interface GatesOnlyItem {
  /** The step judged. */
  readonly step: string;
  /** Its attempt whose outputs are judged. */
  readonly attempt: number;
  /** Its outputs as the run reads them now (replacements applied): name → artifact id. */
  readonly outputs: Readonly<Record<string, string>>;
  /** The gates to run, in declaration order. */
  readonly gates: readonly GateSpec[];
}

/** A gate a gates-only evaluation leaves out, and why. */
export interface GateLeftOut {
  /** The step it judges. */
  readonly step: string;
  /** The gate. */
  readonly gate_id: string;
  /** Why it is not run, in words. */
  readonly reason: string;
}

/** What a gates-only evaluation runs. */
export interface GatesOnlyPlan {
  /** Planned. */
  readonly kind: "plan";
  /** The steps whose gates run, in declaration order. */
  readonly evaluate: readonly GatesOnlyItem[];
  /** The gates left out: human gates, and gates of steps with nothing to judge. */
  readonly left_out: readonly GateLeftOut[];
}

/**
 * The outputs a gates-only evaluation judges for a step: those of its last
 * attempt if that attempt's process succeeded (its gates may have failed
 * it since), with replacements applied; null when it has none.
 */
function judgedOutputs(state: RunState, stepId: string): GatesOnlyItem | null {
  const step = state.steps[stepId];
  const last = step?.attempts.at(-1);
  if (!last || last.status !== "succeeded") return null;
  const outputs = Object.fromEntries(
    Object.entries(last.outputs).map(([name, id]) => [name, state.replacements[id] ?? id]),
  );
  return { step: stepId, attempt: last.attempt, outputs, gates: [] };
}

/**
 * Plans a gates-only evaluation: the automated gates of the chosen steps
 * (all steps with gates, or `step`, or only `gate`) run against the outputs
 * of each step's last attempt whose process succeeded. Human gates are left
 * out (no person is asked in a dry run), as are gates of steps whose last
 * attempt produced nothing. Any run that started a workflow qualifies.
 *
 * @param graph The workflow graph.
 * @param state The run state.
 * @param scope The step and the gate to limit it to.
 * @returns The plan, or why there is nothing to evaluate.
 */
export function planGatesOnly(
  graph: WorkflowGraph,
  state: RunState,
  scope: { readonly step?: string; readonly gate?: string },
): ReplayRefusal | GatesOnlyPlan {
  const runId = state.run_id;
  const refuse = (message: string): ReplayRefusal => ({ kind: "refuse", code: "usage", message });
  if (state.status === "created") return refuse(`Run ${runId} was not started from a workflow`);
  if (scope.step !== undefined && !graph.indexOf.has(scope.step)) {
    return unknownStep(graph, runId, scope.step);
  }
  const allGates = graph.workflow.gates;
  let gates = scope.step === undefined ? allGates : allGates.filter((g) => g.step === scope.step);
  if (scope.gate !== undefined) {
    const gate = allGates.find((g) => g.id === scope.gate);
    if (gate === undefined) {
      return refuse(
        `Run ${runId}'s workflow has no gate ${JSON.stringify(scope.gate)}` +
          didYouMean(scope.gate, allGates.map((g) => g.id)) +
          (allGates.length ? `; its gates: ${allGates.map((g) => g.id).join(", ")}` : ""),
      );
    }
    if (scope.step !== undefined && gate.step !== scope.step) {
      return refuse(`Gate ${gate.id} judges step ${gate.step}, not ${scope.step}`);
    }
    gates = [gate];
  }
  if (gates.length === 0) {
    return refuse(
      scope.step === undefined
        ? `Run ${runId}'s workflow has no gates`
        : `Step ${scope.step} has no gates`,
    );
  }
  const evaluate: GatesOnlyItem[] = [];
  const leftOut: GateLeftOut[] = [];
  for (const spec of graph.steps) {
    const mine = gates.filter((g) => g.step === spec.id);
    if (mine.length === 0) continue;
    const judged = judgedOutputs(state, spec.id);
    const automated: GateSpec[] = [];
    for (const gate of mine) {
      if (graph.kinds.get(gate.runner.kind)?.capabilities.waitsForPerson) {
        leftOut.push({
          step: spec.id,
          gate_id: gate.id,
          reason: "a gate that waits for a person is not asked in a gates-only evaluation",
        });
      } else if (judged === null) {
        leftOut.push({
          step: spec.id,
          gate_id: gate.id,
          reason: `step ${spec.id} has no outputs to judge (it is ${state.steps[spec.id].status})`,
        });
      } else automated.push(gate);
    }
    if (judged !== null && automated.length > 0) evaluate.push({ ...judged, gates: automated });
  }
  if (evaluate.length === 0) {
    return refuse(
      `Nothing to evaluate in run ${runId}: ` +
        leftOut.map((g) => `gate ${g.gate_id}: ${g.reason}`).join("; "),
    );
  }
  return { kind: "plan", evaluate, left_out: leftOut };
}
