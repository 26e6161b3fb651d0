/**
 * What Lily adds to a `deno` step: a sandboxed `deno` attempt through the
 * {@linkcode DenoExecutor} (the policy's paths expanded and checked, the
 * host facts gathered, the flags and mounts compiled, the kernel as
 * Deno's permission broker, bubblewrap, the process tree, the log files)
 * running a module that writes one small file to its output dir, under
 * the default policy, against a bare
 * `deno run` of the same module with the flags the executor compiled
 * (read back from its summary), the same env and working directory, and no
 * bubblewrap: the "≤ 1.3×". A second figure, without a target,
 * compares the same attempt with that `deno run` inside the same bubblewrap
 * invocation (the same mounts, a new network namespace), so that the
 * sandbox's share and the kernel's share can be told apart. Skipped, with a
 * printed reason, where no working bwrap is found.
 *
 * The three sides run in rotating order, one call each per round, and each
 * figure is a median over the rounds.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { benchAttempt } from "./_attempt.ts";
import { type BenchContext, type Figure, makeFigure, median } from "./_measure.ts";
import { bubblewrapArgv, findBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import {
  DenoExecutor,
  kernelRuntimeEnv,
  moduleCache,
} from "../src/runtime/executors/deno_executor.ts";
import { prepareSandbox } from "../src/runtime/executors/policy_sandbox.ts";

const MODULE = 'Deno.writeTextFileSync(`${Deno.args[0]}/result.txt`, "ok\\n");\n';

/** The env the executor gives its child: Deno's own variables, then the step's. */
function childEnv(): Record<string, string> {
  return { ...kernelRuntimeEnv(), PATH: "/usr/bin:/bin" };
}

async function spawn(argv: readonly string[], cwd: string, what: string): Promise<void> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${what} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}

/**
 * Runs each side once per round, the order rotating from round to round (so
 * each side runs first, second and third equally often and a change in the
 * machine's load hits all alike), after one untimed round.
 *
 * @param sides The calls to time, by name.
 * @param rounds How many timed rounds.
 * @returns Each side's median time per call, in ms.
 */
async function rotate<K extends string>(
  sides: Record<K, () => Promise<unknown>>,
  rounds: number,
): Promise<Record<K, number>> {
  const names = Object.keys(sides) as K[];
  const times = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
    K,
    number[]
  >;
  for (let round = -1; round < rounds; round++) {
    const shift = (round + names.length) % names.length;
    for (const name of [...names.slice(shift), ...names.slice(0, shift)]) {
      const start = performance.now();
      await sides[name]();
      if (round >= 0) times[name].push(performance.now() - start);
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(times[name])])) as Record<K, number>;
}

/**
 * Runs the benchmark: Lily's attempt and both floors in rotating order
 * ({@linkcode rotate}); both figures share Lily's median.
 *
 * @param ctx Sizes and progress.
 * @returns Two figures in ms, or none without bubblewrap.
 */
export async function benchDenoStep(ctx: BenchContext): Promise<Figure[]> {
  const bwrap = await findBubblewrap();
  if (!bwrap) {
    ctx.progress("deno step: no working bwrap on PATH, skipped");
    return [];
  }
  const rounds = ctx.quick ? 3 : 21;
  ctx.progress(`deno step: ${rounds} rounds of a sandboxed deno attempt and both floors`);
  const ws = await Deno.makeTempDir({ prefix: "lily_bench_deno_step_" });
  try {
    await Deno.writeTextFile(join(ws, "step.ts"), MODULE);
    const attempt = await benchAttempt(ws, 1);
    const spec = { kind: "deno" as const, module: "step.ts", args: [attempt.outputDir] };
    const executor = new DenoExecutor({ bubblewrap: bwrap });
    const step = async () => {
      const result = await executor.execute(spec, attempt);
      if (result.status !== "succeeded") throw new Error(`The deno step: ${result.message}`);
      return result;
    };
    const first = await step();
    const flags = first.summary.flags as string[];
    const deno = await Deno.realPath(Deno.execPath());
    const run = [deno, "run", ...flags, join(ws, "step.ts"), attempt.outputDir];
    const cache = moduleCache(childEnv());
    const prepared = await prepareSandbox(attempt, {
      bwrap,
      tools: null,
      runtime: cache === undefined ? [dirname(deno)] : [dirname(deno), cache],
    });
    if (!prepared.ok) throw new Error(prepared.message);
    const sandboxed = bubblewrapArgv(run, {
      bwrap,
      mounts: prepared.mounts,
      cwd: ws,
      unshareNetwork: true,
    });
    const ms = await rotate({
      lily: step,
      bare: () => spawn(run, ws, "The bare deno run"),
      bwrapped: () => spawn(sandboxed, ws, "The deno run in bwrap"),
    }, rounds);
    return [
      makeFigure({
        name: "sandboxed deno step vs deno run",
        unit: "ms",
        value: ms.lily,
        floor: ms.bare,
        target: "<= 1.3",
      }),
      makeFigure({
        name: "sandboxed deno step vs it in bwrap",
        unit: "ms",
        value: ms.lily,
        floor: ms.bwrapped,
      }),
    ];
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
}

if (import.meta.main) {
  const figures = await benchDenoStep({
    quick: Deno.args.includes("--quick"),
    peers: false,
    progress: (message) => console.error(message),
  });
  for (const figure of figures) console.log(JSON.stringify(figure));
}
