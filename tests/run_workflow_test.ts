import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import {
  assertCleanError,
  assertNoProcessWith,
  firstRunId,
  lily,
  lilyInBackground,
  lilyJson,
  marker,
  runEvents,
  waitForEvent,
  withTempDir,
} from "./_helpers.ts";

interface StepState {
  status: string;
  attempts: {
    attempt: number;
    status: string;
    started_at: string;
    ended_at: string;
    exit_code: number | null;
    message: string | null;
    outputs: Record<string, string>;
    logs: Record<string, string>;
    gates: Record<string, { status: string; required: boolean; result_id: string }>;
    executor: Record<string, unknown>;
  }[];
  outputs: Record<string, string>;
  warnings: string[];
}
interface RunDoc {
  run_id: string;
  status: string;
  reason: string | null;
  run_state: { steps: Record<string, StepState>; inputs: Record<string, string> };
}

async function start(ws: string, flow: string, ...args: string[]) {
  await Deno.writeTextFile(join(ws, "flow.yaml"), flow);
  const result = await lily(["run", "start", "flow.yaml", "--json", ...args], { workspace: ws });
  const doc = result.stdout ? JSON.parse(result.stdout) as RunDoc : undefined;
  return { ...result, doc: doc! };
}

Deno.test("a workflow runs end to end: outputs validated and committed, logs stored, state shown", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "wo.json"), JSON.stringify({ goal: "ship it" }));
    const { code, doc, stderr } = await start(
      ws,
      `
name: e2e
inputs:
  wo: { type: work_order.v1 }
steps:
  - id: plan
    shell: 'echo "{\\"goal\\": \\"ship it\\"}" > "$LILY_OUTPUT_DIR/plan.json"; echo planned; echo warn >&2'
    inputs: { wo: inputs.wo }
    outputs:
      plan: { type: work_order.v1, path: plan.json }
  - id: report
    shell: 'test -r "$LILY_INPUT_PLAN" && cp "$LILY_INPUT_PLAN" "$LILY_OUTPUT_DIR/report.txt"'
    inputs: { plan: steps.plan.outputs.plan }
    outputs:
      report: { type: report.v1, path: report.txt }
`,
      "--input",
      "wo=wo.json",
    );
    assertEquals(code, 0, stderr);
    assertEquals(doc.status, "succeeded");
    assertMatch(stderr, /plan#1 started/);
    const plan = doc.run_state.steps.plan;
    assertEquals(plan.status, "succeeded");
    const planRef = await lilyJson<{ producer_id: string; input_artifact_refs: string[] }>(
      ["artifact", "show", plan.outputs.plan],
      ws,
    );
    assertEquals(planRef.producer_id, "plan");
    assertEquals(planRef.input_artifact_refs, [doc.run_state.inputs.wo]);
    const stdout = await lily(["artifact", "get", plan.attempts[0].logs.stdout], { workspace: ws });
    assertEquals(stdout.stdout, "planned\n");
    const stderrLog = await lily(["artifact", "get", plan.attempts[0].logs.stderr], {
      workspace: ws,
    });
    assertEquals(stderrLog.stdout, "warn\n");
    const report = await lily(["artifact", "get", doc.run_state.steps.report.outputs.report], {
      workspace: ws,
    });
    assertEquals(JSON.parse(report.stdout), { goal: "ship it" });
    const shown = await lilyJson<{ manifest: { status: string; work_order_ref: unknown } }>(
      ["run", "show", doc.run_id],
      ws,
    );
    assertEquals(shown.manifest.status, "succeeded");
    assert(shown.manifest.work_order_ref !== null);
    const human = await lily(["run", "show", doc.run_id], { workspace: ws });
    assertMatch(human.stdout, /^plan\s+succeeded\s+1\s+/m);
    assertEquals((await lily(["verify"], { workspace: ws })).code, 0);
    const tmp = [...Deno.readDirSync(join(ws, ".iris", "runs", doc.run_id, "tmp"))];
    assertEquals(tmp, [], "staging dirs of committed attempts are removed");
  });
});

Deno.test("a missing or invalid declared output fails the step and names the output", async () => {
  await withTempDir(async (ws) => {
    const missing = await start(
      ws,
      `
name: missing
steps:
  - id: build
    shell: "true"
    outputs: { bin: { type: bin.v1, path: app.bin } }
`,
    );
    assertEquals(missing.code, 1);
    assertEquals(missing.doc.status, "failed");
    assertMatch(
      missing.doc.reason!,
      /Step build did not produce declared output "bin" of step build \(app\.bin in LILY_OUTPUT_DIR\)/,
    );
    const invalid = await start(
      ws,
      `
name: invalid
steps:
  - id: plan
    shell: 'echo "{\\"title\\": 1}" > "$LILY_OUTPUT_DIR/wo.json"'
    outputs: { wo: { type: work_order.v1, path: wo.json } }
`,
    );
    assertEquals(invalid.doc.status, "failed");
    assertMatch(
      invalid.doc.reason!,
      /output "wo" .* does not match schema work_order\.v1: \$\.goal/,
    );
    const before = await lilyJson<unknown[]>(["artifact", "list", "--type", "work_order.v1"], ws);
    assertEquals(before, [], "nothing of the invalid output was committed");
  });
});

