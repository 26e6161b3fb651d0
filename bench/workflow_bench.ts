/**
 * Layer 2 overheads. (1) Kernel cost per step on a chain of `fn` steps, at
 * 10,000 steps against 100 steps: the ratio shows whether a transition's cost
 * grows with the graph (target ≤ 1.5). (2) Per-step overhead of `command`
 * steps running `/bin/true` against spawning `/bin/true` bare, and against
 * spawning it bare in the bubblewrap sandbox every command step gets.
 * (3) `--durability process` against `fsync` on a 1,000-step `fn` chain and
 * a 200-step `command` chain. (4) When `snakemake` is on PATH, the same chain
 * of trivial shell jobs in both, as Lily's per-job overhead over snakemake's
 * (aim: well below 1).
 *
 * @module
 */

import { join } from "node:path";
import type { Durability, StepDefinition } from "../mod.ts";
import { findBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
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

/**
 * Spawns `/bin/true` `n` times in the least sandbox bubblewrap sets up for a
 * step (its own PID namespace and session, the host's root and `/dev`), or
 * returns `undefined` where bubblewrap does not work.
 */
async function bareSandboxedSpawns(n: number): Promise<number | undefined> {
  const bwrap = await findBubblewrap();
  if (bwrap === undefined) return undefined;
  const args = [
    "--unshare-pid",
    "--die-with-parent",
    "--new-session",
    "--bind",
    "/",
    "/",
    "--dev-bind",
    "/dev",
    "/dev",
    "--proc",
    "/proc",
    "--chdir",
    "/",
    "--",
    "/bin/true",
  ];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    await new Deno.Command(bwrap, { args, stdout: "null", stderr: "null" }).output();
  }
  return performance.now() - start;
}

/** Per-step times of a chain under both durabilities: medians of `tries` interleaved runs. */
async function durabilityPair(
  steps: StepDefinition[],
  tries: number,
): Promise<{ fsync: number; process: number }> {
  const times: Record<Durability, number[]> = { fsync: [], process: [] };
  for (let i = 0; i < tries; i++) {
    const order: Durability[] = i % 2 === 0 ? ["fsync", "process"] : ["process", "fsync"];
    for (const durability of order) {
      times[durability].push((await timeChain(steps, { durability })) / steps.length);
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { fsync: median(times.fsync), process: median(times.process) };
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
  ctx.progress(`command chain: ${commands} steps, and as many bare spawns under bubblewrap`);
  const sandboxedMs = await bareSandboxedSpawns(commands);
  if (sandboxedMs === undefined) {
    ctx.progress("bubblewrap does not work here: the sandboxed-spawn comparison is skipped");
  } else {
    const stepMs = await timeChain(commandChain(commands));
    figures.push(makeFigure({
      name: "command step (/bin/true) vs bare bwrap spawn",
      unit: "ms/step",
      value: stepMs / commands,
      floor: sandboxedMs / commands,
    }));
  }

  const tries = ctx.quick ? 1 : 3;
  const fnSteps = ctx.quick ? 100 : 1_000;
  ctx.progress(`durability: ${fnSteps}-step fn chain, process and fsync, ${tries} tries each`);
  const fnPair = await durabilityPair(fnChain(fnSteps), tries);
  figures.push(makeFigure({
    name: `fn chain ${fnSteps} steps, durability process vs fsync`,
    unit: "ms/step",
    value: fnPair.process,
    floor: fnPair.fsync,
  }));
  const commandSteps = ctx.quick ? 20 : 200;
  ctx.progress(`durability: ${commandSteps}-step command chain, process and fsync`);
  const commandPair = await durabilityPair(commandChain(commandSteps), tries);
  figures.push(makeFigure({
    name: `command chain ${commandSteps} steps, durability process vs fsync`,
    unit: "ms/step",
    value: commandPair.process,
    floor: commandPair.fsync,
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
