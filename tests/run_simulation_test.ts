/**
 * Simulation as tables, without a disk: recorded journals (written here as
 * the run loop writes them) fed to the decider under the recorded workflow
 * and under edited ones — a route's bound, a gate made optional, a gate's
 * command changed, a new gate, a retry budget, a new step, a removed step —
 * with the first divergence named by its event.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  defineWorkflow,
  type GateRecord,
  type RunEvent,
  type RunEventBody,
  type WorkflowDefinition,
} from "../mod.ts";
import type { WorkflowGraph } from "../workflow.ts";
import { simulateRun } from "../src/runtime/run_simulation.ts";

const RUN = "00000000-0000-4000-8000-000000000001";
const R1 = "00000000-0000-4000-8000-00000000000a";

type Def = WorkflowDefinition;

/** edit, checked by the gate `tests` that routes back to edit; then publish. */
function loop(
  opts: { max?: number; required?: boolean; command?: string[]; extra?: Partial<Def> } = {},
): WorkflowGraph {
  return defineWorkflow({
    name: "loop",
    steps: [
      { id: "edit", command: ["true"] },
      { id: "publish", command: ["true"], needs: ["edit"] },
    ],
    gates: [{
      id: "tests",
      step: "edit",
      command: opts.command ?? ["true"],
      required: opts.required ?? true,
      ...(opts.required === false ? {} : { on_fail: { goto: "edit", max: opts.max ?? 3 } }),
    }],
    ...opts.extra,
  });
}

function events(g: WorkflowGraph, bodies: RunEventBody[]): RunEvent[] {
  return [
    {
      type: "run_started",
      workflow_name: g.workflow.name,
      workflow_ref: RUN,
      workflow_sha256: "0".repeat(64),
      inputs: {},
      step_ids: g.steps.map((s) => s.id),
    },
    { type: "runner_started", pid: 1, resumed: false },
    ...bodies,
  ].map((b, i) =>
    ({
      ...b,
      seq: i + 1,
      at: "2026-01-01T00:00:00.000Z",
    }) as RunEvent
  );
}

function attempt(
  step: string,
  n: number,
  cause: "first" | "retry" | "route",
  status: "succeeded" | "failed" = "succeeded",
): RunEventBody[] {
  return [
    { type: "attempt_started", step, attempt: n, cause },
    {
      type: "attempt_finished",
      step,
      attempt: n,
      status,
      exit_code: status === "succeeded" ? 0 : 1,
      message: status === "succeeded" ? null : "Exited with code 1",
      duration_ms: 1,
      outputs: {},
      logs: {},
      executor: {},
    },
  ];
}

const gate = (step: string, n: number, status: GateRecord["status"]): RunEventBody => ({
  type: "gate_finished",
  step,
  attempt: n,
  gate: { gate_id: "tests", status, required: true, result_id: R1 },
});

function route(n: number, count: number, max = 3): RunEventBody {
  return {
    type: "route_taken",
    route: "gates.tests.on_fail",
    step: "edit",
    attempt: n,
    goto: "edit",
    count,
    max,
    transitions: count,
    max_transitions: 100,
    feedback: R1,
    reset: ["edit", "publish"],
  };
}

const finished = (step: string, n: number, status: "succeeded" | "failed", reason?: string) =>
  ({
    type: "step_finished",
    step,
    attempt: n,
    status,
    warnings: [],
    ...(reason ? { reason } : {}),
  }) as RunEventBody;

/** The gate fails twice, then passes on edit's third attempt; publish runs. */
function twoRoutes(g: WorkflowGraph): RunEvent[] {
  return events(g, [
    ...attempt("edit", 1, "first"),
    gate("edit", 1, "fail"),
    route(1, 1),
    ...attempt("edit", 2, "route"),
    gate("edit", 2, "fail"),
    route(2, 2),
    ...attempt("edit", 3, "route"),
    gate("edit", 3, "pass"),
    finished("edit", 3, "succeeded"),
    ...attempt("publish", 1, "first"),
    finished("publish", 1, "succeeded"),
    { type: "run_finished", status: "succeeded", reason: null },
  ]);
}

