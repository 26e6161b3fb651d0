/**
 * Routes (`on_fail`) and retry rules through the CLI, as a user runs them:
 * a gate that sends its step back with its verdict, a step that sends an
 * ancestor back with its failure, the bounds `max` and `max_transitions`,
 * a crash in the middle of a loop then `lily run resume`, and bad routes
 * refused at load.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import {
  assertCleanError,
  fingerprint,
  firstRunId,
  lily,
  lilyInBackground,
  lilyJson,
  runEvents,
  waitFor,
  waitForEvent,
  withTempDir,
} from "./_helpers.ts";

interface Attempt {
  attempt: number;
  cause: string | null;
  status: string;
  outputs: Record<string, string>;
}
interface Show {
  manifest: { status: string };
  run_state: {
    status: string;
    reason: string | null;
    routing_counters: Record<string, number>;
    steps: Record<string, { status: string; attempts: Attempt[]; feedback: string | null }>;
  };
  routes: { route: string; count: number; max: number; feedback: string; reset: string[] }[];
}

/**
 * A step that records its attempt and the attempt its feedback judged, and
 * a gate that passes from attempt `passAt` on.
 */
function gateLoop(max: number, passAt: number): string {
  return `name: loop
steps:
  - id: edit
    shell: >-
      fb=none; [ -n "$LILY_INPUT_FEEDBACK" ] && fb=$(grep -o '"attempt":[0-9]*' "$LILY_INPUT_FEEDBACK");
      echo "$LILY_ATTEMPT $fb" > "$LILY_OUTPUT_DIR/n.txt"
    outputs: { n: { type: count.v1, path: n.txt } }
gates:
  - id: tests
    step: edit
    shell: '[ "$(cut -d" " -f1 "$LILY_INPUT_N")" -ge ${passAt} ]'
    on_fail: { goto: edit, max: ${max} }
`;
}

async function start(ws: string, flow: string, env: Record<string, string> = {}) {
  await Deno.writeTextFile(join(ws, "flow.yaml"), flow);
  return await lily(["run", "start", "flow.yaml"], { workspace: ws, env });
}

async function show(ws: string, runId: string): Promise<Show> {
  return await lilyJson<Show>(["run", "show", runId], ws);
}

async function onlyRun(ws: string): Promise<string> {
  const runs = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
  assertEquals(runs.length, 1);
  return runs[0].run_id;
}