Deno.test("retry: a failing step gets new attempts up to max_attempts, with backoff", async () => {
  await withTempDir(async (ws) => {
    const { code, doc } = await start(
      ws,
      `
name: flaky
steps:
  - id: flaky
    shell: 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]'
    retry: { max_attempts: 3, backoff: 10ms }
  - id: hopeless
    needs: [flaky]
    shell: "exit 7"
    retry: { max_attempts: 2, on: [timeout] }
`,
    );
    assertEquals(code, 1);
    const flaky = doc.run_state.steps.flaky;
    assertEquals(flaky.status, "succeeded");
    assertEquals(flaky.attempts.map((a) => [a.status, a.exit_code]), [
      ["failed", 1],
      ["failed", 1],
      ["succeeded", 0],
    ]);
    const hopeless = doc.run_state.steps.hopeless;
    assertEquals(hopeless.attempts.length, 1, "exit codes do not retry when only timeouts do");
    assertEquals(hopeless.attempts[0].exit_code, 7);
    assertMatch(doc.reason!, /step hopeless failed \(attempt 1\)/);
  });
});

Deno.test("a timeout kills the step's whole process tree", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    const { doc } = await start(
      ws,
      `
name: hang
steps:
  - id: hang
    shell: "sleep ${mark} & sleep ${mark}; echo never"
    timeout: 300ms
`,
    );
    assertEquals(doc.status, "failed");
    assertEquals(doc.run_state.steps.hang.attempts[0].status, "timeout");
    await assertNoProcessWith(mark);
  });
});

Deno.test("independent steps run in parallel up to --jobs, and one at a time with --jobs 1", async () => {
  await withTempDir(async (ws) => {
    const flow = `
name: parallel
steps:
  - id: a
    shell: "sleep 0.4"
  - id: b
    shell: "sleep 0.4"
  - id: c
    needs: [a, b]
    shell: "true"
`;
    const overlap = (s: Record<string, StepState>) => {
      const [a, b] = [s.a.attempts[0], s.b.attempts[0]];
      return Date.parse(a.started_at) < Date.parse(b.ended_at) &&
        Date.parse(b.started_at) < Date.parse(a.ended_at);
    };
    const two = await start(ws, flow, "--jobs", "2");
    assertEquals(two.doc.status, "succeeded");
    assert(overlap(two.doc.run_state.steps), "a and b overlapped with --jobs 2");
    const c = two.doc.run_state.steps.c.attempts[0];
    for (const dep of ["a", "b"]) {
      assert(
        Date.parse(c.started_at) >= Date.parse(two.doc.run_state.steps[dep].attempts[0].ended_at),
      );
    }
    const one = await start(ws, flow, "--jobs", "1");
    assert(!overlap(one.doc.run_state.steps), "a and b did not overlap with --jobs 1");
  });
});

Deno.test("with --jobs 1 two runs of the same workflow run steps in the same order", async () => {
  await withTempDir(async (ws) => {
    const flow = `
name: order
steps:
  - { id: z, shell: "true" }
  - { id: m, shell: "true", needs: [z] }
  - { id: a, shell: "true" }
  - { id: q, shell: "true", needs: [a, z] }
  - { id: b, shell: "true" }
`;
    const orders: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const { doc } = await start(ws, flow, "--jobs", "1");
      const events = await runEvents(ws, doc.run_id);
      orders.push(events.filter((e) => e.type === "attempt_started").map((e) => e.step!));
    }
    assertEquals(orders[0], ["z", "m", "a", "q", "b"], "ready steps start in declaration order");
    assertEquals(orders[1], orders[0]);
  });
});

