/**
 * Routing and retry rules as tables, without a disk: what follows a failed
 * attempt (retry, route, fail), route bounds, the reset set, jitter
 * determinism, exit_codes, the fold of route events and the scheduler's
 * reset.
 */

import { assertEquals } from "./_assert.ts";
import {
  defineWorkflow,
  type GateRecord,
  parseWorkflow,
  type RunEvent,
  type RunEventBody,
  type RunState,
  type WorkflowDefinition,
} from "../mod.ts";
import type { RetrySpec, WorkflowGraph } from "../workflow.ts";
import { Scheduler } from "../src/graph/scheduler.ts";
import { jitteredDelayMs, jitterFraction } from "../src/policy/retry_jitter.ts";
import { decideFailure, type PendingRoute, takeRoute } from "../src/runtime/route_decider.ts";
import { afterFailure, failuresSoFar, stepStart } from "../src/runtime/run_decider.ts";
import { foldEvents } from "../src/runtime/run_events.ts";

const RUN = "00000000-0000-4000-8000-000000000001";
const R1 = "00000000-0000-4000-8000-00000000000a";
const R2 = "00000000-0000-4000-8000-00000000000b";

/** fix → build → test, and docs beside them; gates on build. */
function graph(extra: Partial<WorkflowDefinition> = {}): WorkflowGraph {
  return defineWorkflow({
    name: "routes",
    steps: [
      { id: "fix", command: ["true"] },
      {
        id: "build",
        command: ["true"],
        needs: ["fix"],
        retry: { max_attempts: 3, backoff: "1s", exit_codes: [75] },
        on_fail: { goto: "fix", max: 2 },
      },
      { id: "test", command: ["true"], needs: ["build"] },
      { id: "docs", command: ["true"] },
    ],
    gates: [
      { id: "lint", step: "build", command: ["true"] },
      { id: "unit", step: "build", command: ["true"], on_fail: { goto: "build", max: 1 } },
    ],
    ...extra,
  });
}

/** A run state folded from events: run_started, then the given bodies. */
function state(g: WorkflowGraph, bodies: RunEventBody[]): RunState {
  const events: RunEvent[] = [{
    type: "run_started",
    workflow_name: "routes",
    workflow_ref: RUN,
    workflow_sha256: "0".repeat(64),
    inputs: {},
    step_ids: g.steps.map((s) => s.id),
  }, ...bodies].map((b, i) => ({ ...b, seq: i + 1, at: "2026-01-01T00:00:00.000Z" }) as RunEvent);
  return foldEvents(RUN, events);
}

function attempt(
  step: string,
  n: number,
  status: "succeeded" | "failed" | "timeout" | "interrupted",
  exit: number | null,
  gates: GateRecord[] = [],
): RunEventBody[] {
  return [
    { type: "attempt_started", step, attempt: n, cause: n === 1 ? "first" : "retry" },
    {
      type: "attempt_finished",
      step,
      attempt: n,
      status,
      exit_code: exit,
      message: status === "succeeded" ? null : `Exited with code ${exit}`,
      duration_ms: 1,
      outputs: {},
      logs: {},
      executor: {},
    },
    ...gates.map((gate) => ({ type: "gate_finished" as const, step, attempt: n, gate })),
  ];
}

const gate = (id: string, status: GateRecord["status"], result = R1): GateRecord => ({
  gate_id: id,
  status,
  required: true,
  result_id: result,
});

const BUILD_ROUTE: PendingRoute = {
  key: "steps.build.on_fail",
  label: "step build on_fail → fix",
  step: "build",
  attempt: 1,
  goto: "fix",
  max: 2,
  feedback: { kind: "step" },
};

