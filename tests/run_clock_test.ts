import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { join } from "node:path";
import { type Clock, createKernel, defineWorkflow, LilyError } from "../mod.ts";
import { openContractStore, openStore } from "../store.ts";
import { retryDelayMs } from "../src/graph/retry_delay.ts";
import { readJournal, RunJournal } from "../src/runtime/run_journal.ts";
import { lily, lilyJson, withTempDir } from "./_helpers.ts";

/** A clock whose wall time and monotonic reading both jump back an hour once `step()` is called. */
function steppingClock(): Clock & { stepBack(): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() - offset),
    monotonicMs: () => performance.now() + 10_000_000 - offset,
    stepBack: () => {
      offset += 3_600_000;
    },
  };
}

Deno.test("a clock stepping back during a step never journals a negative duration", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    try {
      const clock = steppingClock();
      const graph = defineWorkflow({
        name: "clock",
        steps: [
          { id: "a", fn: () => clock.stepBack() },
          { id: "b", needs: ["a"], fn: () => {} },
        ],
      });
      const { runId, state } = await createKernel({ workspace: ws, store, clock }).runs.start(
        graph,
      );
      assertEquals(state.status, "succeeded");
      const { events } = await readJournal(store.events, runId);
      const at = (type: string) => Date.parse(events.find((e) => e.type === type)!.at);
      assert(
        at("attempt_finished") < at("attempt_started"),
        "events are stamped by the given clock",
      );
      const durations = events.flatMap((e) => e.type === "attempt_finished" ? [e.duration_ms] : []);
      assertEquals(durations.length, 2);
      for (const ms of durations) assert(ms >= 0, `duration ${ms}`);
    } finally {
      store.close();
    }
  });
});

Deno.test("an event the reader would refuse is never appended: the writer throws naming the field", async () => {
  await withTempDir(async (dir) => {
    const store = await openStore(dir);
    const runId = (await store.runs.create()).manifest.run_id;
    const { journal } = await RunJournal.open(store.events, runId);
    try {
      await journal.append({ type: "runner_started", pid: 1, resumed: false });
      const bad = {
        type: "attempt_finished",
        step: "a",
        attempt: 1,
        status: "succeeded",
        exit_code: 0,
        message: null,
        duration_ms: -5,
        outputs: {},
        logs: {},
        executor: {},
      } as const;
      await assertRejects(
        () => journal.append(bad),
        LilyError,
        "Lily tried to journal an invalid attempt_finished event (a bug in Lily): duration_ms",
      );
      const next = await journal.append({ type: "runner_started", pid: 2, resumed: true });
      assertEquals(next.seq, 2, "the refused event took no sequence number");
    } finally {
      journal.close();
    }
    try {
      assertEquals((await readJournal(store.events, runId)).events.length, 2);
    } finally {
      store.close();
    }
  });
});

Deno.test("a negative duration_ms already on disk does not brick the run: show, resume and verify accept it", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: old\nsteps:\n  - { id: a, shell: 'true' }\n  - { id: b, shell: 'exit 1', needs: [a] }\n",
    );
    const started = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
    const runId = JSON.parse(started.stdout).run_id as string;
    const path = join(ws, ".iris", "runs", runId, "events.jsonl");
    const lines = (await Deno.readTextFile(path)).split("\n").filter(Boolean).map((l) =>
      JSON.parse(l)
    );
    const finished = lines.filter((e) => e.type === "attempt_finished");
    assertEquals(finished.length, 2);
    for (const e of finished) e.duration_ms = -3_599_996;
    await Deno.writeTextFile(path, lines.map((e) => JSON.stringify(e) + "\n").join(""));

    const shown = await lilyJson<{
      run_state: { steps: Record<string, { attempts: { duration_ms: number }[] }> };
    }>(["run", "show", runId], ws);
    assertEquals(shown.run_state.steps.a.attempts[0].duration_ms, 0);
    const verified = await lily(["verify"], { workspace: ws });
    assertEquals(verified.code, 0, verified.stdout + verified.stderr);
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: old\nsteps:\n  - { id: a, shell: 'true' }\n  - { id: b, shell: 'exit 1', needs: [a] }\n",
    );
    const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
    assertEquals(resumed.code, 1, resumed.stderr);
    assertMatch(JSON.parse(resumed.stdout).reason, /step b failed \(attempt 2\)/);
  });
});

Deno.test("faketime stepping the wall clock back during a step: the run stays readable", async () => {
  const lib = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
  ]
    .find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    });
  if (lib === undefined) {
    console.log("skipped: libfaketime is not installed");
    return;
  }
  await withTempDir(async (ws) => {
    const control = join(ws, "faketime.rc");
    await Deno.writeTextFile(control, "+0\n");
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: ntp\nsteps:\n  - { id: a, shell: 'echo "-2h" > ${control}; sleep 0.3' }\n`,
    );
    const env = {
      LD_PRELOAD: lib,
      FAKETIME_TIMESTAMP_FILE: control,
      FAKETIME_NO_CACHE: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
    };
    const started = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws, env });
    assertEquals(started.code, 0, started.stderr);
    const runId = JSON.parse(started.stdout).run_id as string;
    const shown = await lily(["run", "show", runId, "--json"], { workspace: ws });
    assertEquals(shown.code, 0, shown.stderr);
    const attempt = JSON.parse(shown.stdout).run_state.steps.a.attempts[0];
    assert(attempt.duration_ms >= 250, `duration ${attempt.duration_ms}`);
    assertEquals((await lily(["verify"], { workspace: ws })).code, 0);
  });
});

Deno.test("retry backoff grows by its factor, is capped by max_backoff, and never overflows", () => {
  const retry = {
    maxAttempts: 100,
    backoffMs: 1000,
    backoffFactor: 10,
    maxBackoffMs: 3_600_000,
    on: ["failure" as const],
    jitter: false,
    exitCodes: [],
  };
  const table: [number, number][] = [[1, 1000], [2, 10_000], [4, 1_000_000], [5, 3_600_000], [
    400,
    3_600_000,
  ], [100_000, 3_600_000]];
  for (const [failures, ms] of table) {
    assertEquals(retryDelayMs(retry, failures), ms, `n=${failures}`);
  }
  assertEquals(retryDelayMs({ ...retry, backoffMs: 0 }, 5000), 0, "0 × Infinity is not NaN");
  const huge = { ...retry, backoffMs: 2 ** 40, maxBackoffMs: 2 ** 41 };
  assertEquals(retryDelayMs(huge, 1), 2 ** 40);
});

Deno.test("a backoff past 2^31-1 ms is waited, not skipped: the next attempt does not start at once", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    try {
      const controller = new AbortController();
      const graph = defineWorkflow({
        name: "backoff",
        steps: [{
          id: "a",
          fn: () => {
            throw new Error("boom");
          },
          retry: { max_attempts: 3, backoff: "700h", max_backoff: "800h" },
        }],
      });
      const { state } = await createKernel({ workspace: ws, store }).runs.start(graph, {
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === "attempt_finished") setTimeout(() => controller.abort(), 300);
        },
      });
      assertEquals(state.status, "cancelled");
      assertEquals(state.steps.a.attempts.length, 1, "the second attempt started at once");
    } finally {
      store.close();
    }
  });
});
