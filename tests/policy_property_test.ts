/**
 * Property test of the policy sandbox: for random policies over a fixed
 * tree, the access a real attempt has inside bubblewrap (probed with real
 * reads and appends, all in one run) equals what `decideAccess` says the
 * policy grants. Seeded, so a failure names a reproducible case.
 */

import { assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { withTempDir } from "./_helpers.ts";
import { attemptContext, bwrapTest, PATH } from "./_executor_fixtures.ts";
import { CommandExecutor } from "../src/runtime/executors/command_executor.ts";
import { decideAccess } from "../src/policy/decide_access.ts";
import type { PolicySpec } from "../src/graph/workflow.ts";

const FILES = ["f", "a/f", "a/b/f", "a/b/c/f", "c/f", "c/d/f", ".git/f", ".iris/f"];
const PATHS = [".", "a", "a/b", "a/b/c", "c", "c/d", "f", "a/f", "c/d/f", "a/*", "**/f"];

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(random: () => number, max: number): string[] {
  const n = Math.floor(random() * (max + 1));
  return Array.from({ length: n }, () => PATHS[Math.floor(random() * PATHS.length)]);
}

const CONTENT = "host-content";

// Reads print what the sandbox sees; appends are judged by their effect on the host (a write
// to a path that is not mounted lands in a throwaway dir, which is no access to the host file).
const SCRIPT =
  FILES.map((f) =>
    `if grep -q ${CONTENT} '${f}' 2>/dev/null; then echo '${f} read'; else echo '${f} none'; fi; ` +
    `{ echo appended >> '${f}'; } 2>/dev/null`
  ).join("\n") + "\ntrue";

/** What the policy's globs match among the tree's files and dirs. */
function expandForOracle(ws: string, paths: readonly string[]): string[] {
  const all = [".", "a", "a/b", "a/b/c", "c", "c/d", ...FILES];
  return paths.flatMap((p) => {
    if (!/[*?[]/.test(p)) return [p];
    const re = p === "a/*" ? /^a\/[^/]+$/ : /^(?:.*\/)?f$/;
    return all.filter((q) => re.test(q) && !q.startsWith(".iris"));
  }).map((p) => (p === "." ? ws : join(ws, p)));
}

bwrapTest(
  "for random policies the sandbox grants exactly what decideAccess says",
  async (bwrap) => {
    const seed = Number(Deno.env.get("LILY_PROPERTY_SEED") ?? 20261130);
    const random = prng(seed);
    const executor = new CommandExecutor({ bubblewrap: bwrap });
    await withTempDir(async (ws) => {
      for (let round = 0; round < 30; round++) {
        for (const f of FILES) {
          await Deno.mkdir(join(ws, f, ".."), { recursive: true });
          await Deno.writeTextFile(join(ws, f), CONTENT);
        }
        const policy: PolicySpec = {
          read: pick(random, 3),
          write: pick(random, 2),
          deny: pick(random, 2),
        };
        const ctx = await attemptContext(ws, { policy, sandbox: true, env: { PATH } });
        const result = await executor.execute({ kind: "command", argv: ["sh", "-c", SCRIPT] }, ctx);
        const case_ = `seed ${seed} round ${round} policy ${JSON.stringify(policy)}`;
        assertEquals(result.status, "succeeded", `${case_}: ${result.message}`);
        const seen: Record<string, string> = Object.fromEntries(
          (await Deno.readTextFile(ctx.stdoutPath)).trim().split("\n").map((l) => l.split(" ")),
        );
        for (const f of FILES) {
          if ((await Deno.readTextFile(join(ws, f))).includes("appended")) {
            seen[f] = seen[f] === "read" ? "write" : "write without read";
          }
        }
        const expanded = {
          ...ctx.confinement,
          read: expandForOracle(ws, policy.read ?? []),
          write: expandForOracle(ws, policy.write ?? []),
          deny: expandForOracle(ws, policy.deny ?? []),
        };
        const expected = Object.fromEntries(
          FILES.map((f) => [f, decideAccess(expanded, join(ws, f))]),
        );
        assertEquals(seen, expected, case_);
        await Deno.remove(join(ws, ".iris", "runs"), { recursive: true });
      }
    });
  },
);
