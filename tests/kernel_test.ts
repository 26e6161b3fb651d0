/**
 * The kernel object: one set of injected dependencies (clock, ids,
 * environment) used everywhere, run operations that create nothing before
 * everything is checked, and queries that return the same view the CLI
 * prints (the CLI calls them).
 */

import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { join } from "node:path";
import { createKernel, defineWorkflow, NotFoundError, UsageError } from "../mod.ts";
import { openContractStore } from "../store.ts";
import { envFrom, ManualClock } from "../testing.ts";
import { fingerprint, lilyJson, SANDBOX_ENV, withTempDir } from "./_helpers.ts";

const RUN_ID = "00000000-0000-4000-8000-000000000001";

function sequentialIds(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}-0000-4000-8000-${String(++n).padStart(12, "0")}`;
}

Deno.test("the kernel stamps with its injected clock and names runs and artifacts with its injected ids", async () => {
  await withTempDir(async (ws) => {
    const clock = new ManualClock({ start: new Date("2030-01-02T03:04:05.000Z") });
    const kernel = createKernel({
      workspace: ws,
      clock,
      ids: { run: () => RUN_ID, artifact: sequentialIds("aaaaaaaa") },
      env: envFrom({ LILY_USER: "carol" }),
    });
    try {
      const graph = defineWorkflow({
        name: "stamped",
        steps: [{
          id: "a",
          fn: () => {
            clock.advance(1500);
            return { note: "hi" };
          },
          outputs: { note: { type: "note.v1", path: "note.txt" } },
        }],
      });
      const { runId, state } = await kernel.runs.start(graph);
      assertEquals([runId, state.status], [RUN_ID, "succeeded"]);
      const run = await kernel.queries.describeRun(runId);
      assertEquals(run.manifest.created_at, "2030-01-02T03:04:05.000Z");
      assertEquals(state.steps.a.attempts[0].duration_ms, 1500, "timed on the injected clock");
      // 1: the workflow, 2: the environment snapshot, 3: the output.
      assertEquals(state.environment_snapshot, "aaaaaaaa-0000-4000-8000-000000000002");
      assertEquals(state.steps.a.outputs.note, "aaaaaaaa-0000-4000-8000-000000000003");
      const records = await kernel.queries.runRecords(runId);
      assertEquals(records.environment_snapshot?.captured_at, "2030-01-02T03:04:05.000Z");
      assertEquals(records.records.map((r) => [r.step_id, r.started_at]), [
        ["a", "2030-01-02T03:04:05.000Z"],
      ]);
      const store = await openContractStore(ws);
      try {
        const workflow = await store.artifacts.ref(state.workflow_ref!);
        assertEquals([workflow.producer_id, workflow.created_at], [
          "carol",
          "2030-01-02T03:04:05.000Z",
        ]);
      } finally {
        store.close();
      }
    } finally {
      kernel.close();
    }
  });
});

Deno.test("the kernel reads LILY_LLM and LILY_USER from its injected environment, and steps get only what it holds", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: ask",
        "steps:",
        "  - id: ask",
        "    llm: { model: planner, prompt: Plan it, output: plan }",
        "    outputs: { plan: { type: plan.v1, path: plan.txt } }",
        "  - id: env",
        '    shell: \'printf %s "${GREETING:-unset}" > "$LILY_OUTPUT_DIR/greeting.txt"\'',
        "    env_pass: [GREETING]",
        "    outputs: { greeting: { type: greeting.v1, path: greeting.txt } }",
      ].join("\n") + "\n",
    );
    const refused = createKernel({ workspace: ws, env: envFrom({ PATH: Deno.env.get("PATH")! }) });
    try {
      await assertRejects(
        () => refused.runs.start({ file: join(ws, "flow.yaml") }),
        UsageError,
        "no LLM provider is configured",
      );
    } finally {
      refused.close();
    }
    const env = envFrom({
      ...SANDBOX_ENV,
      PATH: Deno.env.get("PATH")!,
      LILY_LLM: "fake",
      LILY_USER: "dora",
      GREETING: "hello",
    });
    const kernel = createKernel({ workspace: ws, env });
    try {
      const { state } = await kernel.runs.start({ file: join(ws, "flow.yaml") });
      assertEquals(state.status, "succeeded", state.reason ?? "");
      assertEquals(state.steps.ask.attempts[0].executor.provider, "fake");
      const store = await openContractStore(ws);
      try {
        const greeting = await store.artifacts.get(state.steps.env.outputs.greeting);
        assertEquals(greeting.value, "hello");
        assertEquals((await store.artifacts.ref(state.workflow_ref!)).producer_id, "dora");
      } finally {
        store.close();
      }
    } finally {
      kernel.close();
    }
  });
});

Deno.test("kernel queries create nothing, and a missing workspace is an error rather than a new directory", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: f\nsteps:\n  - { id: a, shell: 'true' }\n",
    );
    const before = await fingerprint(ws);
    const kernel = createKernel({ workspace: ws, env: envFrom({}) });
    try {
      assertEquals(await kernel.queries.listRuns(), []);
      const plan = await kernel.queries.checkWorkflow({ file: join(ws, "flow.yaml") });
      assertEquals(plan.steps.map((s) => [s.id, s.runs]), [["a", "shell: true"]]);
      await assertRejects(() => kernel.queries.describeRun(RUN_ID), NotFoundError);
      assertEquals(await fingerprint(ws), before, "no store was created");
    } finally {
      kernel.close();
    }
    const gone = createKernel({ workspace: join(ws, "missing"), env: envFrom({}) });
    try {
      await assertRejects(() => gone.queries.listRuns(), NotFoundError, "does not exist");
      await assertRejects(() => gone.runs.create(), NotFoundError, "does not exist");
    } finally {
      gone.close();
    }
    assertEquals(await fingerprint(ws), before);
  });
});

Deno.test("describeRun and listRuns are the views lily run show and run list print", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: broken",
        "steps:",
        "  - { id: build, shell: 'echo compiling; echo boom >&2; exit 3' }",
        "gates:",
        "  - { id: review, step: build, human: { prompt: Ship it? } }",
      ].join("\n") + "\n",
    );
    const kernel = createKernel({
      workspace: ws,
      env: envFrom({ ...SANDBOX_ENV, PATH: Deno.env.get("PATH")! }),
    });
    try {
      const { runId, state } = await kernel.runs.start({ file: join(ws, "flow.yaml") });
      assertEquals(state.status, "failed");
      const run = await kernel.queries.describeRun(runId);
      assertEquals(run.end_reason, "step build failed (attempt 1)");
      assertEquals(run.failures.length, 1);
      const [failure] = run.failures;
      assertEquals([failure.step, failure.gate_id, failure.message], [
        "build",
        null,
        "Exited with code 3",
      ]);
      assertEquals([failure.log?.stream, failure.log?.lines, failure.log?.total], [
        "stderr",
        ["boom"],
        1,
      ]);
      assert(!run.orphaned && !run.runner_alive);
      const shown = await lilyJson<{ failures: unknown[]; artifact_total: number }>(
        ["run", "show", runId],
        ws,
      );
      assertEquals(shown.failures, [{
        step: "build",
        attempt: 1,
        gate_id: null,
        message: failure.message,
      }]);
      assertEquals(shown.artifact_total, run.artifact_total);
      const listed = await kernel.queries.listRuns();
      assertEquals(listed.map((r) => "manifest" in r ? [r.run_id, r.manifest.status] : []), [[
        runId,
        "failed",
      ]]);
    } finally {
      kernel.close();
    }
  });
});