Deno.test("simulate: the recorded workflow replays with no divergence", () => {
  const g = loop();
  const sim = simulateRun(RUN, twoRoutes(g), { recorded: g, current: g });
  assertEquals(sim.divergences, []);
  assertEquals(sim.end, { recorded: "succeeded", simulated: "succeeded" });
  assertEquals(sim.served, { attempts: 4, llm_replies: 0, gates: 3 });
  assert(sim.decisions >= 10, `${sim.decisions}`);
});

Deno.test("simulate: a lower route bound fails the run at the second route", () => {
  const g = loop();
  const sim = simulateRun(RUN, twoRoutes(g), { recorded: g, current: loop({ max: 1 }) });
  const [first] = sim.divergences;
  assertEquals(first?.kind, "route");
  assertEquals(first?.step, "edit");
  assertEquals(first?.seq, 10);
  assertMatch(first?.recorded ?? "", /take route gates\.tests\.on_fail → edit \(2 of max 3/);
  assertMatch(first?.simulated ?? "", /reached its bound: max 1 \(taken 1 time\)/);
  assertEquals(sim.end, { recorded: "succeeded", simulated: "failed" });
});

Deno.test("simulate: a gate made optional lets the first attempt succeed", () => {
  const g = loop();
  const sim = simulateRun(RUN, twoRoutes(g), { recorded: g, current: loop({ required: false }) });
  assertEquals(sim.divergences[0]?.kind, "route");
  assertEquals(sim.divergences[0]?.simulated, "step edit succeeds");
  assertEquals(sim.end.simulated, null);
});

Deno.test("simulate: a gate whose command changed cannot be simulated, and says so", () => {
  const g = loop();
  const sim = simulateRun(RUN, twoRoutes(g), {
    recorded: g,
    current: loop({ command: ["deno", "test"] }),
  });
  assertEquals(sim.divergences.length, 3);
  assertEquals(sim.divergences[0], {
    seq: 5,
    kind: "unsimulable",
    step: "edit",
    attempt: 1,
    recorded: "gate tests of edit#1: fail",
    simulated: "cannot be simulated: gate tests changed (runner)",
  });
});

Deno.test("simulate: a new gate and a new step have no recorded results", () => {
  const g = loop();
  const current = defineWorkflow({
    name: "loop",
    steps: [
      { id: "edit", command: ["true"] },
      { id: "publish", command: ["true"], needs: ["edit"] },
      { id: "notify", command: ["true"], needs: ["publish"] },
    ],
    gates: [
      { id: "tests", step: "edit", command: ["true"], on_fail: { goto: "edit", max: 3 } },
      { id: "lint", step: "publish", command: ["true"] },
    ],
  });
  const sim = simulateRun(RUN, twoRoutes(g), { recorded: g, current });
  assertEquals(sim.divergences.map((d) => [d.kind, d.step, d.simulated]), [
    [
      "unsimulable",
      "publish",
      "cannot be simulated: gate lint would run and has no recorded verdict",
    ],
    ["start", "notify", "start notify: it is not in the recorded run (cannot be simulated)"],
  ]);
});

Deno.test("simulate: a smaller retry budget fails where the record retried", () => {
  const retrying = (max: number) =>
    defineWorkflow({
      name: "flaky",
      steps: [{ id: "fetch", command: ["true"], retry: { max_attempts: max, backoff: "1s" } }],
    });
  const g = retrying(3);
  const recorded = events(g, [
    ...attempt("fetch", 1, "first", "failed"),
    {
      type: "retry_scheduled",
      step: "fetch",
      attempt: 1,
      delay_ms: 1000,
      reason: "failed; failure 1 of 3 attempts; wait 1000 ms",
    },
    ...attempt("fetch", 2, "retry"),
    finished("fetch", 2, "succeeded"),
    { type: "run_finished", status: "succeeded", reason: null },
  ]);
  assertEquals(simulateRun(RUN, recorded, { recorded: g, current: g }).divergences, []);
  const sim = simulateRun(RUN, recorded, { recorded: g, current: retrying(1) });
  assertEquals(sim.divergences[0]?.kind, "retry");
  assertEquals(sim.divergences[0]?.recorded, "retry fetch (attempt 2) after 1000 ms");
  assertEquals(sim.divergences[0]?.simulated, "step fetch fails");
  assertEquals(sim.end, { recorded: "succeeded", simulated: "failed" });
  const slower = defineWorkflow({
    name: "flaky",
    steps: [{ id: "fetch", command: ["true"], retry: { max_attempts: 3, backoff: "2s" } }],
  });
  const wait = simulateRun(RUN, recorded, { recorded: g, current: slower }).divergences[0];
  assertEquals(wait?.simulated, "retry fetch (attempt 2) after 2000 ms");
});

Deno.test("simulate: a step removed from the workflow, and a step whose command changed", () => {
  const g = loop();
  const without = defineWorkflow({
    name: "loop",
    steps: [{ id: "edit", command: ["true"] }],
    gates: [{ id: "tests", step: "edit", command: ["true"], on_fail: { goto: "edit", max: 3 } }],
  });
  const gone = simulateRun(RUN, twoRoutes(g), { recorded: g, current: without });
  assertEquals(gone.divergences.map((d) => [d.kind, d.step, d.simulated]), [
    ["start", "publish", "no step publish in the workflow"],
  ]);
  const edited = loop({
    extra: {
      steps: [
        { id: "edit", command: ["sh", "-c", "date"] },
        { id: "publish", command: ["true"], needs: ["edit"] },
      ],
    },
  });
  const changed = simulateRun(RUN, twoRoutes(g), { recorded: g, current: edited });
  assertEquals(changed.divergences.map((d) => [d.seq, d.simulated]), [
    [3, "cannot be simulated: step edit changed (executor)"],
  ]);
});

Deno.test("simulate: a run whose runner died after a failure resumes its retry as `resume`", () => {
  const g = defineWorkflow({
    name: "flaky",
    steps: [{ id: "fetch", command: ["true"], retry: { max_attempts: 2, backoff: "1s" } }],
  });
  const recorded = events(g, [
    ...attempt("fetch", 1, "first", "failed"),
    { type: "runner_started", pid: 2, resumed: true },
    { type: "attempt_started", step: "fetch", attempt: 2, cause: "resume" },
    ...attempt("fetch", 2, "retry").slice(1),
    finished("fetch", 2, "succeeded"),
    { type: "run_finished", status: "succeeded", reason: null },
  ]);
  assertEquals(simulateRun(RUN, recorded, { recorded: g, current: g }).divergences, []);
});

Deno.test("simulate: a step whose output types alone changed is re-judged from its output checks", () => {
  const typed = (type: string) =>
    defineWorkflow({
      name: "typed",
      steps: [{
        id: "plan",
        command: ["true"],
        outputs: { plan: { type, path: "plan.json" } },
      }],
    });
  const g = typed("plan.v1");
  const recorded = events(g, [
    ...attempt("plan", 1, "first"),
    finished("plan", 1, "succeeded"),
    { type: "run_finished", status: "succeeded", reason: null },
  ]);
  // Without checks, a changed output cannot be simulated.
  assertEquals(
    simulateRun(RUN, recorded, { recorded: g, current: typed("strict.v1") }).divergences[0]
      ?.simulated,
    "cannot be simulated: step plan changed (outputs)",
  );
  const valid = new Map([["plan#1", null]]);
  assertEquals(
    simulateRun(RUN, recorded, { recorded: g, current: typed("strict.v1"), outputChecks: valid })
      .divergences,
    [],
  );
  const invalid = new Map([["plan#1", "output plan does not match schema strict.v1: $: bad"]]);
  const sim = simulateRun(RUN, recorded, {
    recorded: g,
    current: typed("strict.v1"),
    outputChecks: invalid,
  });
  assertEquals(sim.divergences[0], {
    seq: 4,
    kind: "outcome",
    step: "plan",
    attempt: 1,
    recorded: "attempt plan#1 succeeds",
    simulated: "attempt plan#1 fails: output plan does not match schema strict.v1: $: bad; " +
      "then step plan fails",
  });
  assertEquals(sim.end, { recorded: "succeeded", simulated: "failed" });
  // Moving an output is no retyping: it cannot be simulated, checks or not.
  const moved = defineWorkflow({
    name: "typed",
    steps: [{
      id: "plan",
      command: ["true"],
      outputs: { plan: { type: "plan.v1", path: "p.json" } },
    }],
  });
  assertMatch(
    simulateRun(RUN, recorded, { recorded: g, current: moved, outputChecks: valid }).divergences[0]
      ?.simulated ?? "",
    /cannot be simulated: step plan changed \(outputs\)/,
  );
});
