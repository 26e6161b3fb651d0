/**
 * What the network bridge adds to a sandboxed command whose policy allows
 * some network: `/bin/true` in a bubblewrap sandbox with its own network
 * namespace, started behind the bridge (`deno run data:…`, listening, then
 * spawning the command) with the kernel's proxy listening outside, against
 * the same sandbox running `/bin/true` directly (what `net: []` costs). No
 * target; skipped (no figure) where no working bwrap is found.
 *
 * @module
 */

import { type BenchContext, type Figure, interleave, makeFigure, runTool } from "./_measure.ts";
import type { BubblewrapMount } from "../src/policy/bubblewrap_mounts.ts";
import { bubblewrapArgv, findBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import { sandboxNetwork } from "../src/runtime/executors/sandbox_network.ts";

/**
 * Measures both sides, alternating, after one warm-up of each; reports the medians.
 *
 * @param ctx The bench context.
 * @returns One figure in ms, without a target, or none without bwrap.
 */
export async function benchNetBridge(ctx: BenchContext): Promise<Figure[]> {
  const bwrap = await findBubblewrap();
  if (!bwrap) {
    ctx.progress("net bridge: skipped, no working bwrap on PATH");
    return [];
  }
  const tries = ctx.quick ? 3 : 10;
  const network = await sandboxNetwork(["/bin/true"], {
    net: ["127.0.0.1:9"],
    deno: Deno.execPath(),
  });
  try {
    // The host's root read-only, as the floor's sandbox and the bridge's share.
    const host: BubblewrapMount[] = [
      { mode: "read-only", path: "/" },
      { mode: "devices", path: "/dev" },
      { mode: "proc", path: "/proc" },
    ];
    const sandbox = (argv: readonly string[], mounts: readonly BubblewrapMount[]) =>
      bubblewrapArgv(argv, { bwrap, mounts, cwd: "/", unshareNetwork: true });
    const bridged = sandbox(network.argv, [...host, ...network.mounts]);
    const bare = sandbox(["/bin/true"], host);
    const ms = await interleave({
      lily: () => runTool(bridged[0], bridged.slice(1)),
      floor: () => runTool(bare[0], bare.slice(1)),
    }, { blocks: tries, perBlock: 1 });
    ctx.progress(`net bridge: ${tries} tries each`);
    return [makeFigure({
      name: "sandboxed /bin/true behind the net bridge",
      unit: "ms",
      value: ms.lily,
      floor: ms.floor,
    })];
  } finally {
    await network.close();
  }
}
