/**
 * Replay rules as tables, without a disk: which runs can be replayed, what
 * a rerun and a replacement reset (and which route counters start again),
 * the fold of `rerun_requested` and `artifact_replaced` (causes,
 * `supersedes`, replacements seen by input resolution), and the plan of a
 * gates-only evaluation.
 */

import { assert, assertEquals } from "./_assert.ts";
import { defineWorkflow, type RunEvent, type RunEventBody, type RunState } from "../mod.ts";
import type { WorkflowGraph } from "../workflow.ts";
import {
  artifactPlace,
  decideReplace,
  decideRerun,
  planGatesOnly,
  replayRefusal,
} from "../src/runtime/replay_decider.ts";
import { stepStart } from "../src/runtime/run_decider.ts";
import { foldEvents } from "../src/runtime/run_events.ts";
import { resolveInputSource } from "../src/runtime/run_loop.ts";
import { assertWritableRunEvent } from "../src/runtime/run_event_schema.ts";

const RUN = "00000000-0000-4000-8000-000000000001";
const IN = "00000000-0000-4000-8000-0000000000f0";
const EXT = "00000000-0000-4000-8000-0000000000e0";
const NEW = "00000000-0000-4000-8000-0000000000ff";
const REC = "00000000-0000-4000-8000-0000000000cc";
const out = (step: string, n: number) =>
  `00000000-0000-4000-8000-0000000${step.charCodeAt(0).toString(16)}00${n}`.slice(0, 36);

/** A diamond: a → b, c → d; e reads an existing artifact; gates on d (one human). */
function diamond(): WorkflowGraph {
  return defineWorkflow({
    name: "diamond",
    inputs: { seed: { type: "seed.v1" } },
    steps: [
      { id: "a", command: ["true"], inputs: { s: "inputs.seed" }, outputs: o() },
      { id: "b", command: ["true"], inputs: { x: "steps.a.outputs.v" }, outputs: o() },
      {
        id: "c",
        command: ["true"],
        inputs: { x: "steps.a.outputs.v" },
        outputs: o(),
        on_fail: { goto: "a", max: 2 },
      },
      {
        id: "d",
        command: ["true"],
        inputs: { x: "steps.b.outputs.v", y: "steps.c.outputs.v" },
        outputs: o(),
      },
      { id: "e", command: ["true"], inputs: { z: `@${EXT}` } },
    ],
    gates: [
      { id: "check", step: "d", command: ["true"] },
      { id: "ok", step: "d", human: { prompt: "ship?" } },
      { id: "peek", step: "e", command: ["true"], inputs: { v: "steps.b.outputs.v" } },
    ],
  });
}

function o() {
  return { v: { type: "v.v1", path: "v.txt" } };
}

function events(g: WorkflowGraph, bodies: RunEventBody[]): RunEvent[] {
  return [{
    type: "run_started",
    workflow_name: "diamond",
    workflow_ref: RUN,
    workflow_sha256: "0".repeat(64),
    inputs: { seed: IN },
    step_ids: g.steps.map((s) => s.id),
  } as RunEventBody, ...bodies].map((b, i) =>
    ({ ...b, seq: i + 1, at: "2026-01-01T00:00:00.000Z" }) as RunEvent
  );
}

function fold(g: WorkflowGraph, bodies: RunEventBody[]): RunState {
  return foldEvents(RUN, events(g, bodies));
}

/** One succeeded attempt of a step with output v, then its finish. */
function ran(step: string, n: number, cause: "first" | "rerun" = "first"): RunEventBody[] {
  const outputs: Record<string, string> = step === "e" ? {} : { v: out(step, n) };
  return [
    { type: "attempt_started", step, attempt: n, cause },
    {
      type: "attempt_finished",
      step,
      attempt: n,
      status: "succeeded",
      exit_code: 0,
      message: null,
      duration_ms: 1,
      outputs,
      logs: {},
      executor: {},
    },
    { type: "step_finished", step, attempt: n, status: "succeeded", warnings: [] },
  ];
}

const ALL = ["a", "b", "c", "d", "e"].flatMap((s) => ran(s, 1));
const END: RunEventBody = { type: "run_finished", status: "succeeded", reason: null };

