/**
 * A same-run comparison against LangGraph JS: a chain of trivial steps run by
 * Lily (no-op `fn` steps through the public library API, `--jobs 1`) and by
 * LangGraph (a `StateGraph` of nodes that return no update) with its SQLite
 * checkpointer on a temp file, and again with its in-memory `MemorySaver`.
 * Lily's per-step cost is reported as a ratio to LangGraph's.
 *
 * LangGraph is installed at bench time with `npm install --prefix <temp dir>`
 * at the exact versions of {@linkcode PEER_PACKAGES} and run by Node.js
 * (`bench/langgraph_peer.mjs`), its own runtime; nothing is added to the
 * repository or to `deno.lock`. Where Node.js or npm is missing, the registry
 * is unreachable or a package fails to build (the SQLite checkpointer needs
 * better-sqlite3, a native addon built with node-gyp when its prebuilt binary
 * cannot be downloaded), the comparison or its variant is skipped and the
 * reason printed.
 *
 * @module
 */

import { join } from "node:path";
import { fnChain, timeChain } from "./_chains.ts";
import {
  type BenchContext,
  type Figure,
  formatFigure,
  makeFigure,
  median,
  runTool,
  withTempDir,
} from "./_measure.ts";

/**
 * The npm packages the LangGraph side needs, each at an exact version (their
 * own dependencies are as npm resolves them).
 */
export const PEER_PACKAGES = {
  /** The graph engine and its `MemorySaver`. */
  engine: [
    "@langchain/langgraph@1.7.3",
    "@langchain/langgraph-checkpoint@1.2.2",
    "@langchain/core@1.4.0",
  ],
  /** The SQLite checkpointer and its driver (a native addon). */
  sqlite: ["@langchain/langgraph-checkpoint-sqlite@1.0.4", "better-sqlite3@12.11.1"],
} as const;

/** A LangGraph checkpointer the chain runs with. */
type Saver = "sqlite" | "memory";

const SAVER_LABEL: Record<Saver, string> = {
  sqlite: "LangGraph+SQLite",
  memory: "LangGraph+MemorySaver",
};

/** The last three lines of an error message that say something, on one line. */
function tail(message: string): string {
  const lines = message.trim().split("\n").filter((line) =>
    line.trim() !== "" && !line.includes("complete log of this run")
  );
  return lines.slice(-3).join(" | ");
}

async function npmInstall(dir: string, packages: readonly string[]): Promise<void> {
  await runTool("npm", [
    "install",
    "--prefix",
    dir,
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...packages,
  ], { cwd: dir });
}

/**
 * Installs LangGraph into `dir` and tells which savers can run; for each one
 * that cannot, why.
 */
async function installPeer(dir: string, ctx: BenchContext): Promise<Map<Saver, string | null>> {
  const reasons = new Map<Saver, string | null>();
  try {
    await runTool("node", ["--version"]);
    await runTool("npm", ["--version"]);
  } catch {
    reasons.set("sqlite", "node or npm is not on PATH").set("memory", "node or npm is not on PATH");
    return reasons;
  }
  try {
    ctx.progress(`langgraph: npm install ${PEER_PACKAGES.engine.join(" ")}`);
    await npmInstall(dir, PEER_PACKAGES.engine);
    reasons.set("memory", null);
  } catch (err) {
    const reason = `npm install failed: ${tail((err as Error).message)}`;
    return reasons.set("sqlite", reason).set("memory", reason);
  }
  try {
    ctx.progress(
      `langgraph: npm install ${PEER_PACKAGES.sqlite.join(" ")} (builds a native addon)`,
    );
    await npmInstall(dir, PEER_PACKAGES.sqlite);
    reasons.set("sqlite", null);
  } catch (err) {
    reasons.set(
      "sqlite",
      `better-sqlite3 cannot be installed: ${tail((err as Error).message)}`,
    );
  }
  return reasons;
}

async function peerRun(dir: string, saver: Saver, nodes: number): Promise<number> {
  const work = await Deno.makeTempDir({ dir, prefix: "run_" });
  try {
    const out = await runTool("node", ["peer.mjs", saver, String(nodes), work], { cwd: dir });
    const { ms } = JSON.parse(out);
    if (typeof ms !== "number") throw new Error(`LangGraph peer printed ${out.trim()}`);
    return ms;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** The target on Lily's ratio to LangGraph+SQLite at each size (issue 8). */
function sqliteTarget(nodes: number): string | null {
  if (nodes >= 1_000) return "<= 0.1";
  if (nodes >= 100) return "<= 0.3";
  return null;
}

/**
 * Measures Lily and LangGraph on chains of 100 and 1,000 steps (20 and 100
 * when quick). Each try of either side runs one chain in a fresh temp
 * workspace or database; the sides alternate, their order reversing each
 * round, and each side's figure is its median over the rounds (5, or 1 when
 * quick). Lily runs one untimed chain of each size first; LangGraph's process
 * warms up with one untimed chain before its timed one.
 *
 * @param ctx Sizes, progress, and whether peers run at all.
 * @returns One figure per saver and size, in ms per step; none when skipped.
 */
export async function benchLangGraph(ctx: BenchContext): Promise<Figure[]> {
  if (!ctx.peers) {
    ctx.progress("langgraph: skipped (--no-peers)");
    return [];
  }
  return await withTempDir(async (dir) => {
    const reasons = await installPeer(dir, ctx);
    await Deno.copyFile(new URL("./langgraph_peer.mjs", import.meta.url), join(dir, "peer.mjs"));
    for (const saver of ["sqlite", "memory"] as const) {
      if (reasons.get(saver)) continue;
      try {
        await peerRun(dir, saver, 2);
      } catch (err) {
        reasons.set(saver, `a 2-node chain fails: ${tail((err as Error).message)}`);
      }
    }
    const savers = (["sqlite", "memory"] as const).filter((saver) => {
      const reason = reasons.get(saver);
      if (reason) ctx.progress(`langgraph: ${SAVER_LABEL[saver]} skipped: ${reason}`);
      return !reason;
    });
    if (savers.length === 0) return [];
    const rounds = ctx.quick ? 1 : 5;
    const figures: Figure[] = [];
    for (const nodes of ctx.quick ? [20, 100] : [100, 1_000]) {
      ctx.progress(
        `langgraph: ${nodes}-step chains, Lily against ${savers.join(" and ")}, ${rounds} ${
          rounds === 1 ? "round" : "rounds"
        }`,
      );
      await timeChain(fnChain(nodes));
      const perStep: Record<string, number[]> = { lily: [] };
      for (const saver of savers) perStep[saver] = [];
      for (let round = 0; round < rounds; round++) {
        const sides = ["lily", ...savers];
        if (round % 2 === 1) sides.reverse();
        for (const side of sides) {
          const ms = side === "lily"
            ? await timeChain(fnChain(nodes))
            : await peerRun(dir, side as Saver, nodes);
          perStep[side].push(ms / nodes);
        }
      }
      for (const saver of savers) {
        figures.push(makeFigure({
          name: `fn chain vs ${SAVER_LABEL[saver]}, ${nodes} steps`,
          unit: "ms/step",
          value: median(perStep.lily),
          floor: median(perStep[saver]),
          target: saver === "sqlite" ? sqliteTarget(nodes) : null,
        }));
      }
    }
    return figures;
  });
}

if (import.meta.main) {
  const ctx: BenchContext = {
    quick: Deno.args.includes("--quick"),
    peers: true,
    progress: (message) => console.error(message),
  };
  for (const figure of await benchLangGraph(ctx)) console.log(formatFigure(figure));
}
