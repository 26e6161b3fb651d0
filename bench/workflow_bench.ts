/**
 * Layer 2 overheads. (1) Kernel cost per step on a chain of `fn` steps, at
 * 10,000 steps against 100 steps: the ratio shows whether a transition's cost
 * grows with the graph (target ≤ 1.5). (2) Per-step overhead of `command`
 * steps running `/bin/true` against spawning `/bin/true` bare. (3) When
 * `snakemake` is on PATH, the same chain of trivial shell jobs in both, as
 * Lily's per-job overhead over snakemake's (aim: well below 1).
 *
 * @module
 */

import { join } from "node:path";
import type { StepDefinition } from "../mod.ts";
import { fnChain, timeChain } from "./_chains.ts";
import { type BenchContext, type Figure, makeFigure, runTool, withTempDir } from "./_measure.ts";

function commandChain(n: number): StepDefinition[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `s${i}`,
    command: ["/bin/true"],
    ...(i > 0 ? { needs: [`s${i - 1}`] } : {}),
  }));
}

async function bareSpawns(n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    await new Deno.Command("/bin/true", { stdout: "null", stderr: "null" }).output();
  }
  return performance.now() - start;
}

async function snakemakeChain(n: number): Promise<number | undefined> {
  try {
    await runTool("snakemake", ["--version"]);
  } catch {
    return undefined;
  }
  return await withTempDir(async (dir) => {
    const rules = Array.from({ length: n }, (_, i) =>
      [
        `rule s${i}:`,
        ...(i > 0 ? [`    input: "s${i - 1}.done"`] : []),
        `    output: "s${i}.done"`,
        `    shell: "touch {output}"`,
      ].join("\n"));
    const all = `rule all:\n    input: "s${n - 1}.done"\n`;
    await Deno.writeTextFile(join(dir, "Snakefile"), `${all}\n${rules.join("\n\n")}\n`);
    const start = performance.now();
    await runTool("snakemake", ["--cores", "1", "--quiet"], { cwd: dir });
    return performance.now() - start;
  });
}

/**
 * Measures per-step kernel overhead.
 *
 * @param ctx Sizes and progress.
 * @returns The figures.
 */
export async function benchWorkflow(ctx: BenchContext): Promise<Figure[]> {
  const small = ctx.quick ? 50 : 100;
  const large = ctx.quick ? 1_000 : 10_000;
  ctx.progress(`fn chain: ${small} steps`);
  const smallMs = await timeChain(fnChain(small));
  ctx.progress(`fn chain: ${large} steps`);
  const largeMs = await timeChain(fnChain(large));
  const figures = [makeFigure({
    name: `fn step overhead, ${large} vs ${small} steps`,
    unit: "ms/step",
    value: largeMs / large,
    floor: smallMs / small,
    target: "<= 1.5",
  })];

  const commands = ctx.quick ? 20 : 100;
  ctx.progress(`command chain: ${commands} steps of /bin/true, and as many bare spawns`);
  const commandMs = await timeChain(commandChain(commands));
  const bareMs = await bareSpawns(commands);
  figures.push(makeFigure({
    name: "command step (/bin/true) vs bare spawn",
    unit: "ms/step",
    value: commandMs / commands,
    floor: bareMs / commands,
  }));

  const jobs = ctx.quick ? 20 : 200;
  ctx.progress(`snakemake: ${jobs}-job chain, if snakemake is on PATH`);
  const snakeMs = await snakemakeChain(jobs);
  if (snakeMs === undefined) {
    ctx.progress("snakemake is not on PATH: its comparison is skipped");
  } else {
    const shellChain = Array.from({ length: jobs }, (_, i) => ({
      id: `s${i}`,
      shell: "touch s.done",
      ...(i > 0 ? { needs: [`s${i - 1}`] } : {}),
    }));
    const lilyMs = await timeChain(shellChain);
    figures.push(makeFigure({
      name: `${jobs}-job shell chain vs snakemake`,
      unit: "ms/job",
      value: lilyMs / jobs,
      floor: snakeMs / jobs,
      target: "<= 0.1",
    }));
  }
  return figures;
}