Deno.test("a gate that fails twice then passes under max: 3: the run succeeds, three visits recorded", async () => {
  await withTempDir(async (ws) => {
    const ran = await start(ws, gateLoop(3, 3));
    assertEquals(ran.code, 0, ran.stderr);
    assertMatch(ran.stderr, /route gate tests on_fail → edit: after edit#1, 1 of max 3/);
    assertMatch(ran.stderr, /edit#2 started \(route\)/);
    const runId = await onlyRun(ws);
    const doc = await show(ws, runId);
    const edit = doc.run_state.steps.edit;
    assertEquals(edit.attempts.map((a) => [a.attempt, a.cause]), [
      [1, "first"],
      [2, "route"],
      [3, "route"],
    ]);
    assertEquals(doc.run_state.routing_counters, { "gates.tests.on_fail": 2 });
    assertEquals(doc.routes.map((r) => [r.route, r.count, r.max, r.reset]), [
      ["gates.tests.on_fail", 1, 3, ["edit"]],
      ["gates.tests.on_fail", 2, 3, ["edit"]],
    ]);
    // Each routed visit saw, as $LILY_INPUT_FEEDBACK, the gate result of the visit before.
    const notes = await Promise.all(edit.attempts.map(async (a) => {
      const got = await lily(["artifact", "get", a.outputs.n], { workspace: ws });
      return got.stdout.trim();
    }));
    assertEquals(notes, ["1 none", '2 "attempt":1', '3 "attempt":2']);
    const feedback = await lilyJson<{ artifact_type: string }>(
      ["artifact", "show", doc.routes[1].feedback],
      ws,
    );
    assertEquals(feedback.artifact_type, "gate_result.v1");
    const text = await lily(["run", "show", runId], { workspace: ws });
    assertMatch(text.stdout, /edit\s+succeeded\s+3 \(route 2\)/);
    assertMatch(text.stdout, /Routes taken:\n {2}1\. gate tests on_fail → edit: after edit#1/);
    assertMatch(text.stdout, /\n {2}2\. gate tests on_fail → edit: after edit#2, 2 of max 3/);
  });
});

Deno.test("the same loop under max: 1 fails the run, naming the route and the bound", async () => {
  await withTempDir(async (ws) => {
    const ran = await start(ws, gateLoop(1, 3));
    assertEquals(ran.code, 1, ran.stderr);
    const bound = "route gate tests on_fail → edit reached its bound: max 1 (taken 1 time)";
    assert(ran.stdout.includes(bound), ran.stdout);
    const doc = await show(ws, await onlyRun(ws));
    assertEquals(doc.run_state.status, "failed");
    assert(doc.run_state.reason?.includes(bound), doc.run_state.reason ?? "");
    assertEquals(doc.run_state.steps.edit.attempts.map((a) => a.cause), ["first", "route"]);
    assertEquals(doc.run_state.routing_counters, { "gates.tests.on_fail": 1 });
  });
});

const STEP_ROUTE = `name: fix-build
steps:
  - id: fix
    shell: >-
      code=none; [ -n "$LILY_INPUT_FEEDBACK" ] && code=$(grep -o '"exit_code":[0-9]*' "$LILY_INPUT_FEEDBACK" | cut -d: -f2);
      echo "$code" > "$LILY_OUTPUT_DIR/patch.txt"
    outputs: { patch: { type: patch.v1, path: patch.txt } }
  - id: build
    inputs: { patch: steps.fix.outputs.patch }
    shell: '[ "$(cat "$LILY_INPUT_PATCH")" = 7 ] || { echo "needs the fix" >&2; exit 7; }'
    retry: { max_attempts: 3, exit_codes: [75] }
    on_fail: { goto: fix, max: 2 }
  - id: ship
    needs: [build]
    shell: "true"
`;

Deno.test("a step's on_fail sends an ancestor back with the step's failure as feedback", async () => {
  await withTempDir(async (ws) => {
    const ran = await start(ws, STEP_ROUTE);
    assertEquals(ran.code, 0, ran.stderr);
    const runId = await onlyRun(ws);
    const doc = await show(ws, runId);
    const { fix, build, ship } = doc.run_state.steps;
    // Exit code 7 is not in exit_codes [75]: no retry, the route at once.
    assertEquals(build.attempts.map((a) => [a.cause, a.status]), [
      ["first", "failed"],
      ["route", "succeeded"],
    ]);
    assertEquals(fix.attempts.map((a) => a.cause), ["first", "route"]);
    assertEquals(ship.attempts.map((a) => a.cause), ["first"]);
    assertEquals(doc.routes.map((r) => [r.route, r.reset]), [
      ["steps.build.on_fail", ["fix", "build", "ship"]],
    ]);
    assertEquals(fix.feedback, doc.routes[0].feedback);
    const failure = await lilyJson<{ artifact_type: string }>(
      ["artifact", "show", fix.feedback!],
      ws,
    );
    assertEquals(failure.artifact_type, "step_failure.v1");
    const payload = JSON.parse(
      (await lily(["artifact", "get", fix.feedback!], { workspace: ws })).stdout,
    );
    assertEquals([payload.step_id, payload.attempt, payload.exit_code], ["build", 1, 7]);
    assert(payload.stderr_artifact_id !== null, "the failure links its stderr");
    const events = await runEvents(ws, runId);
    assertEquals(events.filter((e) => e.type === "retry_scheduled"), [], "exit 7 is not retried");
  });
});

Deno.test("retries are decided per attempt and recorded: exit_codes, jitter and the wait", async () => {
  await withTempDir(async (ws) => {
    const flow = `name: flaky
steps:
  - id: net
    shell: '[ "$LILY_ATTEMPT" -ge 3 ] || exit 75'
    retry: { max_attempts: 3, backoff: 20ms, jitter: true, exit_codes: [75] }
`;
    const ran = await start(ws, flow);
    assertEquals(ran.code, 0, ran.stderr);
    const runId = await onlyRun(ws);
    const retries = (await runEvents(ws, runId)).filter((e) => e.type === "retry_scheduled");
    assertEquals(retries.map((e) => e.attempt), [1, 2]);
    for (const e of retries) {
      assertMatch(String(e.reason), /^exit code 75 is in retry\.exit_codes; failure \d of 3/);
      const base = e.attempt === 1 ? 20 : 40;
      const delay = Number(e.delay_ms);
      assert(delay >= base / 2 && delay <= base, `${delay} within [${base / 2}, ${base}]`);
    }
    const doc = await show(ws, runId);
    assertEquals(doc.run_state.steps.net.attempts.map((a) => a.cause), [
      "first",
      "retry",
      "retry",
    ]);
  });
});

Deno.test("during a retry's backoff run show says which step is retried and when; a cancel then stops the run", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: slow-retry\nsteps:\n  - id: net\n    shell: exit 75\n" +
        "    retry: { max_attempts: 2, backoff: 10m }\n",
    );
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws);
    try {
      const runId = await waitFor("a run", async () => {
        const runs = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
        return runs[0]?.run_id;
      });
      await waitForEvent(ws, runId, "retry_scheduled", "the retry to be scheduled");
      const text = await lily(["run", "show", runId], { workspace: ws });
      assertMatch(
        text.stdout,
        /^Status: running, retrying net in \d+\.\ds \(attempt 1: failed; failure 1 of 2/m,
      );
      const doc = await lilyJson<{ pending_retries: { step: string; delay_ms: number }[] }>(
        ["run", "show", runId],
        ws,
      );
      assertEquals(doc.pending_retries.map((r) => [r.step, r.delay_ms]), [["net", 600_000]]);
      const cancelled = await lilyJson<{ status: string }>(["run", "cancel", runId], ws);
      assertEquals(cancelled.status, "cancelled");
      const after = await lilyJson<{ pending_retries: unknown[] }>(["run", "show", runId], ws);
      assertEquals(after.pending_retries, []);
      assertEquals((await runner.done).code, 1);
    } finally {
      try {
        runner.child.kill("SIGKILL");
      } catch {
        // It already stopped.
      }
      await runner.done;
    }
  });
});