Deno.test("gates: required pass, required fail, error, optional warning and skipped", async () => {
  await withTempDir(async (ws) => {
    const ok = await start(
      ws,
      `
name: gated
steps:
  - id: build
    shell: 'echo built > "$LILY_OUTPUT_DIR/out.txt"'
    outputs: { out: { type: note.v1, path: out.txt } }
gates:
  - id: check
    step: build
    shell: 'grep -q built "$LILY_INPUT_OUT"'
  - id: style
    step: build
    required: false
    shell: "echo 'style: 3 issues' >&2; exit 1"
`,
    );
    assertEquals(ok.doc.status, "succeeded");
    const gates = ok.doc.run_state.steps.build.attempts[0].gates;
    assertEquals([gates.check.status, gates.style.status], ["pass", "fail"]);
    assertEquals(ok.doc.run_state.steps.build.warnings, ["optional gate style: fail"]);
    const style = await lilyJson<{ value: Record<string, unknown> }>(
      ["artifact", "get", gates.style.result_id],
      ws,
    );
    assertEquals(style.value.status, "fail");
    assertEquals(style.value.exit_code, 1);
    assertEquals(style.value.step_id, "build");
    const errText = await lily(["artifact", "get", style.value.stderr_artifact_id as string], {
      workspace: ws,
    });
    assertEquals(errText.stdout, "style: 3 issues\n");
    const human = await lily(["run", "show", ok.doc.run_id], { workspace: ws });
    assertMatch(human.stdout, /warning: build: optional gate style: fail/);

    const failing = await start(
      ws,
      `
name: gated-fail
steps:
  - { id: build, shell: "true" }
  - { id: deploy, needs: [build], shell: "true" }
gates:
  - { id: tests, step: build, shell: "exit 3" }
  - { id: lint, step: build, shell: "true" }
`,
    );
    assertEquals(failing.code, 1);
    assertEquals(failing.doc.status, "failed");
    assertMatch(failing.doc.reason!, /step build failed \(attempt 1\): required gate tests: fail/);
    const failedGates = failing.doc.run_state.steps.build.attempts[0].gates;
    assertEquals([failedGates.tests.status, failedGates.lint.status], ["fail", "skipped"]);
    assertEquals(failing.doc.run_state.steps.deploy.attempts, [], "dependents never ran");

    const erroring = await start(
      ws,
      `
name: gated-error
steps:
  - { id: build, shell: "true" }
gates:
  - { id: missing, step: build, command: [no-such-program-xyz] }
`,
    );
    assertEquals(erroring.doc.run_state.steps.build.attempts[0].gates.missing.status, "error");
  });
});

Deno.test("command gates see the workspace read-only; steps may write it", async () => {
  await withTempDir(async (ws) => {
    const hasBwrap = (await new Deno.Command("sh", { args: ["-c", "command -v bwrap"] }).output())
      .success;
    if (!hasBwrap) {
      if (Deno.env.get("LILY_REQUIRE_BWRAP") === "1") throw new Error("bwrap is required");
      console.log("skipped: bubblewrap (bwrap) is not installed; gates run unconfined without it");
      return;
    }
    const { doc } = await start(
      ws,
      `
name: ro
steps:
  - { id: edit, shell: "echo step > edited.txt" }
gates:
  - { id: sneaky, step: edit, required: false, shell: "echo gate > edited.txt" }
`,
    );
    assertEquals(doc.status, "succeeded");
    assertEquals(doc.run_state.steps.edit.attempts[0].gates.sneaky.status, "fail");
    assertEquals(await Deno.readTextFile(join(ws, "edited.txt")), "step\n");
  });
});

Deno.test("a human gate pauses the run until lily approve, then resume continues", async () => {
  await withTempDir(async (ws) => {
    const flow = `
name: review
steps:
  - { id: build, shell: "true" }
  - { id: ship, needs: [build], shell: "touch shipped" }
gates:
  - id: review
    step: build
    human: { prompt: "Ship it?" }
`;
    const paused = await start(ws, flow);
    assertEquals(paused.code, 3);
    assertEquals(paused.doc.status, "waiting");
    const runId = paused.doc.run_id;
    const shown = await lilyJson<{ manifest: { status: string } }>(["run", "show", runId], ws);
    assertEquals(shown.manifest.status, "waiting");
    assertCleanError(
      await lily(["approve", runId, "nope"], { workspace: ws }),
      2,
      /Run \S+'s workflow has no gate "nope"; its human gates: review; waiting: review$/,
    );
    const approved = await lilyJson<{ status: string; result_id: string }>(
      ["approve", runId, "review", "--reason", "looks good"],
      ws,
    );
    assertEquals(approved.status, "pass");
    const result = await lilyJson<{ value: { reasons: string[]; decided_by: string } }>(
      ["artifact", "get", approved.result_id],
      ws,
    );
    assertEquals(result.value.reasons, ["looks good"]);
    const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    const state = JSON.parse(resumed.stdout) as RunDoc;
    assertEquals(state.status, "succeeded");
    assertEquals(state.run_state.steps.build.attempts.length, 1, "build did not run again");
    assert((await Deno.stat(join(ws, "shipped"))).isFile);

    const second = await start(ws, flow);
    await lilyJson(["approve", second.doc.run_id, "review", "--reject", "--reason", "no"], ws);
    const rejected = await lily(["run", "resume", second.doc.run_id, "--json"], { workspace: ws });
    assertEquals(rejected.code, 1);
    assertMatch(JSON.parse(rejected.stdout).reason, /required gate review: fail/);
  });
});

