/**
 * The pure comparisons behind `lily run diff` and `lily run replay
 * --reapply`, as tables without a disk: step by step differences, the
 * first divergence (an input before an output, a step in one run only),
 * environment fields without their timestamps, executor summaries read
 * without the run's own id, and output drift (same, differs, new, missing).
 */

import { assertEquals } from "./_assert.ts";
import { diffRuns } from "../src/observe/run_diff.ts";
import { outputDrifts } from "../src/observe/output_drift.ts";
import {
  flattenFacts,
  type RunFacts,
  type StepFacts,
  withoutRunId,
} from "../src/observe/run_facts.ts";

const H = (c: string) => c.repeat(64);
const art = (c: string) => ({ artifact_id: `id-${c}`, sha256: H(c) });

function step(over: Partial<StepFacts> = {}): StepFacts {
  return {
    status: "succeeded",
    attempts: 1,
    last_attempt: 1,
    cause: "first",
    inputs: {},
    outputs: {},
    executor: { kind: "command", argv: ["sh", "-c", "true"] },
    ...over,
  };
}

function run(id: string, steps: Record<string, StepFacts>, over: Partial<RunFacts> = {}): RunFacts {
  return {
    run_id: id,
    status: "succeeded",
    workflow: { name: "w", sha256: H("w") },
    inputs: {},
    step_order: Object.keys(steps),
    steps,
    environment: { deno_version: "2.9.6" },
    ...over,
  };
}

Deno.test("diffRuns: the same runs do not differ", () => {
  const a = run("a", { s: step({ outputs: { o: art("1") } }) });
  const d = diffRuns(a, { ...a, run_id: "b" });
  assertEquals([d.differs, d.first_divergence, d.steps[0]?.same], [false, null, true]);
});

Deno.test("diffRuns: the first step whose input, then output, differs", () => {
  const a = run("a", {
    prep: step({ outputs: { p: art("1") } }),
    build: step({ inputs: { p: art("1"), src: art("2") }, outputs: { out: art("3") } }),
  });
  const b = run("b", {
    prep: step({ outputs: { p: art("1") } }),
    build: step({ inputs: { p: art("1"), src: art("4") }, outputs: { out: art("5") } }),
  });
  const d = diffRuns(a, b);
  assertEquals(d.first_divergence, {
    step: "build",
    what: "input",
    name: "src",
    a: H("2"),
    b: H("4"),
  });
  assertEquals(d.steps.map((s) => [s.step, s.same, s.outputs.map((o) => o.name)]), [
    ["prep", true, []],
    ["build", false, ["out"]],
  ]);
  const outputOnly = diffRuns(
    a,
    run("b", {
      prep: step({ outputs: { p: art("6") } }),
      build: a.steps.build!,
    }),
  );
  assertEquals(outputOnly.first_divergence?.what, "output");
  assertEquals(outputOnly.first_divergence?.step, "prep");
});

Deno.test("diffRuns: status, attempts, executor, environment and a step in one run only", () => {
  const a = run("a", { s: step(), gone: step() });
  const b = run("b", {
    s: step({
      status: "failed",
      attempts: 3,
      executor: { kind: "command", argv: ["sh", "-c", "false"] },
    }),
    added: step(),
  }, { environment: { deno_version: "2.9.7" }, workflow: { name: "w", sha256: H("x") } });
  const d = diffRuns(a, b);
  assertEquals(d.steps.map((s) => [s.step, s.in]), [["s", "both"], ["gone", "a"], ["added", "b"]]);
  const s = d.steps[0]!;
  assertEquals([s.status, s.attempts], [{ a: "succeeded", b: "failed" }, { a: 1, b: 3 }]);
  assertEquals(s.executor, [{ name: "argv[2]", a: "true", b: "false" }]);
  assertEquals(d.environment, [{ name: "deno_version", a: "2.9.6", b: "2.9.7" }]);
  assertEquals(d.workflow.same, false);
  assertEquals(d.first_divergence, { step: "gone", what: "step", name: "gone", a: null, b: null });
  const noSnapshot = diffRuns(a, { ...b, environment: null });
  assertEquals([noSnapshot.environment_compared, noSnapshot.environment], [false, []]);
});

Deno.test("flattenFacts and withoutRunId: timestamps and the run's own id say nothing", () => {
  assertEquals(
    flattenFacts({ captured_at: "now", platform: { os: "linux" }, git: { dirty: false } }),
    { "platform.os": "linux", "git.dirty": false },
  );
  assertEquals(
    withoutRunId({ env: { LILY_RUN_ID: "r1", TMPDIR: "/w/runs/r1/tmp" }, argv: ["r1x"] }, "r1"),
    { env: { LILY_RUN_ID: "<run_id>", TMPDIR: "/w/runs/<run_id>/tmp" }, argv: ["<run_id>x"] },
  );
});

Deno.test("outputDrifts: same, differs, new and missing, the worst per step", () => {
  const original = run("a", {
    same: step({ outputs: { o: art("1") } }),
    changed: step({ outputs: { o: art("1"), p: art("2") } }),
    lost: step({ outputs: { o: art("1") } }),
    grown: step({ outputs: {} }),
  });
  const reapplied = run("b", {
    same: step({ outputs: { o: { artifact_id: "other", sha256: H("1") } } }),
    changed: step({ outputs: { o: art("1"), p: art("3") } }),
    lost: step({ status: "failed", outputs: {} }),
    grown: step({ outputs: { o: art("1") } }),
  });
  assertEquals(outputDrifts(original, reapplied).map((d) => [d.step, d.drift]), [
    ["same", "same"],
    ["changed", "differs"],
    ["lost", "missing"],
    ["grown", "new"],
  ]);
  const changed = outputDrifts(original, reapplied)[1]!;
  assertEquals(changed.outputs, [
    { name: "o", drift: "same", original: H("1"), reapplied: H("1") },
    { name: "p", drift: "differs", original: H("2"), reapplied: H("3") },
  ]);
});
