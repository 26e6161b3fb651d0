import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { lily, lilyInBackground, lilyJson, runEvents, waitFor, withTempDir } from "./_helpers.ts";

/** Waits until a process is stopped (state `T` in /proc). */
async function waitStopped(pid: number): Promise<void> {
  await waitFor(`process ${pid} to stop`, async () => {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] === "T" || undefined;
  });
}

const FLOW = "name: w\nsteps:\n  - { id: a, shell: 'echo a >> a.log' }\n";

function runDir(ws: string, runId: string): string {
  return join(ws, ".iris", "runs", runId);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("journal first, announce second: a run killed right after `Started run` can be resumed", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const before = await lilyInBackground(["run", "start", "flow.yaml"], ws, {
      LILY_TEST_CRASH_AT: "run_created",
    }).done;
    assertEquals(before.signal, "SIGKILL");
    assert(!/Started run/.test(before.stderr), "a run was announced before it was journaled");

    const killed = await lilyInBackground(["run", "start", "flow.yaml"], ws, {
      LILY_TEST_CRASH_AT: "run_announced",
    }).done;
    assertEquals(killed.signal, "SIGKILL");
    const runId = /Started run ([0-9a-f-]{36})/.exec(killed.stderr)?.[1];
    assert(runId !== undefined, killed.stderr);
    const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    assertEquals(JSON.parse(resumed.stdout).status, "succeeded");
    assertEquals(await Deno.readTextFile(join(ws, "a.log")), "a\n");
  });
});

Deno.test("a kill after run_finished, before run_state.json: show and resume re-derive it and the manifest status", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    for (const reader of [["run", "show"], ["run", "resume"]]) {
      const killed = await lilyInBackground(["run", "start", "flow.yaml"], ws, {
        LILY_TEST_CRASH_AT: "run_finished",
      }).done;
      assertEquals(killed.signal, "SIGKILL");
      const runId = /Started run ([0-9a-f-]{36})/.exec(killed.stderr)![1];
      const dir = runDir(ws, runId);
      const events = await runEvents(ws, runId);
      assertEquals(events.at(-1)?.type, "run_finished");
      assert(!(await exists(join(dir, "run_state.json"))), "run_state.json was written");
      const found = await lily([...reader, runId, "--json"], { workspace: ws });
      assertEquals(found.code, 0, found.stderr);
      const state = JSON.parse(await Deno.readTextFile(join(dir, "run_state.json")));
      assertEquals([state.status, state.last_seq], ["succeeded", events.length], reader.join(" "));
      const manifest = JSON.parse(await Deno.readTextFile(join(dir, "run_manifest.json")));
      assertEquals(manifest.status, "succeeded", reader.join(" "));
    }
    assertEquals(await Deno.readTextFile(join(ws, "a.log")), "a\na\n", "no step ran twice");
  });
});

Deno.test("two resumes racing: the loser never names the dead runner as the live one", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const first = lilyInBackground(["run", "start", "flow.yaml"], ws, {
      LILY_TEST_CRASH_AT: "attempt_started",
    });
    const killed = await first.done;
    assertEquals(killed.signal, "SIGKILL");
    const runId = /Started run ([0-9a-f-]{36})/.exec(killed.stderr)![1];
    const dead = JSON.parse(await Deno.readTextFile(join(runDir(ws, runId), "runner.json"))).pid;
    assertEquals(dead, first.child.pid);

    const winner = lilyInBackground(["run", "resume", runId], ws, {
      LILY_TEST_PAUSE_AT: "lease_acquired",
    });
    try {
      await waitStopped(winner.child.pid);
      const loser = await lily(["run", "resume", runId], { workspace: ws });
      assertEquals(loser.code, 1);
      assert(
        !loser.stderr.includes(String(dead)),
        `the loser named the dead runner: ${loser.stderr}`,
      );
      assertMatch(loser.stderr, /^lily: Run \S+ is being taken over by another runner right now/);
    } finally {
      winner.child.kill("SIGKILL");
      await winner.done;
    }
    const live = lilyInBackground(["run", "resume", runId], ws, {
      LILY_TEST_PAUSE_AT: "attempt_started",
    });
    try {
      await waitStopped(live.child.pid);
      const loser = await lily(["run", "resume", runId], { workspace: ws });
      assertMatch(loser.stderr, new RegExp(`already being run by process ${live.child.pid} `));
    } finally {
      live.child.kill("SIGKILL");
      await live.done;
    }
    const resumed = await lilyJson<{ status: string }>(["run", "resume", runId], ws);
    assertEquals(resumed.status, "succeeded");
  });
});

Deno.test("a cancel made while a resuming runner holds the fresh lease is carried out, not discarded", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const killed = await lilyInBackground(["run", "start", "flow.yaml"], ws, {
      LILY_TEST_CRASH_AT: "attempt_started",
    }).done;
    assertEquals(killed.signal, "SIGKILL");
    const runId = /Started run ([0-9a-f-]{36})/.exec(killed.stderr)![1];
    const runner = lilyInBackground(["run", "resume", runId], ws, {
      LILY_TEST_PAUSE_AT: "lease_acquired",
    });
    await waitStopped(runner.child.pid);
    const cancel = lilyInBackground(["run", "cancel", runId, "--json"], ws, {});
    await waitFor("the cancel request", async () => {
      return (await exists(join(runDir(ws, runId), "cancel_requested"))) || undefined;
    });
    runner.child.kill("SIGCONT");
    const [cancelled, resumed] = await Promise.all([cancel.done, runner.done]);
    assertEquals(cancelled.code, 0, cancelled.stderr);
    assertEquals(JSON.parse(cancelled.stdout).status, "cancelled");
    assertEquals(resumed.code, 1, resumed.stderr);
    assert(!(await exists(join(ws, "a.log"))), "the step ran after the cancel");
    const events = await runEvents(ws, runId);
    assertEquals(events.at(-1)?.status, "cancelled");
  });
});

Deno.test("a cancel whose runner dies before honouring it cancels the run itself", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws, {
      LILY_TEST_PAUSE_AT: "attempt_started",
    });
    await waitStopped(runner.child.pid);
    const runs = await Array.fromAsync(Deno.readDir(join(ws, ".iris", "runs")));
    const runId = runs.map((entry) => entry.name).find((name) => /^[0-9a-f-]{36}$/.test(name))!;
    const cancel = lilyInBackground(["run", "cancel", runId, "--json"], ws, {});
    await waitFor("the cancel request", async () => {
      return (await exists(join(runDir(ws, runId), "cancel_requested"))) || undefined;
    });
    runner.child.kill("SIGKILL");
    await runner.done;
    const cancelled = await cancel.done;
    assertEquals(cancelled.code, 0, cancelled.stderr);
    assertEquals(JSON.parse(cancelled.stdout).status, "cancelled");
    const show = await lilyJson<{ run_state: { status: string } }>(["run", "show", runId], ws);
    assertEquals(show.run_state.status, "cancelled");
  });
});