Deno.test("lily run cancel stops a live run, kills its children and marks it cancelled", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: long\nsteps:\n  - { id: wait, command: [sleep, "${mark}"] }\n`,
    );
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws);
    const runId = await firstRunId(ws);
    await waitForEvent(ws, runId, "attempt_spawned", "the step to spawn");
    const second = await lily(["run", "resume", runId], { workspace: ws });
    assertEquals(second.code, 1);
    assertMatch(second.stderr, /is already being run by process \d+/);
    const cancel = await lilyJson<{ status: string }>(["run", "cancel", runId], ws);
    assertEquals(cancel.status, "cancelled");
    const finished = await runner.done;
    assertEquals(finished.code, 1);
    await assertNoProcessWith(mark);
    const shown = await lilyJson<{ manifest: { status: string }; run_state: RunDoc["run_state"] }>(
      ["run", "show", runId],
      ws,
    );
    assertEquals(shown.manifest.status, "cancelled");
    assertEquals(shown.run_state.steps.wait.attempts[0].status, "cancelled");
    assertCleanError(
      await lily(["run", "cancel", runId], { workspace: ws }),
      1,
      /already cancelled; nothing to cancel/,
    );
  });
});

Deno.test("run inputs are checked before anything is created", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: in\ninputs:\n  wo: { type: work_order.v1 }\nsteps:\n  - { id: a, shell: 'true' }\n",
    );
    const run = (...args: string[]) =>
      lily(["run", "start", "flow.yaml", ...args], { workspace: ws });
    assertCleanError(await run(), 2, /Missing run input "wo" \(work_order\.v1\)/);
    assertCleanError(
      await run("--input", "x=y"),
      2,
      /Unknown run input "x": the workflow declares "wo"/,
    );
    assertCleanError(await run("--input", "wo"), 2, /Invalid --input "wo": expected NAME=PATH/);
    assertCleanError(await run("--input", "wo=nope.json"), 1, /file nope\.json does not exist/);
    await Deno.writeTextFile(join(ws, "bad.json"), JSON.stringify({ title: "no goal" }));
    assertCleanError(
      await run("--input", "wo=bad.json"),
      1,
      /Run input "wo": bad\.json does not match schema work_order\.v1: \$\.goal/,
    );
    assertCleanError(await run("--jobs", "0"), 2, /Invalid --jobs "0"/);
    const runs = await lilyJson<unknown[]>(["run", "list"], ws);
    assertEquals(runs, []);
  });
});

Deno.test("a step's cwd must stay inside the workspace, symlinks included", async () => {
  await withTempDir(async (ws) => {
    const outside = await Deno.makeTempDir({ prefix: "lily_outside_" });
    try {
      await Deno.symlink(outside, join(ws, "escape"));
      const { doc } = await start(
        ws,
        `name: cwd\nsteps:\n  - { id: a, shell: "touch pwned", cwd: escape }\n`,
      );
      assertEquals(doc.status, "failed");
      assertMatch(doc.reason!, /resolves outside/);
      assertEquals([...Deno.readDirSync(outside)], []);
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("cancelling while a gate runs records the step as cancelled, not failed", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: g\nsteps:\n  - { id: a, shell: "true" }\ngates:\n  - { id: slow, step: a, command: [sleep, "${mark}"] }\n`,
    );
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws);
    const runId = await firstRunId(ws);
    await waitForEvent(ws, runId, "gate_spawned", "the gate to spawn");
    await lilyJson(["run", "cancel", runId], ws);
    assertEquals((await runner.done).code, 1);
    await assertNoProcessWith(mark);
    const shown = await lilyJson<{ run_state: RunDoc["run_state"] }>(["run", "show", runId], ws);
    assertEquals(shown.run_state.steps.a.status, "cancelled");
  });
});

Deno.test("LILY_USER is recorded as who started the run", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: u\nsteps:\n  - { id: a, shell: 'true' }\n",
    );
    const result = await lily(["run", "start", "flow.yaml", "--json"], {
      workspace: ws,
      env: { LILY_USER: "alice" },
    });
    const doc = JSON.parse(result.stdout) as RunDoc & { run_state: { workflow_ref: string } };
    const ref = await lilyJson<{ producer_id: string; producer_kind: string }>(
      ["artifact", "show", doc.run_state.workflow_ref],
      ws,
    );
    assertEquals([ref.producer_id, ref.producer_kind], ["alice", "human"]);
  });
});
