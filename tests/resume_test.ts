import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import {
  assertNoProcessWith,
  firstRunId,
  lily,
  lilyInBackground,
  lilyJson,
  marker,
  processesWith,
  runEvents,
  waitFor,
  waitForEvent,
  withTempDir,
} from "./_helpers.ts";
import { bwrap } from "./_executor_fixtures.ts";

const STEPS = ["fetch", "parse", "lint", "typecheck", "unit", "build", "package", "docs", "sign"];
const ROUNDS = 12;

function workflow(): string {
  const needs: Record<string, string[]> = {
    parse: ["fetch"],
    lint: ["parse"],
    typecheck: ["parse"],
    unit: ["typecheck"],
    build: ["lint", "unit"],
    package: ["build"],
    docs: ["parse"],
    sign: ["package", "docs"],
  };
  const steps = STEPS.map((id) =>
    [
      `  - id: ${id}`,
      `    shell: 'echo ${id} >> counter.log; sleep 0.25; echo ${id} > "$LILY_OUTPUT_DIR/out.txt"'`,
      `    outputs: { out: { type: note.v1, path: out.txt } }`,
      ...(needs[id] ? [`    needs: [${needs[id].join(", ")}]`] : []),
    ].join("\n")
  );
  return `name: resumable\nsteps:\n${steps.join("\n")}\n`;
}

async function counts(ws: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const text = await Deno.readTextFile(join(ws, "counter.log")).catch(() => "");
  for (const line of text.split("\n").filter(Boolean)) out[line] = (out[line] ?? 0) + 1;
  return out;
}

Deno.test("SIGKILL of the runner at random points: resume never re-runs a finished step", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), workflow());
    const seed = Date.now();
    let rand = seed;
    const random = () => (rand = (rand * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let runId: string | undefined;
    let kills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const args = runId ? ["run", "resume", runId, "--jobs", "2"] : [
        "run",
        "start",
        "flow.yaml",
        "--jobs",
        "2",
      ];
      const before = runId ? await runEvents(ws, runId) : [];
      const runner = lilyInBackground(args, ws);
      runId ??= await firstRunId(ws);
      const id = runId;
      const spawned = await waitFor("a step to be running, or the run to end", async () => {
        const events = await runEvents(ws, id);
        if (events.slice(before.length).some((e) => e.type === "attempt_spawned")) return true;
        if (events.slice(before.length).some((e) => e.type === "run_finished")) return false;
        return undefined;
      });
      if (!spawned) {
        await runner.done;
        break;
      }
      await new Promise((r) => setTimeout(r, random() * 120));
      const finishedBefore = new Set(
        (await runEvents(ws, id)).filter((e) =>
          e.type === "step_finished" && e.status === "succeeded"
        )
          .map((e) => e.step!),
      );
      const countsBefore = await counts(ws);
      try {
        runner.child.kill("SIGKILL");
      } catch {
        // It ended on its own just now.
      }
      await runner.done;
      kills++;
      const resumedCheck = await lily(["run", "show", id, "--json"], { workspace: ws });
      assertEquals(resumedCheck.code, 0, `round ${round} (seed ${seed}): run show failed`);
      for (const step of finishedBefore) {
        const after = await counts(ws);
        assertEquals(after[step], countsBefore[step], `seed ${seed}: ${step} re-ran`);
      }
    }
    assert(runId !== undefined);
    const finishedBeforeFinal = new Set(
      (await runEvents(ws, runId)).filter((e) =>
        e.type === "step_finished" && e.status === "succeeded"
      )
        .map((e) => e.step!),
    );
    const countsBeforeFinal = await counts(ws);
    const final = await lily(["run", "resume", runId, "--json"], { workspace: ws });
    const doc = JSON.parse(final.stdout);
    assertEquals(doc.status, "succeeded", `seed ${seed}: ${final.stderr}`);
    const after = await counts(ws);
    for (const step of finishedBeforeFinal) {
      assertEquals(after[step], countsBeforeFinal[step], `seed ${seed}: ${step} re-ran at the end`);
    }
    const events = await runEvents(ws, runId);
    const finishedAt = new Map<string, number>();
    events.forEach((e, i) => {
      if (e.type === "step_finished" && e.status === "succeeded" && !finishedAt.has(e.step!)) {
        finishedAt.set(e.step!, i);
      }
      if (e.type === "attempt_started" && finishedAt.has(e.step!)) {
        throw new Error(`seed ${seed}: ${e.step} started again after it had succeeded`);
      }
    });
    const interrupted = events.filter((e) =>
      e.type === "attempt_finished" && e.status === "interrupted"
    );
    assert(kills >= 10, `only ${kills} kills landed (seed ${seed})`);
    assert(interrupted.length >= 1, `no attempt was recorded as interrupted (seed ${seed})`);
    for (const step of STEPS) {
      const started = events.filter((e) => e.type === "attempt_started" && e.step === step).length;
      assert(
        after[step] >= 1 && after[step] <= started,
        `${step}: ${after[step]} runs, ${started} attempts`,
      );
      assertEquals(doc.run_state.steps[step].status, "succeeded");
    }
    const verify = await lily(["verify"], { workspace: ws });
    assertEquals(verify.code, 0, verify.stdout);
  });
});

Deno.test("a runner killed while gates run: resume kills the gate's processes and re-runs only the gates", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: gated",
        "steps:",
        "  - { id: build, shell: 'echo build >> counter.log' }",
        "gates:",
        `  - { id: slow, step: build, shell: '[ -f gate_may_pass ] && exit 0; sleep ${mark}' }`,
      ].join("\n") + "\n",
    );
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws);
    const runId = await firstRunId(ws);
    await waitForEvent(ws, runId, "gate_spawned", "the gate to spawn");
    await waitFor(
      "the gate's sleep",
      async () => (await processesWith(mark)).length > 0 || undefined,
    );
    runner.child.kill("SIGKILL");
    await runner.done;
    // Under bubblewrap the gate dies with its runner (bwrap's --die-with-parent,
    // soon after the SIGKILL); as a bare process group it outlives it.
    if (bwrap) {
      await assertNoProcessWith(mark);
    } else {
      assert((await processesWith(mark)).length > 0, "the bare gate outlives its runner");
    }
    const listed = await lilyJson<{ run_id: string; runner_alive?: boolean }[]>(
      ["run", "list"],
      ws,
    );
    assertEquals(listed[0].runner_alive, false);
    assertMatch((await lily(["run", "list"], { workspace: ws })).stdout, /running \(runner gone/);
    await Deno.writeTextFile(join(ws, "gate_may_pass"), "");
    const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    await assertNoProcessWith(mark);
    assertEquals(await Deno.readTextFile(join(ws, "counter.log")), "build\n", "build ran once");
    const doc = JSON.parse(resumed.stdout);
    assertEquals(doc.run_state.steps.build.attempts.length, 1);
    assertEquals(doc.run_state.steps.build.attempts[0].gates.slow.status, "pass");
  });
});
