/**
 * Simulation of every shape a recorded run takes, each under its own
 * workflow: nothing may differ (exit 0), whatever the journal holds —
 * retries with jittered backoff, a step routing to an ancestor, parallel
 * steps and a failure, a rerun, a replaced artifact, a human gate decided
 * then resumed, and a run interrupted by a crash then resumed.
 */

import { assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { lily, lilyInBackground, lilyJson, withTempDir } from "./_helpers.ts";

interface Report {
  differs: boolean;
  divergences: unknown[];
  end: { recorded: string | null; simulated: string | null };
}

async function start(ws: string, flow: string, expected: number): Promise<string> {
  await Deno.writeTextFile(join(ws, "flow.yaml"), flow);
  const ran = await lily(["run", "start", "flow.yaml", "--jobs", "2", "--json"], { workspace: ws });
  assertEquals(ran.code, expected, ran.stderr);
  return JSON.parse(ran.stdout).run_id;
}

async function assertSimulatesClean(ws: string, runId: string, end: string): Promise<void> {
  const out = await lily(["run", "replay", runId, "--simulate", "--json"], { workspace: ws });
  const report = JSON.parse(out.stdout) as Report;
  assertEquals(report.divergences, [], out.stdout);
  assertEquals(out.code, 0);
  assertEquals(report.end, { recorded: end, simulated: end });
}

const RETRY_AND_ROUTE = `name: shapes
steps:
  - id: prep
    shell: echo "$LILY_ATTEMPT" > "$LILY_OUTPUT_DIR/p.txt"
    outputs: { p: { type: note.v1, path: p.txt } }
  - id: flaky
    shell: '[ "$LILY_ATTEMPT" -ge 3 ]'
    retry: { max_attempts: 3, backoff: 10ms, jitter: true }
  - id: check
    inputs: { p: steps.prep.outputs.p }
    shell: '[ "$(cat "$LILY_INPUT_P")" -ge 2 ]'
    on_fail: { goto: prep, max: 2 }
`;

Deno.test("simulate under the run's own workflow: retries with jitter and a route to an ancestor", async () => {
  await withTempDir(async (ws) => {
    const runId = await start(ws, RETRY_AND_ROUTE, 0);
    await assertSimulatesClean(ws, runId, "succeeded");
  });
});

Deno.test("simulate under the run's own workflow: parallel steps and a failure, then a rerun", async () => {
  await withTempDir(async (ws) => {
    const flow = `name: fails
steps:
  - id: a
    shell: echo a > "$LILY_OUTPUT_DIR/a.txt"
    outputs: { a: { type: note.v1, path: a.txt } }
  - id: b
    shell: exit 3
    retry: { max_attempts: 2, backoff: 10ms, exit_codes: [4] }
  - id: c
    inputs: { a: steps.a.outputs.a }
    shell: cat "$LILY_INPUT_A" > "$LILY_OUTPUT_DIR/c.txt"
    outputs: { c: { type: note.v1, path: c.txt } }
`;
    const runId = await start(ws, flow, 1);
    await assertSimulatesClean(ws, runId, "failed");
    const rerun = await lily(["run", "rerun", runId, "--from", "a"], { workspace: ws });
    assertEquals(rerun.code, 1, rerun.stderr);
    await assertSimulatesClean(ws, runId, "failed");
  });
});

Deno.test("simulate under the run's own workflow: a replaced artifact and a human gate decided later", async () => {
  await withTempDir(async (ws) => {
    const flow = `name: gated
steps:
  - id: draft
    shell: echo draft > "$LILY_OUTPUT_DIR/d.txt"
    outputs: { d: { type: note.v1, path: d.txt } }
  - id: publish
    inputs: { d: steps.draft.outputs.d }
    shell: cat "$LILY_INPUT_D" > "$LILY_OUTPUT_DIR/p.txt"
    outputs: { p: { type: note.v1, path: p.txt } }
gates:
  - { id: review, step: publish, human: { prompt: "Publish?" } }
`;
    const runId = await start(ws, flow, 3);
    await assertSimulatesClean(ws, runId, "waiting");
    assertEquals((await lily(["approve", runId, "review"], { workspace: ws })).code, 0);
    assertEquals((await lily(["run", "resume", runId], { workspace: ws })).code, 0);
    await assertSimulatesClean(ws, runId, "succeeded");
    const state = await lilyJson<{ run_state: { steps: { draft: { outputs: { d: string } } } } }>(
      ["run", "show", runId],
      ws,
    );
    await Deno.writeTextFile(join(ws, "better.txt"), "better\n");
    const replaced = await lily([
      "artifact",
      "replace",
      runId,
      state.run_state.steps.draft.outputs.d,
      "--text-file",
      "better.txt",
      "--reason",
      "a better draft",
      "--continue",
    ], { workspace: ws });
    assertEquals(replaced.code, 3, replaced.stderr);
    await assertSimulatesClean(ws, runId, "waiting");
  });
});

Deno.test("simulate under the run's own workflow: a run killed mid-attempt, then resumed", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), RETRY_AND_ROUTE);
    const killed = lilyInBackground(["run", "start", "flow.yaml", "--jobs", "1"], ws, {
      LILY_TEST_CRASH_AT: "attempt_started",
    });
    const result = await killed.done;
    assertEquals(result.code === 0, false);
    const [run] = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
    const resumed = await lily(["run", "resume", run!.run_id], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    await assertSimulatesClean(ws, run!.run_id, "succeeded");
  });
});

Deno.test("simulate serves an llm step's recorded replies: no provider is needed", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: ask\nsteps:\n  - id: say\n    llm: { model: m, prompt: hi, output: o }\n" +
        "    outputs: { o: { type: o.v1, path: o.txt } }\n",
    );
    const ran = await lily(["run", "start", "flow.yaml", "--json"], {
      workspace: ws,
      env: { LILY_LLM: "fake" },
    });
    assertEquals(ran.code, 0, ran.stderr);
    const runId = JSON.parse(ran.stdout).run_id;
    const out = await lily(["run", "replay", runId, "--simulate", "--json"], { workspace: ws });
    assertEquals(out.code, 0, out.stdout);
    const report = JSON.parse(out.stdout) as Report & { served: { llm_replies: number } };
    assertEquals(report.divergences, []);
    assertEquals(report.served.llm_replies, 1);
  });
});
