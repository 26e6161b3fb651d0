import { assertEquals } from "./_assert.ts";
import type { AttemptState, GateRecord, StepState } from "../mod.ts";
import type { GateSpec, RetrySpec } from "../workflow.ts";
import {
  afterFailure,
  decidedGates,
  type FailedAttempt,
  failureReason,
  gatesVerdict,
  optionalGateWarnings,
  runEnd,
  stepStart,
} from "../src/runtime/run_decider.ts";
import { newAttemptState, newStepState } from "../src/runtime/run_events.ts";

const ID = "00000000-0000-4000-8000-000000000000";

function attempt(n: number, status: AttemptState["status"], extra: Partial<AttemptState> = {}) {
  const started = newAttemptState(n, {
    cause: null,
    startedAt: "2026-01-01T00:00:00.000Z",
    startedMonotonicMs: null,
  });
  return { ...started, status, ...extra } satisfies AttemptState;
}

function step(status: StepState["status"], attempts: AttemptState[]): StepState {
  return { ...newStepState(), status, attempts };
}

function gate(id: string, status: GateRecord["status"], required = true): GateRecord {
  return { gate_id: id, status, required, result_id: ID };
}

function gateSpec(id: string, required = true): GateSpec {
  return {
    id,
    step: "s",
    runner: { kind: "human", prompt: "ok?" },
    required,
    inputs: {},
    env: {},
  };
}

const RETRY: RetrySpec = {
  maxAttempts: 3,
  backoffMs: 100,
  backoffFactor: 2,
  maxBackoffMs: 150,
  on: ["failure"],
  jitter: false,
  exitCodes: [],
};

Deno.test("stepStart: where a step picks up after a crash, a cancel or a decision", () => {
  const ok = attempt(1, "succeeded");
  const table: [string, StepState, ReturnType<typeof stepStart>][] = [
    ["a new step", step("pending", []), { kind: "new_attempt", attempt: 1, cause: "first" }],
    ["waiting on a person", step("waiting", [ok]), { kind: "await_decision", attempt: ok }],
    ["crashed while gates ran", step("running", [ok]), { kind: "finish_gates", attempt: ok }],
    ["cancelled while gates ran", step("cancelled", [ok]), { kind: "finish_gates", attempt: ok }],
    ["cancelled while it ran", step("cancelled", [attempt(1, "cancelled")]), {
      kind: "new_attempt",
      attempt: 2,
      cause: "resume",
    }],
    ["interrupted by a crash", step("pending", [attempt(1, "interrupted")]), {
      kind: "new_attempt",
      attempt: 2,
      cause: "resume",
    }],
    ["failed (gate or step)", step("failed", [ok]), {
      kind: "new_attempt",
      attempt: 2,
      cause: "resume",
    }],
    ["reset by a route", { ...step("pending", [ok]), routed: true }, {
      kind: "new_attempt",
      attempt: 2,
      cause: "route",
    }],
    ["reset by a route before it ever ran", { ...step("pending", []), routed: true }, {
      kind: "new_attempt",
      attempt: 1,
      cause: "first",
    }],
    ["crashed after a failure, before its retry", step("running", [attempt(2, "failed")]), {
      kind: "decide_failure",
      attempt: attempt(2, "failed"),
    }],
  ];
  for (const [name, state, want] of table) assertEquals(stepStart(state), want, name);
});

