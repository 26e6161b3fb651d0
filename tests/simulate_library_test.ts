/**
 * Simulate, re-apply and diff through the TS API, on a run started from a
 * graph with `fn` steps: the graph is given again (as for a resume), an
 * edited graph is simulated, the run is re-applied with a step whose
 * output depends on a counter, and the two runs are compared.
 */

import { assertEquals, assertRejects } from "./_assert.ts";
import { createKernel, defineWorkflow, envFrom, IntegrityError, UsageError } from "../mod.ts";
import { openContractStore } from "../store.ts";
import { SANDBOX_ENV, withTempDir } from "./_helpers.ts";

Deno.test("simulate, reapply and diffRuns on a graph run", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    const kernel = createKernel({
      workspace: ws,
      store,
      env: envFrom({ ...SANDBOX_ENV }),
      jobs: 1,
    });
    try {
      let calls = 0;
      const define = (max: number) =>
        defineWorkflow({
          name: "counter",
          steps: [
            { id: "fixed", fn: () => ({ v: 1 }), outputs: { v: { type: "v.v1", path: "v.json" } } },
            {
              id: "count",
              fn: () => ({ c: ++calls }),
              outputs: { c: { type: "c.v1", path: "c.json" } },
              retry: { max_attempts: max, backoff: "1ms" },
            },
          ],
        });
      const graph = define(2);
      const { runId, state } = await kernel.runs.start(graph);
      assertEquals(state.status, "succeeded");
      await assertRejects(() => kernel.queries.simulate(runId), UsageError, "TS API");
      await assertRejects(
        () => kernel.queries.simulate(runId, { recorded: define(3) }),
        IntegrityError,
        "differs from the one it was started with",
      );
      const same = await kernel.queries.simulate(runId, { recorded: graph });
      assertEquals([same.differs, same.workflow.source, same.end.simulated], [
        false,
        "recorded",
        "succeeded",
      ]);
      const edited = await kernel.queries.simulate(runId, { recorded: graph, workflow: define(3) });
      assertEquals([edited.differs, edited.workflow.same_as_recorded], [false, false]);

      const again = await kernel.runs.reapply(runId, { workflow: graph });
      assertEquals(again.drift.map((d) => [d.step, d.drift]), [["fixed", "same"], [
        "count",
        "differs",
      ]]);
      assertEquals(again.drifted, true);
      const diff = await kernel.queries.diffRuns(runId, again.run_id);
      assertEquals(diff.first_divergence?.step, "count");
      assertEquals(diff.first_divergence?.what, "output");
      assertEquals(diff.first_divergence?.name, "c");
      assertEquals(diff.steps.map((s) => [s.step, s.same]), [["fixed", true], ["count", false]]);
    } finally {
      kernel.close();
      store.close();
    }
  });
});
