/**
 * What the policy sandbox adds to a process step: a sandboxed `command`
 * attempt running `/bin/true` under the default policy (the executor's
 * whole path: the spawn checks, the policy's paths expanded and checked,
 * the host facts gathered, the mounts compiled, bwrap's status file, the
 * log files) against a bare spawn of the same `bwrap … /bin/true` argv.
 * Skipped, with a printed reason, where no working bwrap is found.
 *
 * @module
 */

import { benchAttempt } from "./_attempt.ts";
import { type BenchContext, type Figure, makeFigure } from "./_measure.ts";
import { bubblewrapArgv, findBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import { CommandExecutor } from "../src/runtime/executors/command_executor.ts";
import type { ExecutionContext } from "../src/runtime/executors/executor.ts";
import { prepareSandbox } from "../src/runtime/executors/policy_sandbox.ts";

async function contexts(ws: string, n: number): Promise<ExecutionContext[]> {
  const out: ExecutionContext[] = [];
  for (let i = 1; i <= n; i++) out.push(await benchAttempt(ws, i));
  return out;
}

/**
 * Runs the benchmark.
 *
 * @param ctx Sizes and progress.
 * @returns One figure, or none without bubblewrap.
 */
export async function benchSandbox(ctx: BenchContext): Promise<Figure[]> {
  const bwrap = await findBubblewrap();
  if (!bwrap) {
    ctx.progress("sandbox: no working bwrap on PATH, skipped");
    return [];
  }
  const n = ctx.quick ? 10 : 60;
  ctx.progress(`sandbox: ${n} sandboxed /bin/true attempts, and as many bare bwrap spawns`);
  const ws = await Deno.makeTempDir({ prefix: "lily_bench_sandbox_" });
  try {
    const all = await contexts(ws, n + 1);
    const executor = new CommandExecutor({ bubblewrap: bwrap });
    const prepared = await prepareSandbox(all[n], { bwrap, tools: null });
    if (!prepared.ok) throw new Error(prepared.message);
    const bare = bubblewrapArgv(["/bin/true"], {
      bwrap,
      mounts: prepared.mounts,
      cwd: ws,
      unshareNetwork: true,
    });
    const bareMs: number[] = [];
    const lilyMs: number[] = [];
    const runBare = async () => {
      const t = performance.now();
      const out = await new Deno.Command(bare[0], {
        args: bare.slice(1),
        env: { PATH: "/usr/bin:/bin" },
        clearEnv: true,
        stdout: "null",
        stderr: "null",
      }).output();
      bareMs.push(performance.now() - t);
      if (!out.success) throw new Error("bare bwrap /bin/true failed");
    };
    const runLily = async (i: number) => {
      const t = performance.now();
      const result = await executor.execute({ kind: "command", argv: ["/bin/true"] }, all[i]);
      lilyMs.push(performance.now() - t);
      if (result.status !== "succeeded") throw new Error(`sandboxed /bin/true: ${result.message}`);
    };
    for (let i = 0; i < n; i++) {
      // Interleaved, in alternating order, so a change in the machine's load hits both alike.
      if (i % 2 === 0) {
        await runBare();
        await runLily(i);
      } else {
        await runLily(i);
        await runBare();
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const figure = makeFigure({
      name: "sandboxed command (/bin/true) vs bare bwrap",
      unit: "ms",
      value: median(lilyMs),
      floor: median(bareMs),
    });
    ctx.progress(
      `sandbox: ${(figure.value - figure.floor).toFixed(2)} ms over bare (target <= 2 ms)`,
    );
    return [figure];
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
}
