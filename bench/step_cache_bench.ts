/**
 * The step cache's cost and gain, on a one-step workflow whose step runs a
 * process (`sh -c`, writing its one output), unsandboxed on both sides so
 * the spawn is what differs:
 *
 * - `run, step cache miss vs no cache`: runs with `cache: true` and
 *   `noCache` (the key computed, its probe recorded, the entry stored;
 *   nothing reused) against the same step without `cache`: the cache's
 *   overhead on every run that cannot use it.
 * - `run, step cache hit vs no cache`: runs that reuse the stored result (no
 *   process) against the same step without `cache`.
 *
 * @module
 */

import { createKernel, defineWorkflow, envFrom } from "../mod.ts";
import { type BenchContext, type Figure, interleave, makeFigure, withTempDir } from "./_measure.ts";

function workflow(cache: boolean) {
  return defineWorkflow({
    name: "cache-bench",
    steps: [{
      id: "s",
      shell: 'printf done > "$LILY_OUTPUT_DIR/out.txt"',
      outputs: { out: { type: "text.v1", path: "out.txt", kind: "text" } },
      ...(cache ? { cache: true } : {}),
    }],
  });
}

/**
 * Measures runs of a cached step (miss and hit) against the same step without the cache.
 *
 * @param ctx The bench context.
 * @returns Two figures in ms per run: the miss with a target ratio of ≤ 1.2.
 */
export async function benchStepCache(ctx: BenchContext): Promise<Figure[]> {
  return await withTempDir(async (workspace) => {
    const kernel = createKernel({ workspace, env: envFrom({ LILY_SANDBOX: "off" }), jobs: 1 });
    try {
      const [cached, plain] = [workflow(true), workflow(false)];
      const options = { blocks: ctx.quick ? 3 : 7, perBlock: ctx.quick ? 2 : 5 };
      const run = (graph: typeof cached, noCache = false) => async () => {
        const { state } = await kernel.runs.start(graph, { noCache });
        if (state.status !== "succeeded") throw new Error(`Bench run ${state.status}`);
      };
      const miss = await interleave({ lily: run(cached, true), floor: run(plain) }, options);
      const hit = await interleave({ lily: run(cached), floor: run(plain) }, options);
      ctx.progress("step cache: miss and hit");
      return [
        makeFigure({
          name: "run, step cache miss vs no cache",
          unit: "ms",
          value: miss.lily,
          floor: miss.floor,
          target: "<= 1.2",
        }),
        makeFigure({
          name: "run, step cache hit vs no cache",
          unit: "ms",
          value: hit.lily,
          floor: hit.floor,
        }),
      ];
    } finally {
      kernel.close();
    }
  });
}
