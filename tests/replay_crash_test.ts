/**
 * A crash in the middle of a replay — Lily killed at a named crash point
 * during `lily run rerun --from`, `lily artifact replace` and `lily run
 * rerun --gates-only` — leaves a run that `lily run resume` continues, with
 * nothing lost and nothing done twice.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { lily, lilyInBackground, runEvents, withTempDir } from "./_helpers.ts";
import { artifacts, causes, show, startDiamond, text } from "./_replay_fixtures.ts";

/** Runs `lily` with `LILY_TEST_CRASH_AT=point` and checks it was killed there. */
async function crashAt(ws: string, point: string, args: string[]): Promise<void> {
  const out = await lilyInBackground(args, ws, { LILY_TEST_CRASH_AT: point }).done;
  assertEquals(out.signal, "SIGKILL", `${point}: ${out.stderr}`);
}

async function resume(ws: string, runId: string): Promise<string> {
  const resumed = await lily(["run", "resume", runId], { workspace: ws });
  assertEquals(resumed.code, 0, resumed.stderr);
  return resumed.stderr;
}

Deno.test("a rerun killed once journaled, or at its first attempt: resume finishes it", async () => {
  const table: [string, [number, string | null, number | undefined][]][] = [
    // The request is journaled; no step ran: resume starts b#2 as the rerun.
    ["replay_requested", [[1, "first", undefined], [2, "rerun", 1]]],
    // b#2 was journaled as started and died: it is interrupted, b#3 still supersedes b#1.
    ["attempt_started", [[1, "first", undefined], [2, "rerun", 1], [3, "resume", 1]]],
  ];
  for (const [point, bAttempts] of table) {
    await withTempDir(async (ws) => {
      const runId = await startDiamond(ws);
      await crashAt(ws, point, ["run", "rerun", runId, "--from", "b"]);
      const crashed = await show(ws, runId);
      assertEquals(crashed.run_state.status, "running", point);
      assertEquals(crashed.run_state.steps.b.outputs, {}, point);
      await resume(ws, runId);
      const steps = (await show(ws, runId)).run_state.steps;
      assertEquals(causes(steps.b), bAttempts, point);
      assertEquals(causes(steps.d), [[1, "first", undefined], [2, "rerun", 1]], point);
      assertEquals([steps.a.attempts.length, steps.c.attempts.length], [1, 1], point);
      assertMatch(await text(ws, steps.d.outputs.v), /^d2\[b[23]\(\{"goal":"a1"\}\)\+c1/);
      const requests = (await runEvents(ws, runId)).filter((e) => e.type === "rerun_requested");
      assertEquals(requests.length, 1, point);
    });
  }
});

Deno.test("a replacement killed before or after it is journaled: the run stays whole", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const original = (await show(ws, runId)).run_state.steps.a.outputs.plan;
    await Deno.writeTextFile(join(ws, "fixed.json"), '{"goal":"fixed"}');
    const replace = ["artifact", "replace", runId, original, "--json-file", "fixed.json"];
    // Stored but not journaled: the run did not change; the replacement is an unused artifact.
    const count = (await artifacts(ws, runId)).length;
    await crashAt(ws, "replacement_stored", [...replace, "--reason", "r1", "--continue"]);
    const untouched = await show(ws, runId);
    assertEquals(untouched.run_state.status, "succeeded");
    assertEquals(untouched.run_state.steps.a.outputs.plan, original);
    assertEquals((await artifacts(ws, runId)).length, count + 2);
    await resume(ws, runId);
    assertEquals((await show(ws, runId)).run_state.steps.b.attempts.length, 1);
    // Journaled, then killed before the readers ran: resume runs them against the replacement.
    await crashAt(ws, "replay_requested", [...replace, "--reason", "r2", "--continue"]);
    const pending = await show(ws, runId);
    assertEquals(pending.run_state.steps.d.status, "pending");
    const said = await resume(ws, runId);
    assertMatch(said, /b#2 started \(replace\)/);
    const steps = (await show(ws, runId)).run_state.steps;
    assertEquals(causes(steps.c), [[1, "first", undefined], [2, "replace", 1]]);
    assertEquals(
      await text(ws, steps.d.outputs.v),
      'd2[b2({"goal":"fixed"})+c2({"goal":"fixed"})]',
    );
  });
});

Deno.test("gates-only killed after its first result: the run's state is untouched, resume works", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const runDir = join(ws, ".iris", "runs", runId);
    const state = await Deno.readTextFile(join(runDir, "run_state.json"));
    const journal = await Deno.readTextFile(join(runDir, "events.jsonl"));
    await crashAt(ws, "gates_only_evaluating", ["run", "rerun", runId, "--gates-only"]);
    assertEquals(await Deno.readTextFile(join(runDir, "run_state.json")), state);
    assertEquals(await Deno.readTextFile(join(runDir, "events.jsonl")), journal);
    await resume(ws, runId);
    const again = await lily(["run", "rerun", runId, "--gates-only"], { workspace: ws });
    assertEquals(again.code, 0, again.stderr);
    const results = (await artifacts(ws, runId)).filter((r) =>
      r.artifact_type === "gate_result.v1"
    );
    assert(results.length >= 3, `${results.length} results`);
  });
});