Deno.test("afterFailure: retries what the policy covers, with capped backoff, and a cancel wins", () => {
  const seed = { runId: ID, stepId: "s", attempt: 2 };
  const failed = (failures: number, extra: Partial<FailedAttempt> = {}): FailedAttempt => ({
    outcome: "failed",
    failures,
    cancelled: false,
    exitCode: 1,
    byGate: false,
    seed,
    ...extra,
  });
  const table: [string, RetrySpec, FailedAttempt, ReturnType<typeof afterFailure>][] = [
    ["first failure", RETRY, failed(1), {
      kind: "retry",
      delayMs: 100,
      reason: "failed; failure 1 of 3 attempts; wait 100 ms",
    }],
    ["backoff capped", RETRY, failed(2), {
      kind: "retry",
      delayMs: 150,
      reason: "failed; failure 2 of 3 attempts; wait 150 ms",
    }],
    ["attempts used up", RETRY, failed(3), {
      kind: "finish",
      status: "failed",
      reason: "attempts used up (3)",
    }],
    ["no retry configured", { ...RETRY, maxAttempts: 1 }, failed(1), {
      kind: "finish",
      status: "failed",
      reason: null,
    }],
    ["timeout not covered", RETRY, failed(1, { outcome: "timeout", exitCode: null }), {
      kind: "finish",
      status: "failed",
      reason: "a timeout is not retried (retry.on: failure)",
    }],
    ["timeout covered", { ...RETRY, on: ["timeout"] }, failed(1, { outcome: "timeout" }), {
      kind: "retry",
      delayMs: 100,
      reason: "timed out; failure 1 of 3 attempts; wait 100 ms",
    }],
    ["failure during a cancel", RETRY, failed(1, { cancelled: true }), {
      kind: "finish",
      status: "cancelled",
    }],
  ];
  for (const [name, retry, failure, want] of table) {
    assertEquals(afterFailure(retry, failure), want, name);
  }
});

Deno.test("gatesVerdict: required gates decide, a cancel leaves unfinished gates for resume", () => {
  const gates = [gateSpec("a"), gateSpec("b", false), gateSpec("h")];
  const table: [string, Record<string, GateRecord>, string | null, boolean, string][] = [
    [
      "all pass",
      { a: gate("a", "pass"), b: gate("b", "pass"), h: gate("h", "pass") },
      null,
      false,
      "succeeded",
    ],
    [
      "optional fails",
      { a: gate("a", "pass"), b: gate("b", "fail", false), h: gate("h", "pass") },
      null,
      false,
      "succeeded",
    ],
    [
      "required fails",
      { a: gate("a", "fail"), b: gate("b", "skipped", false), h: gate("h", "skipped") },
      null,
      false,
      "failed",
    ],
    ["required error", { a: gate("a", "error") }, null, false, "failed"],
    [
      "waits on a person",
      { a: gate("a", "pass"), b: gate("b", "pass", false) },
      "h",
      false,
      "waiting",
    ],
    ["cancelled mid-gate", { a: gate("a", "cancelled") }, null, true, "cancelled"],
    ["cancelled before gates", {}, null, true, "cancelled"],
    [
      "cancelled after all decided",
      { a: gate("a", "pass"), b: gate("b", "pass", false), h: gate("h", "pass") },
      null,
      true,
      "succeeded",
    ],
  ];
  for (const [name, results, waitingOn, cancelled, want] of table) {
    assertEquals(gatesVerdict(gates, results, { waitingOn, cancelled }), want, name);
  }
});

Deno.test("decidedGates and optionalGateWarnings: cancelled gates run again; optional misses warn", () => {
  const results = { a: gate("a", "cancelled"), b: gate("b", "fail", false), c: gate("c", "pass") };
  assertEquals(Object.keys(decidedGates(results)), ["b", "c"]);
  assertEquals(optionalGateWarnings(results), ["optional gate b: fail"]);
});

Deno.test("failureReason and runEnd: one line naming step, attempt and cause; cancel before failure before waiting", () => {
  assertEquals(
    failureReason("build", attempt(2, "failed", { message: "Exited with code 1" })),
    "step build failed (attempt 2): Exited with code 1",
  );
  assertEquals(
    failureReason(
      "build",
      attempt(1, "succeeded", { gates: { t: gate("t", "fail"), o: gate("o", "fail", false) } }),
    ),
    "step build failed (attempt 1): required gate t: fail",
  );
  assertEquals(failureReason("x", undefined), "step x failed (attempt 0): unknown reason");
  const table: [Parameters<typeof runEnd>[0], ReturnType<typeof runEnd>][] = [
    [{ cancelled: true, failure: "f", waiting: 1 }, {
      status: "cancelled",
      reason: "cancelled on request",
    }],
    [{ cancelled: false, failure: "f", waiting: 1 }, { status: "failed", reason: "f" }],
    [{ cancelled: false, failure: null, waiting: 1 }, {
      status: "waiting",
      reason: "a gate waits for a person's decision",
    }],
    [{ cancelled: false, failure: null, waiting: 0 }, { status: "succeeded", reason: null }],
  ];
  for (const [outcome, want] of table) assertEquals(runEnd(outcome), want);
});