Deno.test("decideFailure: gate routes first, then retries as exit_codes allow, then the step's route", () => {
  const g = graph();
  const ok = attempt("fix", 1, "succeeded", 0);
  const table: [string, RunEventBody[], "failed" | "timeout", boolean, unknown][] = [
    [
      "a required gate with on_fail routes at once, its result as feedback",
      [...ok, ...attempt("build", 1, "succeeded", 0, [gate("lint", "pass"), gate("unit", "fail")])],
      "failed",
      false,
      {
        kind: "route",
        route: {
          key: "gates.unit.on_fail",
          label: "gate unit on_fail → build",
          step: "build",
          attempt: 1,
          goto: "build",
          max: 1,
          feedback: { kind: "gate", resultId: R1 },
        },
      },
    ],
    [
      "a gate without on_fail is not retried when exit_codes is given: the step's route",
      [
        ...ok,
        ...attempt("build", 1, "succeeded", 0, [gate("lint", "fail"), gate("unit", "skipped")]),
      ],
      "failed",
      false,
      { kind: "route", route: BUILD_ROUTE },
    ],
    [
      "exit code 75 is retried",
      [...ok, ...attempt("build", 1, "failed", 75)],
      "failed",
      false,
      {
        kind: "retry",
        delayMs: 1000,
        reason: "exit code 75 is in retry.exit_codes; failure 1 of 3 attempts; wait 1000 ms",
      },
    ],
    [
      "exit code 1 is not: the step's route",
      [...ok, ...attempt("build", 1, "failed", 1)],
      "failed",
      false,
      { kind: "route", route: BUILD_ROUTE },
    ],
    [
      "retries spent: the step's route, from the last attempt",
      [
        ...ok,
        ...attempt("build", 1, "failed", 75),
        ...attempt("build", 2, "failed", 75),
        ...attempt("build", 3, "failed", 75),
      ],
      "failed",
      false,
      { kind: "route", route: { ...BUILD_ROUTE, attempt: 3 } },
    ],
    [
      "interrupted attempts do not spend retries",
      [
        ...ok,
        ...attempt("build", 1, "failed", 75),
        ...attempt("build", 2, "interrupted", null),
        ...attempt("build", 3, "failed", 75),
      ],
      "failed",
      false,
      {
        kind: "retry",
        delayMs: 2000,
        reason: "exit code 75 is in retry.exit_codes; failure 2 of 3 attempts; wait 2000 ms",
      },
    ],
    [
      "a timeout is retried as retry.on says, whatever exit_codes",
      [...ok, ...attempt("build", 1, "timeout", null)],
      "timeout",
      false,
      {
        kind: "retry",
        delayMs: 1000,
        reason: "timed out; failure 1 of 3 attempts; wait 1000 ms",
      },
    ],
    [
      "a cancel wins",
      [...ok, ...attempt("build", 1, "failed", 1)],
      "failed",
      true,
      { kind: "cancelled" },
    ],
    [
      "a step without on_fail fails, saying why",
      [...attempt("fix", 1, "failed", 3)],
      "failed",
      false,
      { kind: "fail", reason: null },
    ],
  ];
  for (const [name, bodies, outcome, cancelled, want] of table) {
    const s = state(g, bodies);
    const step = bodies.findLast((b) => b.type === "attempt_started")!;
    const id = (step as { step: string }).step;
    assertEquals(decideFailure(g, s, id, { outcome, cancelled }), want, name);
  }
});

Deno.test("takeRoute: resets goto and its descendants, counts, and refuses past max or max_transitions", () => {
  const g = graph();
  const fresh = state(g, []);
  assertEquals(takeRoute(g, fresh, BUILD_ROUTE), {
    kind: "take",
    event: {
      type: "route_taken",
      route: "steps.build.on_fail",
      step: "build",
      attempt: 1,
      goto: "fix",
      count: 1,
      max: 2,
      transitions: 1,
      max_transitions: 100,
      reset: ["fix", "build", "test"],
    },
  });
  const taken = (count: number, route = "steps.build.on_fail", transitions = count) => ({
    type: "route_taken" as const,
    route,
    step: "build",
    attempt: 1,
    goto: "fix",
    count,
    max: 2,
    transitions,
    max_transitions: 100,
    feedback: R2,
    reset: ["fix", "build", "test"],
  });
  const table: [string, WorkflowGraph, RunEventBody[], unknown][] = [
    ["second of two", g, [taken(1)], "take"],
    ["third of two", g, [taken(1), taken(2)], {
      kind: "exceeded",
      reason: "route step build on_fail → fix reached its bound: max 2 (taken 2 times)",
    }],
    ["max_transitions counts every route", graph({ max_transitions: 2 }), [
      taken(1, "gates.unit.on_fail"),
      taken(1, "steps.build.on_fail", 2),
    ], {
      kind: "exceeded",
      reason: "route step build on_fail → fix not taken: the run reached its bound " +
        "max_transitions 2",
    }],
  ];
  for (const [name, gr, bodies, want] of table) {
    const verdict = takeRoute(gr, state(gr, bodies), BUILD_ROUTE);
    assertEquals(want === "take" ? verdict.kind : verdict, want, name);
  }
});

