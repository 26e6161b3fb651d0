import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { join } from "node:path";
import { ConflictError, createKernel, defineWorkflow, IntegrityError, UsageError } from "../mod.ts";
import { openContractStore } from "../store.ts";
import { envFrom, FakeLlmProvider } from "../testing.ts";
import { withTempDir } from "./_helpers.ts";

Deno.test("fn steps pass JSON values along and their outputs are validated and stored", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store });
    try {
      const graph = defineWorkflow({
        name: "numbers",
        steps: [
          {
            id: "produce",
            fn: () => ({ numbers: { goal: "sum", values: [1, 2, 3] } }),
            outputs: { numbers: { type: "work_order.v1", path: "numbers.json" } },
          },
          {
            id: "sum",
            fn: ({ inputs }) => {
              const { values } = inputs.numbers as { values: number[] };
              return { total: String(values.reduce((a, b) => a + b, 0)) };
            },
            inputs: { numbers: "steps.produce.outputs.numbers" },
            outputs: { total: { type: "total.v1", path: "total.txt" } },
          },
        ],
      });
      const { runId, state } = await kernel.runs.start(graph);
      assertEquals(state.status, "succeeded");
      const total = await store.artifacts.get(state.steps.sum.outputs.total);
      assertEquals(total.value, "6");
      assertEquals(total.ref.input_artifact_refs, [state.steps.produce.outputs.numbers]);
      assertEquals((await store.artifacts.list(runId, { type: "work_order.v1" })).length, 1);

      const bad = defineWorkflow({
        name: "bad",
        steps: [{
          id: "produce",
          fn: () => ({ wo: { title: "no goal" } }),
          outputs: { wo: { type: "work_order.v1", path: "wo.json" } },
        }],
      });
      const failed = await kernel.runs.start(bad);
      assertEquals(failed.state.status, "failed");
      assertMatch(failed.state.reason!, /does not match schema work_order\.v1: \$\.goal/);
    } finally {
      store.close();
    }
  });
});

Deno.test("a TS API run resumes only with the same workflow", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store });
    try {
      let calls = 0;
      const definition = {
        name: "once",
        steps: [{ id: "a", fn: () => void calls++ }, {
          id: "b",
          needs: ["a"],
          fn: () => {
            throw new Error("b is broken");
          },
        }],
      };
      const first = await kernel.runs.start(defineWorkflow(definition));
      assertEquals(first.state.status, "failed");
      assertMatch(first.state.reason!, /b is broken/);
      await assertRejects(() => kernel.runs.resume(first.runId), /started from the TS API/);
      const changed = defineWorkflow({ ...definition, name: "other" });
      await assertRejects(
        () => kernel.runs.resume(first.runId, { workflow: changed }),
        IntegrityError,
      );
      const fixed = defineWorkflow({
        ...definition,
        steps: [definition.steps[0], { id: "b", needs: ["a"], fn: () => {} }],
      });
      const resumed = await kernel.runs.resume(first.runId, { workflow: fixed });
      assertEquals(resumed.status, "succeeded");
      assertEquals(calls, 1, "the finished step a did not run again");
      assertEquals(resumed.steps.b.attempts.length, 2);
    } finally {
      store.close();
    }
  });
});

Deno.test("llm steps use the configured provider, record usage, and without one nothing is created", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store });
    try {
      const graph = defineWorkflow({
        name: "ask",
        steps: [{
          id: "ask",
          llm: { model: "planner", prompt: "Plan the release", output: "plan" },
          outputs: { plan: { type: "plan.v1", path: "plan.txt" } },
        }],
      });
      const llm = new FakeLlmProvider({ replies: { planner: "1. tag 2. publish" } });
      const { state } = await createKernel({ workspace: ws, store, llm }).runs.start(graph);
      assertEquals(state.status, "succeeded");
      assertEquals(
        (await store.artifacts.get(state.steps.ask.outputs.plan)).value,
        "1. tag 2. publish",
      );
      const attempt = state.steps.ask.attempts[0];
      assertEquals(attempt.usage, { input_tokens: 3, output_tokens: 4 });
      assertEquals(attempt.executor.provider, "fake");
      const runs = (await store.runs.list()).length;
      await assertRejects(
        () => kernel.runs.start(graph),
        UsageError,
        "Step ask is an llm step, and no LLM provider is configured",
      );
      assertEquals((await store.runs.list()).length, runs);
    } finally {
      store.close();
    }
  });
});

Deno.test("deno steps run confined: a refusal the program catches still fails the step, decided by the broker", async () => {
  await withTempDir(async (ws) => {
    const outside = await Deno.makeTempDir({ prefix: "lily_secret_" });
    try {
      await Deno.writeTextFile(join(outside, "secret.txt"), "s3cret");
      await Deno.writeTextFile(
        join(ws, "step.ts"),
        `const out = Deno.env.get("LILY_OUTPUT_DIR");
let leaked = "no";
try { leaked = await Deno.readTextFile(${
          JSON.stringify(join(outside, "secret.txt"))
        }); } catch { /* denied */ }
let net = "no";
try { await fetch("http://127.0.0.1:47123"); net = "yes"; } catch (e) { net = e instanceof Deno.errors.NotCapable ? "denied" : "error"; }
let token = "no";
try { token = Deno.env.get("SECRET_TOKEN") ?? "unset"; } catch (e) { token = e instanceof Deno.errors.NotCapable ? "denied" : "error"; }
await Deno.writeTextFile(out + "/result.json", JSON.stringify({ leaked, net, token }));
`,
      );
      const store = await openContractStore(ws);
      try {
        const graph = defineWorkflow({
          name: "confined",
          steps: [{
            id: "probe",
            deno: "step.ts",
            outputs: { result: { type: "probe.v1", path: "result.json" } },
          }],
        });
        const env = envFrom({ ...Deno.env.toObject(), SECRET_TOKEN: "t0ken" });
        const { state } = await createKernel({ workspace: ws, store, env }).runs.start(graph);
        const attempt = state.steps.probe.attempts[0];
        // The step caught every refusal, but the kernel's broker saw each and fails it.
        assertEquals(state.status, "failed", state.reason ?? undefined);
        assertMatch(
          attempt.message ?? "",
          /^Policy violation: .*secret\.txt is outside every read path/,
        );
        const refused = [];
        for (const id of attempt.violations ?? []) {
          const v = (await store.artifacts.get(id)).value as Record<string, string>;
          refused.push(`${v.decided_by} ${v.kind} ${v.target}`);
        }
        assertEquals(refused, [
          `broker read ${join(outside, "secret.txt")}`,
          "broker net 127.0.0.1:47123",
          "broker env SECRET_TOKEN",
        ]);
        assert(String(attempt.executor.flags).includes("--deny-net"));
      } finally {
        store.close();
      }
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("a second runner on the same run is refused while the first is alive", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store });
    try {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => release = resolve);
      let runId = "";
      let running = false;
      const graph = defineWorkflow({
        name: "hold",
        steps: [{
          id: "hold",
          fn: () => {
            running = true;
            return gate;
          },
        }],
      });
      const first = kernel.runs.start(graph, { onCreated: (id) => runId = id });
      while (!running) await new Promise((r) => setTimeout(r, 5));
      await assertRejects(
        () => kernel.runs.resume(runId, { workflow: graph }),
        ConflictError,
        "already being run by process",
      );
      release();
      assertEquals((await first).state.status, "succeeded");
    } finally {
      store.close();
    }
  });
});