Deno.test("replayRefusal: ended runs and runs with nothing in flight can be replayed", () => {
  const g = diamond();
  assertEquals(replayRefusal(fold(g, [...ALL, END])), null);
  assertEquals(replayRefusal(fold(g, [...ALL, { ...END, status: "failed", reason: "x" }])), null);
  const created = replayRefusal(foldEvents(RUN, []));
  assertEquals(created?.code, "usage");
  const midway = replayRefusal(
    fold(g, [...ran("a", 1), { type: "attempt_started", step: "b", attempt: 1 }]),
  );
  assertEquals(midway?.code, "conflict");
  assert(midway!.message.includes("step b was running"), midway!.message);
  assert(midway!.message.includes(`lily run resume ${RUN}`), midway!.message);
  const waiting = replayRefusal(fold(g, [
    ...ALL.slice(0, 9),
    ...ran("d", 1).slice(0, 2),
    { type: "gate_waiting", step: "d", attempt: 1, gate_id: "ok", required: true },
    { type: "step_finished", step: "d", attempt: 1, status: "waiting", warnings: [] },
    { type: "run_finished", status: "waiting", reason: "a gate waits" },
  ]));
  assertEquals(waiting?.code, "conflict");
  assert(waiting!.message.includes("gate ok"), waiting!.message);
});

Deno.test("decideRerun: the step and everything downstream, route counters of the reset steps", () => {
  const g = diamond();
  const routed: RunEventBody = {
    type: "route_taken",
    route: "steps.c.on_fail",
    step: "c",
    attempt: 1,
    goto: "a",
    count: 1,
    max: 2,
    transitions: 1,
    max_transitions: 100,
    feedback: REC,
    reset: ["a", "b", "c", "d"],
  };
  const s = fold(g, [...ALL, routed, ...["a", "b", "c", "d"].flatMap((id) => ran(id, 2)), END]);
  const table: [string, string[], string[]][] = [
    ["a", ["a", "b", "c", "d"], ["steps.c.on_fail"]],
    ["b", ["b", "d"], []],
    ["c", ["c", "d"], ["steps.c.on_fail"]],
    ["d", ["d"], []],
    ["e", ["e"], []],
  ];
  for (const [from, reset, routes] of table) {
    const verdict = decideRerun(g, s, { from, by: "ann" });
    assert(verdict.kind === "take", from);
    assertEquals(verdict.event, {
      type: "rerun_requested",
      from,
      reset,
      routes_reset: routes,
      by: "ann",
    });
  }
  const unknown = decideRerun(g, s, { from: "bb", by: "ann" });
  assert(unknown.kind === "refuse" && unknown.code === "usage");
  assert(unknown.message.includes('did you mean "b"'), unknown.message);
});

Deno.test("rerun fold: reset steps pend with cause rerun, supersede their last attempt, upstream kept", () => {
  const g = diamond();
  const before = fold(g, [...ALL, END]);
  const verdict = decideRerun(g, before, { from: "b", by: "ann" });
  assert(verdict.kind === "take");
  assertWritableRunEvent({ ...verdict.event, seq: 99, at: "2026-01-01T00:00:00.000Z" });
  const after = fold(g, [...ALL, END, verdict.event]);
  assertEquals(after.status, "running");
  assertEquals(after.steps.a, before.steps.a);
  assertEquals(after.steps.c, before.steps.c);
  for (const id of ["b", "d"]) {
    assertEquals(after.steps[id].status, "pending");
    assertEquals(after.steps[id].outputs, {});
    assertEquals(after.steps[id].supersedes, 1);
    assertEquals(after.steps[id].attempts.length, 1, "history is kept");
    assertEquals(stepStart(after.steps[id]), { kind: "new_attempt", attempt: 2, cause: "rerun" });
  }
  // The new attempt records what it supersedes; a retry of it still links to the same attempt.
  const next = fold(g, [
    ...ALL,
    END,
    verdict.event,
    { type: "attempt_started", step: "b", attempt: 2, cause: "rerun", supersedes: 1 },
  ]);
  assertEquals(next.steps.b.attempts[1].supersedes, 1);
  assertEquals(next.steps.b.reset_cause, null);
  assertEquals(next.steps.b.supersedes, 1);
  const done = fold(g, [...ALL, END, verdict.event, ...ran("b", 2, "rerun")]);
  assertEquals(done.steps.b.supersedes, null);
  assertEquals(done.steps.b.outputs, { v: out("b", 2) });
});