Deno.test("max_transitions bounds the routes of the whole run", async () => {
  await withTempDir(async (ws) => {
    const ran = await start(ws, `max_transitions: 1\n${gateLoop(5, 3)}`);
    assertEquals(ran.code, 1, ran.stderr);
    assertMatch(
      ran.stdout,
      /route gate tests on_fail → edit not taken: the run reached its bound max_transitions 1/,
    );
    const doc = await show(ws, await onlyRun(ws));
    assertEquals(doc.run_state.routing_counters, { "gates.tests.on_fail": 1 });
  });
});

/** Starts a run that SIGKILLs itself at a crash point; returns its id. */
async function crashAt(ws: string, point: string, flow: string): Promise<string> {
  await Deno.writeTextFile(join(ws, "flow.yaml"), flow);
  const out = await lilyInBackground(["run", "start", "flow.yaml"], ws, {
    LILY_TEST_CRASH_AT: point,
  })
    .done;
  assertEquals(out.signal, "SIGKILL", out.stderr);
  return /Started run ([0-9a-f-]{36})/.exec(out.stderr)![1];
}

Deno.test("a crash in the middle of a loop: resume continues it with its counters", async () => {
  // The gate passes only at attempt 4, which would need 3 routes; max is 2. A resume that
  // forgot the route taken before the crash would let the run succeed.
  const table: [string, string, string][] = [
    ["route_taken", gateLoop(2, 4), "gates.tests.on_fail"],
    ["route_taking", gateLoop(2, 4), "gates.tests.on_fail"],
    [
      "route_taking",
      STEP_ROUTE.replace("max: 2", "max: 1").replace("= 7", "= 9"),
      "steps.build.on_fail",
    ],
  ];
  for (const [point, flow, route] of table) {
    await withTempDir(async (ws) => {
      const runId = await crashAt(ws, point, flow);
      const before = await show(ws, runId);
      assertEquals(
        before.run_state.routing_counters,
        point === "route_taken" ? { [route]: 1 } : {},
        `${point}: counters at the crash`,
      );
      const resumed = await lily(["run", "resume", runId], { workspace: ws });
      assertEquals(resumed.code, 1, resumed.stderr);
      const max = route.startsWith("gates") ? 2 : 1;
      assertMatch(resumed.stdout, new RegExp(`reached its bound: max ${max} \\(taken ${max} time`));
      const after = await show(ws, runId);
      assertEquals(after.run_state.routing_counters, { [route]: max }, `${point}: counters`);
      const looped = route.startsWith("gates") ? "edit" : "build";
      assertEquals(
        after.run_state.steps[looped].attempts.map((a) => a.cause),
        ["first", ...Array(max).fill("route")],
        `${point}: one visit per route, no visit lost or repeated`,
      );
    });
  }
});

