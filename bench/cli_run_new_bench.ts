/**
 * Wall time of `lily run new` as a user starts it (`deno run -A cli.ts run
 * new --workspace <dir>`) against `deno run` of an empty `.ts` file: what is
 * left after the floor is Lily's own start-up (module loading, the CLI) and
 * the run creation itself.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
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

/**
 * Measures `run new` and an empty `deno run`, alternating, after one warm-up
 * of each (which also creates the workspace's store); reports the medians.
 *
 * @param ctx The bench context.
 * @returns One figure in ms, without a target.
 */
export async function benchCliRunNew(ctx: BenchContext): Promise<Figure[]> {
  const tries = ctx.quick ? 3 : 5;
  return await withTempDir(async (dir) => {
    const workspace = join(dir, "workspace");
    await Deno.mkdir(workspace);
    const empty = join(dir, "empty.ts");
    await Deno.writeTextFile(empty, "");
    const deno = Deno.execPath();
    const ms = await interleave({
      lily: () =>
        runTool(deno, ["run", "-A", CLI, "run", "new", "--workspace", workspace], {
          cwd: REPO_ROOT,
        }),
      floor: () => runTool(deno, ["run", "-A", empty], { cwd: dir }),
    }, { blocks: tries, perBlock: 1 });
    ctx.progress(`cli: ${tries} tries each`);
    return [makeFigure({
      name: "cli run new",
      unit: "ms",
      value: ms.lily,
      floor: ms.floor,
    })];
  });
}
