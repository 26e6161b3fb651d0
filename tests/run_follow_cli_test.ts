import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import {
  assertCleanError,
  assertNoProcessWith,
  firstRunId,
  lily,
  lilyInBackground,
  marker,
  processesWith,
  runEvents,
  SANDBOX_ENV,
  waitFor,
  waitForEvent,
  withTempDir,
} from "./_helpers.ts";

const FLOW = [
  "name: follow",
  "steps:",
  "  - id: wait",
  "    shell: while [ ! -f release ]; do sleep 0.05; done; echo released",
  "  - id: after",
  "    needs: [wait]",
  "    shell: echo after",
  "gates:",
  "  - { id: check, step: after, shell: echo checked }",
  "",
].join("\n");

Deno.test("run show --follow --json from a second process prints events as journaled until the run ends", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws, SANDBOX_ENV);
    const runId = await firstRunId(ws);
    await waitForEvent(ws, runId, "attempt_spawned", "the first step to start");
    const follower = lilyInBackground(["run", "show", runId, "--follow", "--json"], ws);
    // The follower keeps waiting while the step waits for the release file.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert(!(await runEvents(ws, runId)).some((e) => e.type === "run_finished"));
    await Deno.writeTextFile(join(ws, "release"), "");
    const [followed, ran] = await Promise.all([follower.done, runner.done]);
    assertEquals([followed.code, ran.code], [0, 0], followed.stderr + ran.stderr);
    const lines = followed.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines, await runEvents(ws, runId));
    assertEquals(lines.at(-1)?.type, "run_finished");
    assert(lines.some((e) => e.type === "gate_finished"));
  });
});

Deno.test("run show --follow prints one line per event and ends with the run's status", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    await Deno.writeTextFile(join(ws, "release"), "");
    const run = await lily(["run", "start", "flow.yaml", "--json"], {
      workspace: ws,
      env: SANDBOX_ENV,
    });
    const runId = JSON.parse(run.stdout).run_id as string;
    const shown = await lily(["run", "show", runId, "--follow"], { workspace: ws });
    assertEquals(shown.code, 0, shown.stderr);
    const lines = shown.stdout.trim().split("\n");
    assertEquals(lines.length, (await runEvents(ws, runId)).length);
    assert(/ #1 run_started$/.test(lines[0]), lines[0]);
    assert(lines.some((l) => / attempt_finished wait#1 status="succeeded" exit_code=0$/.test(l)));
    assert(lines.some((l) => / gate_finished after#1 gate=check:pass$/.test(l)));
    assertEquals(shown.stderr.trim(), `Run ${runId} succeeded`);
  });
});

Deno.test("--follow of a run whose runner was killed says so and exits 1 instead of waiting", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: killed\nsteps:\n  - id: long\n    shell: echo started; sleep ${mark}\n`,
    );
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws, SANDBOX_ENV);
    const runId = await firstRunId(ws);
    await waitFor(
      "the step's first line to be captured",
      async () =>
        (await lily(["logs", runId], { workspace: ws })).stdout.includes("started") || undefined,
    );
    runner.child.kill("SIGKILL");
    await runner.done;
    try {
      const logs = await lily(["logs", runId, "--follow"], { workspace: ws });
      assertCleanError(logs, 1, /has not finished and no runner is running it/);
      assertEquals(logs.stdout, "==> long#1 stdout <==\nstarted\n");
      const events = await lily(["run", "show", runId, "--follow", "--json"], { workspace: ws });
      assertEquals(events.code, 1);
      const lines = events.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assertEquals(lines.at(-1)?.error.code, "failed");
      assertEquals(lines.length - 1, (await runEvents(ws, runId)).length);
    } finally {
      // The killed runner's step runs on (outside bubblewrap) until a resume kills it.
      for (const pid of await processesWith(mark)) Deno.kill(pid, "SIGKILL");
      await assertNoProcessWith(mark);
    }
  });
});

Deno.test("run show --follow of an unknown run is one line, exit 1", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    await Deno.writeTextFile(join(ws, "release"), "");
    assertEquals(
      (await lily(["run", "start", "flow.yaml"], { workspace: ws, env: SANDBOX_ENV })).code,
      0,
    );
    const other = "01234567-89ab-4def-8123-456789abcdef";
    assertCleanError(
      await lily(["run", "show", other, "--follow"], { workspace: ws }),
      1,
      /does not exist/,
    );
  });
});