Deno.test("routes are checked at load: goto must be the step or an ancestor; exit 2, nothing created", async () => {
  await withTempDir(async (ws) => {
    const flow = `name: bad
steps:
  - id: fix
    shell: "true"
  - id: build
    needs: [fix]
    shell: "true"
    on_fail: { goto: fxi }
  - id: docs
    shell: "true"
    on_fail: { goto: build, max: 2 }
  - id: report
    shell: "true"
    inputs: { feedback: steps.fix.outputs.x }
gates:
  - id: tests
    step: build
    shell: "true"
    required: false
    on_fail: { goto: build }
  - id: sure
    step: docs
    shell: "true"
    on_fail: { goto: docs, max: 0 }
`;
    await Deno.writeTextFile(join(ws, "flow.yaml"), flow);
    const before = await fingerprint(join(ws, ".iris"));
    const checked = await lily(["check", "flow.yaml"], { workspace: ws });
    assertEquals(checked.code, 2);
    const lines = checked.stderr.trim().split("\n");
    assert(!/\n\s+at /.test(checked.stderr), checked.stderr);
    const expect = [
      /^lily: flow\.yaml:24 gates\.sure\.on_fail\.max: expected a whole number from 1 to 1000/,
    ];
    for (const pattern of expect) assert(lines.some((l) => pattern.test(l)), checked.stderr);
    const fixed = flow.replace("max: 0", "max: 1").replace(
      "inputs: { feedback: steps.fix.outputs.x }",
      "needs: [fix]",
    );
    await Deno.writeTextFile(join(ws, "flow.yaml"), fixed);
    const second = await lily(["run", "start", "flow.yaml"], { workspace: ws });
    assertEquals(second.code, 2);
    const got = second.stderr.trim().split("\n");
    const want = [
      /flow\.yaml:8 steps\.build\.on_fail\.goto: unknown step "fxi" \(did you mean "fix"\?\)/,
      /flow\.yaml:11 steps\.docs\.on_fail\.goto: on_fail goes to step "build", which is neither "docs" nor one of its ancestors; expected one of: docs/,
      /flow\.yaml:20 gates\.tests\.on_fail: on_fail on an optional gate is never taken/,
    ];
    for (const pattern of want) assert(got.some((l) => pattern.test(l)), second.stderr);
    assertEquals(got.length, want.length, second.stderr);
    assertEquals(await fingerprint(join(ws, ".iris")), before, "nothing created");
  });
});

Deno.test("a route's target cannot declare an input named feedback", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: taken
inputs: { order: { type: work_order.v1 } }
steps:
  - id: edit
    shell: "true"
    inputs: { Feedback: inputs.order }
gates:
  - { id: tests, step: edit, shell: "true", on_fail: { goto: edit } }
`,
    );
    assertCleanError(
      await lily(["check", "flow.yaml"], { workspace: ws }),
      2,
      /flow\.yaml:6 steps\.edit\.inputs\.Feedback: input "Feedback" collides with the input "feedback" that gates\.tests\.on_fail hands this step/,
    );
  });
});

Deno.test("a resume continues the retry budget: an interrupted attempt does not count, failed ones do", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: budget
steps:
  - id: flaky
    shell: '[ "$LILY_ATTEMPT" = 2 ] && sleep 30; exit 75'
    retry: { max_attempts: 3, backoff: 10ms, exit_codes: [75] }
`,
    );
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws);
    const runId = await firstRunId(ws);
    await waitFor("attempt 2 to run", async () => {
      const events = await runEvents(ws, runId);
      return events.some((e) => e.type === "attempt_spawned" && e.attempt === 2) || undefined;
    });
    runner.child.kill("SIGKILL");
    await runner.done;
    const resumed = await lily(["run", "resume", runId], { workspace: ws });
    assertEquals(resumed.code, 1, resumed.stderr);
    assertMatch(resumed.stdout, /step flaky failed \(attempt 4\): attempts used up \(3\)/);
    const doc = await show(ws, runId);
    assertEquals(
      doc.run_state.steps.flaky.attempts.map((a) => [a.cause, a.status]),
      [["first", "failed"], ["retry", "interrupted"], ["resume", "failed"], ["retry", "failed"]],
    );
  });
});
