/**
 * Replay controls through the CLI, as a user runs them on a diamond
 * (a → b, c → d): `lily run rerun --from` (upstream not run again,
 * downstream run again, nothing deleted), `lily run rerun --gates-only`
 * (the run's state unchanged apart from the appended results), `lily
 * artifact replace` with and without `--continue` (downstream sees the
 * replacement), `lily run show --history`, and bad requests that change
 * nothing.
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
  waitForEvent,
  withTempDir,
} from "./_helpers.ts";
import {
  artifacts,
  causes,
  journal,
  type Ref,
  show,
  startDiamond,
  text,
} from "./_replay_fixtures.ts";

Deno.test("rerun --from the middle of a diamond: upstream reused, downstream run again, nothing deleted", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const before = await show(ws, runId);
    const refsBefore = await artifacts(ws, runId);
    const journalBefore = await journal(ws, runId);
    const rerun = await lily(["run", "rerun", runId, "--from", "b", "--json"], { workspace: ws });
    assertEquals(rerun.code, 0, rerun.stderr);
    const doc = JSON.parse(rerun.stdout);
    assertEquals([doc.status, doc.rerun_from], ["succeeded", "b"]);
    const after = await show(ws, runId, true);
    const steps = after.run_state.steps;
    assertEquals(steps.a, before.run_state.steps.a, "a is not run again");
    assertEquals(steps.c, before.run_state.steps.c, "c is not run again");
    assertEquals(causes(steps.b), [[1, "first", undefined], [2, "rerun", 1]]);
    assertEquals(causes(steps.d), [[1, "first", undefined], [2, "rerun", 1]]);
    assertEquals(await text(ws, steps.d.outputs.v), 'd2[b2({"goal":"a1"})+c1({"goal":"a1"})]');
    // Nothing deleted: every artifact and every event is still there, and both only grew.
    const refsAfter = await artifacts(ws, runId);
    const ids = new Set(refsAfter.map((r) => r.artifact_id));
    assert(refsBefore.every((r) => ids.has(r.artifact_id)));
    assert(refsAfter.length > refsBefore.length);
    assertEquals(
      await text(ws, before.run_state.steps.d.outputs.v),
      'd1[b1({"goal":"a1"})+c1({"goal":"a1"})]',
    );
    const journalAfter = await journal(ws, runId);
    assert(journalAfter.startsWith(journalBefore) && journalAfter.length > journalBefore.length);
    assertEquals(after.replays.map((r) => [r.type, r.reset]), [["rerun_requested", ["b", "d"]]]);
    assertEquals(
      after.history!.filter((h) => h.step === "b").map((
        h,
      ) => [h.attempt, h.current, h.superseded_by]),
      [[1, false, 2], [2, true, null]],
    );
    const human = await lily(["run", "show", runId, "--history"], { workspace: ws });
    assertMatch(human.stdout, /b\s+succeeded\s+2 \(rerun 1\)/);
    assertMatch(human.stdout, /Replays:\n {2}1\. rerun from b by \S+ at \S+; reset b, d/);
    assertMatch(human.stdout, /b#1\s+first\s+succeeded\s+superseded by #2/);
    // A second rerun from the top runs everything again, each attempt superseding the last.
    const again = await lily(["run", "rerun", runId, "--from", "a"], { workspace: ws });
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stderr, /a#2 started \(rerun\)/);
    const top = (await show(ws, runId)).run_state.steps;
    assertEquals(causes(top.d).at(-1), [3, "rerun", 2]);
    assertEquals(await text(ws, top.d.outputs.v), 'd3[b3({"goal":"a2"})+c2({"goal":"a2"})]');
  });
});

Deno.test("rerun --gates-only: gates judge the existing outputs, run_state.json and the journal unchanged", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const runDir = join(ws, ".iris", "runs", runId);
    const stateBefore = await Deno.readTextFile(join(runDir, "run_state.json"));
    const journalBefore = await journal(ws, runId);
    const refsBefore = await artifacts(ws, runId);
    // The gate's needle changes: the same output now fails it.
    await Deno.writeTextFile(join(ws, "needle"), "zebra");
    const failed = await lily(["run", "rerun", runId, "--gates-only", "--json"], { workspace: ws });
    assertEquals(failed.code, 1, failed.stderr);
    const report = JSON.parse(failed.stdout);
    assertEquals(report.error.code, "gates_failed");
    assertEquals(
      report.results.map((r: { gate_id: string; status: string }) => [r.gate_id, r.status]),
      [
        ["has_needle", "fail"],
      ],
    );
    await Deno.writeTextFile(join(ws, "needle"), "d1");
    const passed = await lily(["run", "rerun", runId, "--gates-only", "--step", "d"], {
      workspace: ws,
    });
    assertEquals(passed.code, 0, passed.stderr);
    assertMatch(passed.stdout, /d#1 gate has_needle: pass/);
    assertMatch(passed.stdout, /no step ran; the run's state is unchanged/);
    // The run's state is byte for byte what it was; only gate results were appended.
    assertEquals(await Deno.readTextFile(join(runDir, "run_state.json")), stateBefore);
    assertEquals(await journal(ws, runId), journalBefore);
    const before = new Set(refsBefore.map((r) => r.artifact_id));
    const added = (await artifacts(ws, runId)).filter((r) => !before.has(r.artifact_id));
    assertEquals(added.map((r) => r.artifact_type), ["gate_result.v1", "gate_result.v1"]);
    for (const result of added.filter((r) => r.artifact_type === "gate_result.v1")) {
      const { value } = await lilyJson<{ value: { evaluation: string; step_id: string } }>(
        ["artifact", "get", result.artifact_id],
        ws,
      );
      assertEquals([value.evaluation, value.step_id], ["gates_only", "d"]);
    }
    assertEquals((await show(ws, runId)).run_state.steps.d.attempts.length, 1);
  });
});

Deno.test("artifact replace --continue on a diamond: downstream sees the replacement, the original stays", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const before = await show(ws, runId);
    const original = before.run_state.steps.a.outputs.plan;
    await Deno.writeTextFile(join(ws, "fixed.json"), '{"goal":"fixed"}');
    const replaced = await lily([
      "artifact",
      "replace",
      runId,
      original,
      "--json-file",
      "fixed.json",
      "--reason",
      "a's plan was wrong",
      "--continue",
      "--json",
    ], { workspace: ws, env: { LILY_USER: "ann" } });
    assertEquals(replaced.code, 0, replaced.stderr);
    const doc = JSON.parse(replaced.stdout);
    assertEquals([doc.status, doc.original, doc.reset], ["succeeded", original, ["b", "c", "d"]]);
    const steps = (await show(ws, runId)).run_state.steps;
    assertEquals(steps.a.attempts.length, 1, "the producer is not run again");
    assertEquals(steps.a.outputs.plan, doc.replacement);
    assertEquals(causes(steps.c), [[1, "first", undefined], [2, "replace", 1]]);
    assertEquals(
      await text(ws, steps.d.outputs.v),
      'd2[b2({"goal":"fixed"})+c2({"goal":"fixed"})]',
    );
    assertEquals(await text(ws, original), '{"goal":"a1"}');
    const replacement = await lilyJson<Ref>(["artifact", "show", doc.replacement], ws);
    assertEquals(
      [replacement.artifact_type, replacement.producer_id, replacement.input_artifact_refs],
      ["work_order.v1", "ann", [original]],
    );
    const { value: record } = await lilyJson<{ value: Record<string, unknown> }>(
      ["artifact", "get", doc.record],
      ws,
    );
    assertEquals(record.original_artifact_id, original);
    assertEquals(record.replacement_artifact_id, doc.replacement);
    assertEquals([record.reason, record.replaced_by, record.run_id], [
      "a's plan was wrong",
      "ann",
      runId,
    ]);
    const records = await lilyJson<Ref[]>(
      ["artifact", "list", "--type", "artifact_replacement.v1"],
      ws,
    );
    assertEquals(records.map((r) => r.artifact_id), [doc.record]);
  });
});

Deno.test("artifact replace without --continue leaves the readers pending for run resume", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const bOut = (await show(ws, runId)).run_state.steps.b.outputs.v;
    await Deno.writeTextFile(join(ws, "b.txt"), "B-by-hand\n");
    const replaced = await lily(
      ["artifact", "replace", runId, bOut, "--text-file", "b.txt", "--reason", "hand-made"],
      { workspace: ws },
    );
    assertEquals(replaced.code, 0, replaced.stderr);
    assertMatch(replaced.stdout, /reset: d\nRun them with: lily run resume /);
    const pending = await show(ws, runId);
    assertEquals(pending.run_state.status, "running");
    assertEquals(pending.run_state.steps.d.status, "pending");
    const resumed = await lily(["run", "resume", runId], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    assertMatch(resumed.stderr, /d#2 started \(replace\)/);
    const steps = (await show(ws, runId)).run_state.steps;
    assertEquals(await text(ws, steps.d.outputs.v), 'd2[B-by-hand+c1({"goal":"a1"})]');
    assertEquals([steps.b.attempts.length, steps.c.attempts.length], [1, 1]);
  });
});

Deno.test("bad replay requests: one line, exit 2 (or 1), nothing stored", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const plan = (await show(ws, runId)).run_state.steps.a.outputs.plan;
    const log = (await artifacts(ws, runId)).find((r) => r.artifact_type === "gate_result.v1");
    await Deno.writeTextFile(join(ws, "bad.json"), '{"title":"no goal"}');
    await Deno.writeTextFile(join(ws, "ok.json"), '{"goal":"x"}');
    const store = join(ws, ".iris");
    const cases: [string[], number, RegExp][] = [
      [["run", "rerun", runId], 2, /exactly one of --from <step> or --gates-only/],
      [["run", "rerun", runId, "--from", "b", "--gates-only"], 2, /exactly one of --from/],
      [["run", "rerun", runId, "--from", "bb"], 2, /no step "bb" \(did you mean "b"\?\)/],
      [
        ["run", "rerun", runId, "--from", "b", "--gate", "x"],
        2,
        /--gate goes with --gates-only only/,
      ],
      [["run", "rerun", runId, "--gates-only", "--jobs", "2"], 2, /--jobs goes with --from only/],
      [
        ["run", "rerun", runId, "--gates-only", "--jobs", "2", "--durability", "process"],
        2,
        /--jobs and --durability go with --from only/,
      ],
      [["run", "rerun", runId, "--gates-only", "--gate", "nope"], 2, /no gate "nope"/],
      [["run", "rerun", runId, "--gates-only", "--step", "a"], 2, /Step a has no gates/],
      [["run", "rerun", "0d6f5b7c-0000-4000-8000-000000000000", "--from", "a"], 1, /not|no run/i],
      [["artifact", "replace", runId, plan, "--reason", "r"], 2, /exactly one of --file/],
      [["artifact", "replace", runId, plan, "--json-file", "ok.json"], 2, /--reason/],
      [
        ["artifact", "replace", runId, plan, "--text-file", "ok.json", "--reason", "r"],
        2,
        /give its replacement with --json-file/,
      ],
      [
        ["artifact", "replace", runId, plan, "--json-file", "bad.json", "--reason", "r"],
        1,
        /does not match work_order.v1: \$\.goal/,
      ],
      [
        ["artifact", "replace", runId, plan, "--json-file", "nope.json", "--reason", "r"],
        1,
        /nope.json does not exist/,
      ],
      [
        ["artifact", "replace", runId, log!.artifact_id, "--text-file", "ok.json", "--reason", "r"],
        2,
        /neither a current step output nor an input/,
      ],
      [
        [
          "artifact",
          "replace",
          runId,
          plan,
          "--json-file",
          "ok.json",
          "--reason",
          "r",
          "--jobs",
          "2",
        ],
        2,
        /--jobs goes with --continue only/,
      ],
    ];
    for (const [args, code, pattern] of cases) {
      const before = await fingerprint(store);
      const result = await lily(args, { workspace: ws });
      assertCleanError(result, code, pattern);
      assertEquals(await fingerprint(store), before, args.join(" "));
      const json = await lily([...args, "--json"], { workspace: ws });
      assertEquals(JSON.parse(json.stdout).error.exit_code, code, args.join(" "));
    }
  });
});

Deno.test("a live run is refused by its lease, naming the runner; the run goes on", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "slow.yaml"),
      `name: slow
steps:
  - id: wait
    shell: while [ ! -e go ]; do sleep 0.05; done
  - id: after
    needs: [wait]
    command: ["true"]
`,
    );
    const bg = lilyInBackground(["run", "start", "slow.yaml"], ws);
    try {
      const runId = await firstRunId(ws);
      await waitForEvent(ws, runId, "attempt_spawned", "the slow step to start");
      for (const args of [["--from", "wait"], ["--gates-only"]]) {
        const result = await lily(["run", "rerun", runId, ...args], { workspace: ws });
        assertCleanError(result, 1, /is already being run by process \d+/);
      }
    } finally {
      await Deno.writeTextFile(join(ws, "go"), "");
      const done = await bg.done;
      assertEquals(done.code, 0, done.stderr);
    }
  });
});

Deno.test("rerun --from a step of a failed run, once its cause is fixed: the run succeeds", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: fixable
steps:
  - id: fetch
    shell: echo data > "$LILY_OUTPUT_DIR/d.txt"
    outputs: { d: { type: note.v1, path: d.txt } }
  - id: build
    inputs: { d: steps.fetch.outputs.d }
    shell: test -e fixed && cat "$LILY_INPUT_D" > "$LILY_OUTPUT_DIR/b.txt"
    outputs: { b: { type: note.v1, path: b.txt } }
`,
    );
    const failed = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
    assertEquals(failed.code, 1, failed.stderr);
    const runId = JSON.parse(failed.stdout).run_id;
    await Deno.writeTextFile(join(ws, "fixed"), "");
    const rerun = await lily(["run", "rerun", runId, "--from", "build"], { workspace: ws });
    assertEquals(rerun.code, 0, rerun.stderr);
    assertMatch(rerun.stderr, /build#2 started \(rerun\)/);
    const steps = (await show(ws, runId)).run_state.steps;
    assertEquals(causes(steps.build), [[1, "first", undefined], [2, "rerun", 1]]);
    assertEquals(steps.fetch.attempts.length, 1);
    assertEquals(await text(ws, steps.build.outputs.b), "data");
  });
});
