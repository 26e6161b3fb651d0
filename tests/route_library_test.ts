/**
 * Routes through the TS API: an `fn` step sees its feedback in
 * `ctx.inputs`, a route waits for a sibling still running before it resets
 * it, and a rejected human gate with `on_fail` routes on resume.
 */

import { assertEquals } from "./_assert.ts";
import { createKernel, defineWorkflow } from "../mod.ts";
import { openContractStore } from "../store.ts";
import { withTempDir } from "./_helpers.ts";

Deno.test("an fn step gets the failing record as ctx.inputs.feedback", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store });
    try {
      const seen: unknown[] = [];
      const graph = defineWorkflow({
        name: "fn-feedback",
        steps: [
          {
            id: "draft",
            fn: ({ inputs }) => {
              seen.push(inputs.feedback ?? null);
              return { text: inputs.feedback ? "good" : "bad" };
            },
            outputs: { text: { type: "draft.v1", path: "draft.txt" } },
          },
          {
            id: "review",
            fn: ({ inputs }) => {
              if (inputs.text !== "good") throw new Error("the draft is bad");
            },
            inputs: { text: "steps.draft.outputs.text" },
            on_fail: { goto: "draft", max: 1 },
          },
        ],
      });
      const { state } = await kernel.runs.start(graph);
      assertEquals(state.status, "succeeded");
      assertEquals(seen[0], null);
      const feedback = seen[1] as { step_id: string; attempt: number; message: string };
      assertEquals([feedback.step_id, feedback.attempt], ["review", 1]);
      assertEquals(feedback.message.includes("the draft is bad"), true, feedback.message);
      assertEquals(state.steps.draft.attempts.map((a) => a.cause), ["first", "route"]);
    } finally {
      store.close();
    }
  });
});

Deno.test("a route waits for a running sibling it resets, then runs it again", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store });
    try {
      const slowRuns: number[] = [];
      const graph = defineWorkflow({
        name: "siblings",
        steps: [
          { id: "base", fn: () => {} },
          {
            id: "fast",
            needs: ["base"],
            fn: ({ attempt }) => {
              if (attempt === 1) throw new Error("first try fails");
            },
            on_fail: { goto: "base" },
          },
          {
            id: "slow",
            needs: ["base"],
            fn: async ({ attempt }) => {
              await new Promise((resolve) => setTimeout(resolve, 300));
              slowRuns.push(attempt);
            },
          },
        ],
      });
      const { state } = await kernel.runs.start(graph, { jobs: 2 });
      assertEquals(state.status, "succeeded");
      assertEquals(slowRuns, [1, 2], "the running sibling finished, then ran again");
      assertEquals(state.steps.slow.attempts.map((a) => [a.cause, a.status]), [
        ["first", "succeeded"],
        ["route", "succeeded"],
      ]);
      assertEquals(state.routing_counters, { "steps.fast.on_fail": 1 });
    } finally {
      store.close();
    }
  });
});

Deno.test("a rejected human gate with on_fail routes when the run resumes", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store });
    try {
      const graph = defineWorkflow({
        name: "review",
        steps: [{ id: "write", fn: () => {} }],
        gates: [{
          id: "editor",
          step: "write",
          human: { prompt: "Publish?" },
          on_fail: { goto: "write", max: 1 },
        }],
      });
      const { runId, state } = await kernel.runs.start(graph);
      assertEquals(state.status, "waiting");
      await kernel.runs.approve(runId, "editor", { reject: true, reason: "too long" });
      const resumed = await kernel.runs.resume(runId, { workflow: graph });
      assertEquals(resumed.status, "waiting", "the routed attempt waits for the editor again");
      assertEquals(resumed.steps.write.attempts.map((a) => a.cause), ["first", "route"]);
      const result = await store.artifacts.get(resumed.steps.write.feedback!);
      assertEquals((result.value as { reasons: string[] }).reasons, ["too long"]);
    } finally {
      store.close();
    }
  });
});