Deno.test("route_taken folds: counters, feedback, reset steps pending with a new retry budget and cause route", () => {
  const g = graph();
  const s = state(g, [
    ...attempt("fix", 1, "succeeded", 0),
    { type: "step_finished", step: "fix", attempt: 1, status: "succeeded", warnings: [] },
    ...attempt("build", 1, "failed", 75),
    ...attempt("build", 2, "failed", 1),
    {
      type: "route_taken",
      route: "steps.build.on_fail",
      step: "build",
      attempt: 2,
      goto: "fix",
      count: 1,
      max: 2,
      transitions: 1,
      max_transitions: 100,
      feedback: R2,
      reset: ["fix", "build", "test"],
    },
  ]);
  assertEquals(s.routing_counters, { "steps.build.on_fail": 1 });
  assertEquals(s.steps.fix.feedback, R2);
  assertEquals(s.steps.build.feedback, null);
  assertEquals([s.steps.fix.status, s.steps.build.status, s.steps.test.status], [
    "pending",
    "pending",
    "pending",
  ]);
  assertEquals(s.steps.fix.outputs, {});
  assertEquals(failuresSoFar(s.steps.build), 0, "a route starts a new retry budget");
  assertEquals(stepStart(s.steps.fix), { kind: "new_attempt", attempt: 2, cause: "route" });
  assertEquals(stepStart(s.steps.build), { kind: "new_attempt", attempt: 3, cause: "route" });
  assertEquals(stepStart(s.steps.test), { kind: "new_attempt", attempt: 1, cause: "first" });
  assertEquals(s.steps.docs.status, "pending", "a step outside the reset set is untouched");
});

Deno.test("jitter: a pure function of (run, step, attempt), within the upper half of the wait", () => {
  const seed = { runId: RUN, stepId: "build", attempt: 2 };
  const fractions = new Set<number>();
  for (let attempt = 2; attempt < 50; attempt++) {
    const f = jitterFraction({ ...seed, attempt });
    assertEquals(f >= 0 && f < 1, true);
    assertEquals(jitterFraction({ ...seed, attempt }), f, "same seed, same fraction");
    fractions.add(f);
    const ms = jitteredDelayMs(1000, { ...seed, attempt });
    assertEquals(ms >= 500 && ms <= 1000, true, `${ms} within [500, 1000]`);
  }
  assertEquals(fractions.size, 48, "attempts spread apart");
  assertEquals(
    jitterFraction(seed) === jitterFraction({ ...seed, runId: R1 }),
    false,
    "runs spread apart",
  );
  assertEquals(jitteredDelayMs(0, seed), 0);
  const retry: RetrySpec = {
    maxAttempts: 5,
    backoffMs: 1000,
    backoffFactor: 2,
    maxBackoffMs: 60_000,
    on: ["failure"],
    jitter: true,
    exitCodes: [],
  };
  const failure = {
    outcome: "failed" as const,
    failures: 2,
    cancelled: false,
    exitCode: 1,
    byGate: false,
    seed: { ...seed, attempt: 3 },
  };
  const first = afterFailure(retry, failure);
  const expected = jitteredDelayMs(2000, { ...seed, attempt: 3 });
  assertEquals(first, {
    kind: "retry",
    delayMs: expected,
    reason: `failed; failure 2 of 5 attempts; wait 2000 ms jittered to ${expected} ms`,
  });
  assertEquals(afterFailure(retry, failure), first, "deterministic");
});

