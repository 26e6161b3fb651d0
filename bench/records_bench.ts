/**
 * Layer 5 records' cost per step: the same chain of `command` steps
 * (`/bin/true`; with `--no-sandbox`, so the kernel's own work is not drowned
 * by bubblewrap's set-up, and — where bubblewrap works, not with `--quick` —
 * sandboxed, as steps run by default) run by this checkout's CLI, which stores a
 * `step_run_record.v1` per attempt, an environment snapshot per run and
 * redacts secrets, and by the CLI of the commit before records
 * ({@linkcode BEFORE_RECORDS}, checked out with `git worktree add --detach`
 * into a temp dir). Per-step time is `(T(N steps) − T(1 step)) / (N − 1)`, so
 * the CLI's start-up cancels out; runs of both CLIs alternate. Target: ≤ 1.2.
 * Skipped, saying why, outside a git checkout or when that commit is missing.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import { type BenchContext, type Figure, makeFigure, median, withTempDir } from "./_measure.ts";

/** The last commit before step records (issue 10's Records). */
export const BEFORE_RECORDS = "6d08090";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

async function git(args: readonly string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const done = await new Deno.Command("git", {
      args: [...args],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(done.success ? done.stdout : done.stderr).trim();
    return { ok: done.success, out };
  } catch (err) {
    return { ok: false, out: err instanceof Error ? err.message : String(err) };
  }
}

function chain(n: number): string {
  const steps = Array.from(
    { length: n },
    (_, i) => `  - { id: s${i}, command: [/bin/true]${i > 0 ? `, needs: [s${i - 1}]` : ""} }`,
  );
  return `name: chain\nsteps:\n${steps.join("\n")}\n`;
}

/** Wall time of one `run start` of a flow by a CLI, in a workspace of its own, in ms. */
async function timeRun(
  cli: string,
  workspace: string,
  run: { flow: string; sandbox: boolean },
): Promise<number> {
  const start = performance.now();
  const flags = run.sandbox ? [] : ["--no-sandbox"];
  const done = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "run", "start", run.flow, ...flags, "--workspace", workspace],
    cwd: workspace,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  if (!done.success) {
    throw new Error(`${cli} run start failed: ${new TextDecoder().decode(done.stderr).trim()}`);
  }
  return ms;
}

/**
 * Measures the per-step cost of records against the commit before them.
 *
 * @param ctx The bench context.
 * @returns One figure in ms per step, or none (with the reason on stderr).
 */
export async function benchRecords(ctx: BenchContext): Promise<Figure[]> {
  const inside = await git(["rev-parse", "--is-inside-work-tree"]);
  if (!inside.ok || inside.out !== "true") {
    ctx.progress(
      "records: skipped (this is not a git checkout, so the CLI before records cannot be checked out)",
    );
    return [];
  }
  if (!(await git(["cat-file", "-e", `${BEFORE_RECORDS}^{commit}`])).ok) {
    ctx.progress(`records: skipped (commit ${BEFORE_RECORDS} is not in this clone)`);
    return [];
  }
  const n = ctx.quick ? 8 : 40;
  const tries = ctx.quick ? 2 : 7;
  return await withTempDir(async (dir) => {
    const old = join(dir, "before");
    const added = await git(["worktree", "add", "--detach", old, BEFORE_RECORDS]);
    if (!added.ok) throw new Error(`git worktree add failed: ${added.out}`);
    try {
      const clis = { now: join(REPO_ROOT, "cli.ts"), before: join(old, "cli.ts") };
      for (const side of Object.keys(clis) as (keyof typeof clis)[]) {
        const ws = join(dir, `ws-${side}`);
        await Deno.mkdir(ws);
        await Deno.writeTextFile(join(ws, "long.yaml"), chain(n));
        await Deno.writeTextFile(join(ws, "one.yaml"), chain(1));
        // Warm-up: module cache, store creation.
        await timeRun(clis[side], ws, { flow: "one.yaml", sandbox: false });
      }
      const modes = [false, ...(!ctx.quick && (await findBubblewrap()) ? [true] : [])];
      const figures: Figure[] = [];
      for (const sandbox of modes) {
        const perStep = { now: [] as number[], before: [] as number[] };
        for (let i = 0; i < tries; i++) {
          const order = i % 2 === 0 ? ["now", "before"] as const : ["before", "now"] as const;
          for (const side of order) {
            const ws = join(dir, `ws-${side}`);
            const long = await timeRun(clis[side], ws, { flow: "long.yaml", sandbox });
            const one = await timeRun(clis[side], ws, { flow: "one.yaml", sandbox });
            perStep[side].push(Math.max(long - one, 0.001) / (n - 1));
          }
        }
        ctx.progress(
          `records: ${tries} tries of a ${n}-step chain with each CLI` +
            (sandbox ? " (sandboxed)" : " (--no-sandbox)"),
        );
        figures.push(makeFigure({
          name: `records per step${sandbox ? " sandboxed" : ""} (vs ${BEFORE_RECORDS})`,
          unit: "ms",
          value: median(perStep.now),
          floor: median(perStep.before),
          target: "<= 1.2",
        }));
      }
      return figures;
    } finally {
      await git(["worktree", "remove", "--force", old]);
    }
  });
}
