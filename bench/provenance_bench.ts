/**
 * `lily provenance --both` on the middle artifact of a 1,000-step chain
 * (each step reads the one before it and has a gate), as a user runs it
 * (`deno run -A cli.ts provenance ID --both --json`), against `lily artifact
 * show ID --json` on the same workspace: the floor is the CLI's start-up, the
 * store's open and one index read, so what the ratio adds is the walk of the
 * lineage and the reading of the run's journal. A second figure times the
 * kernel query alone in a warm process against one `artifact show`-like
 * index read (`store.artifacts.ref`).
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createKernel, defineWorkflow, type StepDefinition } from "../mod.ts";
import { openContractStore } from "../store.ts";
import {
  type BenchContext,
  type Figure,
  interleave,
  makeFigure,
  runTool,
  withTempDir,
} from "./_measure.ts";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));

/** A chain of `n` `fn` steps, each writing a small JSON output made from the one before, each with a gate. */
function provenanceChain(n: number) {
  const steps: StepDefinition[] = Array.from({ length: n }, (_, i) => ({
    id: `s${i}`,
    fn: () => ({ out: { i } }),
    ...(i > 0 ? { inputs: { prev: `steps.s${i - 1}.outputs.out` } } : {}),
    outputs: { out: { type: "bench_note.v1", path: "out.json" } },
  }));
  return defineWorkflow({
    name: `provenance-chain-${n}`,
    steps,
    gates: steps.map((s) => ({ id: `g_${s.id}`, step: s.id, fn: () => {} })),
  });
}

/**
 * Runs the chain once, then times provenance against its floors.
 *
 * @param ctx The bench context.
 * @returns Two figures in ms, without targets (the target, < 200 ms
 * for the CLI call, is read off the first figure's value).
 */
export async function benchProvenance(ctx: BenchContext): Promise<Figure[]> {
  const n = ctx.quick ? 50 : 1000;
  return await withTempDir(async (dir) => {
    const ws = join(dir, "workspace");
    await Deno.mkdir(ws);
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store, jobs: 1 });
    try {
      const { state } = await kernel.runs.start(provenanceChain(n), { durability: "process" });
      if (state.status !== "succeeded") {
        throw new Error(`bench run ${state.status}: ${state.reason}`);
      }
      const middle = state.steps[`s${n >> 1}`].outputs.out;
      const graph = await kernel.queries.provenance(middle, { direction: "both" });
      if (graph.nodes.length !== n) {
        throw new Error(`provenance found ${graph.nodes.length} artifacts, expected ${n}`);
      }
      ctx.progress(`provenance: a ${n}-step chain run; ${graph.edges.length} edges`);
      const deno = Deno.execPath();
      const cli = (args: string[]) =>
        runTool(deno, ["run", "-A", CLI, ...args, "--json", "--workspace", ws], { cwd: REPO_ROOT });
      const tries = ctx.quick ? 3 : 7;
      const wall = await interleave({
        lily: () => cli(["provenance", middle, "--both"]),
        floor: () => cli(["artifact", "show", middle]),
      }, { blocks: tries, perBlock: 1 });
      const query = await interleave({
        lily: () => kernel.queries.provenance(middle, { direction: "both" }),
        floor: () => store.artifacts.ref(middle),
      }, { blocks: tries, perBlock: 1 });
      return [
        makeFigure({
          name: `cli provenance --both ${n} steps`,
          unit: "ms",
          value: wall.lily,
          floor: wall.floor,
        }),
        makeFigure({
          name: `queries.provenance both ${n} steps`,
          unit: "ms",
          value: query.lily,
          floor: query.floor,
        }),
      ];
    } finally {
      kernel.close();
      store.close();
    }
  });
}

if (import.meta.main) {
  const { formatFigure } = await import("./_measure.ts");
  const figures = await benchProvenance({
    quick: Deno.args.includes("--quick"),
    peers: false,
    progress: (m) => console.error(m),
  });
  for (const figure of figures) console.log(formatFigure(figure));
}