Deno.test("afterFailure: exit_codes restrict failures, not timeouts; no exit code is not listed", () => {
  const retry: RetrySpec = {
    maxAttempts: 3,
    backoffMs: 0,
    backoffFactor: 2,
    maxBackoffMs: 1000,
    on: ["failure", "timeout"],
    jitter: false,
    exitCodes: [75, 111],
  };
  const base = {
    outcome: "failed" as const,
    failures: 1,
    cancelled: false,
    byGate: false,
    seed: { runId: RUN, stepId: "s", attempt: 2 },
  };
  const table: [string, Parameters<typeof afterFailure>[1], string][] = [
    ["listed", { ...base, exitCode: 111 }, "retry"],
    ["not listed", { ...base, exitCode: 1 }, "exit code 1 is not in retry.exit_codes [75, 111]"],
    [
      "no exit code",
      { ...base, exitCode: null },
      "no exit code is not in retry.exit_codes [75, 111]",
    ],
    ["a timeout", { ...base, outcome: "timeout", exitCode: null }, "retry"],
    [
      "a failed gate",
      { ...base, exitCode: 0, byGate: true },
      "a failed gate is not retried when retry.exit_codes [75, 111] is given",
    ],
  ];
  for (const [name, failure, want] of table) {
    const got = afterFailure(retry, failure);
    assertEquals(got.kind === "retry" ? "retry" : (got as { reason: string }).reason, want, name);
  }
});

Deno.test("Scheduler.reset: a routed step and its descendants run again once their upstream succeeds", () => {
  const g = graph();
  const scheduler = new Scheduler(g);
  assertEquals(scheduler.take(10), ["fix", "docs"]);
  assertEquals(scheduler.succeeded("fix"), ["build"]);
  assertEquals(scheduler.take(10), ["build"]);
  scheduler.reset(["fix", "build", "test"]);
  assertEquals(scheduler.readyCount, 1);
  assertEquals(scheduler.take(10), ["fix"], "only the route's target is ready");
  scheduler.succeeded("fix");
  assertEquals(scheduler.take(10), ["build"]);
  scheduler.succeeded("build");
  // Reset while a reset step waits in the ready queue: it is withdrawn until fix succeeds again.
  scheduler.reset(["fix", "build", "test"]);
  assertEquals(scheduler.readyCount, 1);
  assertEquals(scheduler.take(10), ["fix"]);
  assertEquals(scheduler.take(10), []);
  scheduler.succeeded("fix");
  assertEquals(scheduler.take(10), ["build"]);
});

Deno.test("failuresSoFar counts failures, timeouts and blocked gates since the budget began", () => {
  const g = graph();
  const s = state(g, [
    ...attempt("build", 1, "failed", 75),
    ...attempt("build", 2, "timeout", null),
    ...attempt("build", 3, "interrupted", null),
    ...attempt("build", 4, "succeeded", 0, [gate("unit", "fail")]),
  ]);
  assertEquals(failuresSoFar(s.steps.build), 3);
  const finished = state(g, [
    ...attempt("build", 1, "failed", 75),
    { type: "step_finished", step: "build", attempt: 1, status: "failed", warnings: [] },
  ]);
  assertEquals(failuresSoFar(finished.steps.build), 0, "a failed finish starts a new budget");
  assertEquals(stepStart(finished.steps.build).kind, "new_attempt");
});

Deno.test("the SPEC's routes and retry syntax loads into the model", () => {
  const g = parseWorkflow(
    `name: spec
steps:
  - { id: fix, command: [fix] }
  - id: build
    needs: [fix]
    command: [build]
    retry: { max_attempts: 3, backoff: 1s, backoff_factor: 2, max_backoff: 1m, jitter: true,
             on: [failure, timeout], exit_codes: [75] }
    on_fail: { goto: fix, max: 2 }      # after retries are spent
  - { id: edit, command: [edit] }
  - { id: apply, needs: [edit], command: [apply] }
gates:
  - id: tests
    step: apply
    command: [deno, test]
    on_fail: { goto: edit, max: 3 }     # a required gate failed
max_transitions: 100
`,
    "spec.yaml",
  );
  const build = g.steps[1];
  assertEquals(build.retry, {
    maxAttempts: 3,
    backoffMs: 1000,
    backoffFactor: 2,
    maxBackoffMs: 60_000,
    on: ["failure", "timeout"],
    jitter: true,
    exitCodes: [75],
  });
  assertEquals(build.onFail, { goto: "fix", max: 2 });
  assertEquals(g.workflow.gates[0].onFail, { goto: "edit", max: 3 });
  assertEquals(g.workflow.maxTransitions, 100);
  const defaults = parseWorkflow(
    "name: d\nsteps:\n  - { id: a, command: [a], on_fail: { goto: a } }\n",
    "d.yaml",
  );
  assertEquals([defaults.steps[0].onFail?.max, defaults.workflow.maxTransitions], [3, 100]);
  assertEquals(defaults.upstream, [[]], "a route to itself is not a dependency, so not a cycle");
});
