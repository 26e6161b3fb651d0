/**
 * The access journal's cost to readers. Two runs of the same one-step
 * workflow, one of whose access journals is then given 10,000 permission
 * decisions (what a `deno` step reading 10,000 files leaves):
 *
 * - `run show, 10000 access entries vs none`: `kernel.queries.describeRun`
 *   of that run against the other. The run's state is folded from its events
 *   alone, so the ratio stays near 1 however long the access journal is.
 * - `journal of 10000 access entries vs JSON.parse`: `kernel.queries.journal`
 *   against reading the same file and parsing its lines: what checking each
 *   entry and grouping them by attempt costs.
 *
 * @module
 */

import { join } from "node:path";
import { createKernel, defineWorkflow, envFrom } from "../mod.ts";
import { openStore } from "../store.ts";
import { AccessJournal } from "../src/runtime/access_journal.ts";
import { type BenchContext, type Figure, interleave, makeFigure, withTempDir } from "./_measure.ts";

/** Gives a run's access journal `count` permission decisions, as a broker would report them. */
async function fillAccessJournal(workspace: string, runId: string, count: number): Promise<void> {
  const store = await openStore(workspace, { create: false });
  const journal = await AccessJournal.open(store.access, runId, { durability: "process" });
  try {
    for (let i = 0; i < count; i++) {
      journal.record({ step: "s", attempt: 1 }, {
        type: "permission",
        permission: "read",
        value: `data/file-${i}.txt`,
        kind: "read",
        target: join(workspace, "data", `file-${i}.txt`),
        decision: "allow",
        reason: `${join(workspace, "data", `file-${i}.txt`)} is a read path of the policy`,
        pid: 2,
      });
    }
    await journal.settle();
  } finally {
    await journal.close();
    store.close();
  }
}

/**
 * Measures `run show` and `journal` of a run with a long access journal.
 *
 * @param ctx The bench context.
 * @returns Two figures in ms per call: the first with a target ratio of ≤ 1.2.
 */
export async function benchAccessJournal(ctx: BenchContext): Promise<Figure[]> {
  const entries = ctx.quick ? 1000 : 10_000;
  return await withTempDir(async (workspace) => {
    const kernel = createKernel({ workspace, env: envFrom({}), jobs: 1 });
    try {
      const graph = defineWorkflow({ name: "b", steps: [{ id: "s", fn: () => {} }] });
      const long = (await kernel.runs.start(graph)).runId;
      const short = (await kernel.runs.start(graph)).runId;
      await fillAccessJournal(workspace, long, entries);
      const options = { blocks: ctx.quick ? 3 : 7, perBlock: ctx.quick ? 2 : 5 };
      const show = await interleave({
        lily: () => kernel.queries.describeRun(long),
        floor: () => kernel.queries.describeRun(short),
      }, options);
      const path = join(workspace, ".iris", "runs", long, "access.jsonl");
      const read = await interleave({
        lily: () => kernel.queries.journal(long),
        floor: async () =>
          (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "").map((l) =>
            JSON.parse(l)
          ),
      }, options);
      ctx.progress(`access journal: ${entries} entries`);
      return [
        makeFigure({
          name: `run show, ${entries} access entries vs none`,
          unit: "ms",
          value: show.lily,
          floor: show.floor,
          target: "<= 1.2",
        }),
        makeFigure({
          name: `journal of ${entries} access entries vs JSON.parse`,
          unit: "ms",
          value: read.lily,
          floor: read.floor,
        }),
      ];
    } finally {
      kernel.close();
    }
  });
}