Deno.test("artifactPlace and decideReplace: who reads what, producers and their gates excluded", () => {
  const g = diamond();
  const s = fold(g, [...ALL, END]);
  const table: [string, ReturnType<typeof artifactPlace>, string[]][] = [
    [out("a", 1), { kind: "step_output", step: "a", output: "v" }, ["b", "c", "d"]],
    // b's output is read by d and by e's gate peek.
    [out("b", 1), { kind: "step_output", step: "b", output: "v" }, ["d", "e"]],
    // d's output is judged by d's own gates only: nothing is reset.
    [out("d", 1), { kind: "step_output", step: "d", output: "v" }, []],
    [IN, { kind: "run_input", name: "seed" }, ["a", "b", "c", "d"]],
    [EXT, { kind: "artifact" }, ["e"]],
  ];
  for (const [id, place, reset] of table) {
    assertEquals(artifactPlace(g, s, id), place, id);
    const verdict = decideReplace(g, s, id);
    assert(verdict.kind === "take", id);
    assertEquals(verdict.reset, reset, id);
  }
  const stray = decideReplace(g, s, REC);
  assert(stray.kind === "refuse" && stray.code === "usage");
  assert(stray.message.includes("neither a current step output nor an input"), stray.message);
  const rerun = decideRerun(g, s, { from: "b", by: "ann" });
  assert(rerun.kind === "take");
  const superseded = decideReplace(g, fold(g, [...ALL, END, rerun.event]), out("b", 1));
  assert(superseded.kind === "refuse");
  assert(superseded.message.includes("output of b#1"), superseded.message);
});

Deno.test("replace fold: every reference resolves to the replacement, readers pend with cause replace", () => {
  const g = diamond();
  const replaced = (original: string): RunEventBody => {
    const verdict = decideReplace(g, fold(g, [...ALL, END]), original);
    assert(verdict.kind === "take");
    return {
      type: "artifact_replaced",
      original,
      replacement: NEW,
      record: REC,
      reset: verdict.reset,
      routes_reset: verdict.routes_reset,
      by: "ann",
    };
  };
  const a = fold(g, [...ALL, END, replaced(out("a", 1))]);
  assertEquals(a.steps.a.outputs, { v: NEW });
  assertEquals(a.steps.a.attempts[0].outputs, { v: out("a", 1) }, "history keeps the original");
  assertEquals(a.steps.a.status, "succeeded");
  assertEquals(stepStart(a.steps.b), { kind: "new_attempt", attempt: 2, cause: "replace" });
  assertEquals(a.status, "running");
  assertEquals(resolveInputSource({ from: "step_output", step: "a", output: "v" }, a), NEW);
  const input = fold(g, [...ALL, END, replaced(IN)]);
  assertEquals(resolveInputSource({ from: "run_input", name: "seed" }, input), NEW);
  const ext = fold(g, [...ALL, END, replaced(EXT)]);
  assertEquals(resolveInputSource({ from: "artifact", artifactId: EXT }, ext), NEW);
  assertEquals(ext.replacements, { [EXT]: NEW });
  // A leaf's replacement resets nothing: the run keeps its status.
  const leaf = fold(g, [...ALL, END, replaced(out("d", 1))]);
  assertEquals(leaf.status, "succeeded");
  assertEquals(leaf.steps.d.outputs, { v: NEW });
});

Deno.test("planGatesOnly: automated gates against the last committed outputs, human gates left out", () => {
  const g = diamond();
  const s = fold(g, [...ALL, END]);
  const all = planGatesOnly(g, s, {});
  assert(all.kind === "plan");
  assertEquals(
    all.evaluate.map((i) => [i.step, i.attempt, i.outputs, i.gates.map((x) => x.id)]),
    [["d", 1, { v: out("d", 1) }, ["check"]], ["e", 1, {}, ["peek"]]],
  );
  assertEquals(all.left_out.map((x) => x.gate_id), ["ok"]);
  const one = planGatesOnly(g, s, { gate: "peek" });
  assert(one.kind === "plan");
  assertEquals(one.evaluate.map((i) => i.step), ["e"]);
  const refusals: [Parameters<typeof planGatesOnly>[2], string][] = [
    [{ step: "zz" }, "no step"],
    [{ step: "a" }, "Step a has no gates"],
    [{ gate: "chek" }, 'did you mean "check"'],
    [{ step: "e", gate: "check" }, "judges step d, not e"],
    [{ gate: "ok" }, "waits for a person"],
  ];
  for (const [scope, words] of refusals) {
    const verdict = planGatesOnly(g, s, scope);
    assert(verdict.kind === "refuse", JSON.stringify(scope));
    assert(verdict.message.includes(words), verdict.message);
  }
  // A replaced output is judged as the run reads it now; a step with nothing committed is left out.
  const replaced = fold(g, [...ALL, END, {
    type: "artifact_replaced",
    original: out("d", 1),
    replacement: NEW,
    record: REC,
    reset: [],
    routes_reset: [],
    by: "ann",
  }]);
  const judged = planGatesOnly(g, replaced, { step: "d" });
  assert(judged.kind === "plan");
  assertEquals(judged.evaluate[0].outputs, { v: NEW });
  const pending = planGatesOnly(g, fold(g, ALL.slice(0, 9)), {});
  assert(pending.kind === "refuse");
  assert(
    pending.message.includes("step d has no outputs to judge (it is pending)"),
    pending.message,
  );
});
