/**
 * Replay through the TS API: `kernel.runs.rerunFrom`, `runs.dryRunGates`
 * and `runs.replaceArtifact` on a run started from a graph (given again,
 * as for a resume), with `fn` steps that see what they are given.
 */

import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { createKernel, defineWorkflow, envFrom, UsageError } from "../mod.ts";
import { openContractStore } from "../store.ts";
import { SANDBOX_ENV, withTempDir } from "./_helpers.ts";

Deno.test("the kernel's replay operations on a graph run", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({
      workspace: ws,
      store,
      env: envFrom({ ...SANDBOX_ENV, LILY_USER: "bo" }),
      jobs: 1,
    });
    try {
      const seen: string[] = [];
      let threshold = 1;
      const graph = defineWorkflow({
        name: "chain",
        steps: [
          { id: "make", fn: () => ({ n: 1 }), outputs: { n: { type: "n.v1", path: "n.json" } } },
          {
            id: "use",
            fn: ({ inputs }) => {
              seen.push(JSON.stringify(inputs.n));
            },
            inputs: { n: "steps.make.outputs.n" },
          },
        ],
        gates: [{
          id: "big",
          step: "make",
          fn: ({ inputs }) => {
            if ((inputs.n as number) < threshold) throw new Error("too small");
          },
        }],
      });
      const { runId, state } = await kernel.runs.start(graph);
      assertEquals(state.status, "succeeded");
      const rerun = await kernel.runs.rerunFrom(runId, "use", { workflow: graph });
      assertEquals(rerun.steps.use.attempts.map((a) => [a.cause, a.supersedes]), [
        ["first", undefined],
        ["rerun", 1],
      ]);
      assertEquals(rerun.steps.make.attempts.length, 1);
      await assertRejects(
        () => kernel.runs.rerunFrom(runId, "nope", { workflow: graph }),
        UsageError,
        'no step "nope"',
      );
      threshold = 2;
      const report = await kernel.runs.dryRunGates(runId, { workflow: graph });
      assertEquals(report.results.map((r) => [r.step, r.gate_id, r.status]), [
        ["make", "big", "error"],
      ]);
      assertEquals(report.passed, false);
      const file = `${ws}/n.json`;
      await Deno.writeTextFile(file, "5");
      const replaced = await kernel.runs.replaceArtifact(runId, rerun.steps.make.outputs.n, {
        workflow: graph,
        source: { path: file, as: "json" },
        reason: "bigger",
        continue: true,
      });
      assertEquals(replaced.reset, ["use"]);
      assertEquals(replaced.state.status, "succeeded");
      assertEquals(seen, ["1", "1", "5"]);
      assertEquals(replaced.state.steps.use.attempts.at(-1)?.cause, "replace");
      const ref = await store.artifacts.ref(replaced.record);
      assertEquals([ref.artifact_type, ref.producer_id], ["artifact_replacement.v1", "bo"]);
      const again = await kernel.runs.dryRunGates(runId, { workflow: graph, gate: "big" });
      assert(again.passed, JSON.stringify(again));
      await assertRejects(
        () =>
          kernel.runs.replaceArtifact(runId, replaced.original, {
            workflow: graph,
            source: { path: file, as: "json" },
            reason: "again",
          }),
        UsageError,
        "already replaced",
      );
      assert(!(await store.leases.isLive(runId)));
    } finally {
      store.close();
    }
  });
});

Deno.test("a file artifact is replaced by a file, stored as it is under the original's name", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store, env: envFrom({ ...SANDBOX_ENV }) });
    try {
      const seen: unknown[] = [];
      const graph = defineWorkflow({
        name: "blob",
        steps: [
          {
            id: "make",
            fn: async ({ outputDir }) => {
              await Deno.writeTextFile(`${outputDir}/blob.bin`, "old");
            },
            outputs: { blob: { type: "blob.v1", path: "blob.bin" } },
          },
          {
            id: "use",
            fn: ({ inputs }) => {
              seen.push(inputs.blob);
            },
            inputs: { blob: "steps.make.outputs.blob" },
          },
        ],
      });
      const { runId, state } = await kernel.runs.start(graph);
      const original = state.steps.make.outputs.blob;
      const file = `${ws}/new.bin`;
      await Deno.writeFile(file, new Uint8Array([0xff, 0x00, 0x41]));
      await assertRejects(
        () =>
          kernel.runs.replaceArtifact(runId, original, {
            workflow: graph,
            source: { path: file, as: "text" },
            reason: "wrong kind",
          }),
        UsageError,
        "give its replacement with --file",
      );
      const done = await kernel.runs.replaceArtifact(runId, original, {
        workflow: graph,
        source: { path: file, as: "file" },
        reason: "binary",
        continue: true,
      });
      const ref = await store.artifacts.ref(done.replacement);
      assertEquals([ref.storage_kind, ref.rel_path.split("/").at(-1)], ["file", "blob.bin"]);
      assertEquals(
        (await store.artifacts.readBytes(ref)).bytes,
        new Uint8Array([0xff, 0x00, 0x41]),
      );
      assertEquals(seen.length, 2);
      assertEquals(done.state.steps.use.attempts.map((a) => a.cause), ["first", "replace"]);
    } finally {
      store.close();
    }
  });
});
