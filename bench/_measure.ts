/**
 * What every benchmark shares: the figure it reports, the context it runs in,
 * timing and statistics, spawning tools, and temp directories.
 *
 * A figure always pairs Lily's value with a floor measured in the same run
 * on the same machine, so the ratio between them is what can be compared
 * across machines.
 *
 * @module
 */

/** One reported figure: Lily's value next to its floor's. */
export interface Figure {
  /** What was measured, e.g. `putJson 1 KB`. */
  readonly name: string;
  /** Lily's value. */
  readonly value: number;
  /** The unit of `value` and `floor`, e.g. `ops/s` or `ms`. */
  readonly unit: string;
  /** The floor's value, measured in the same run. */
  readonly floor: number;
  /** `value / floor`. */
  readonly ratio: number;
  /** The bound the ratio must meet, `">= 0.8"` or `"<= 1.2"`, or `null` when there is none. */
  readonly target: string | null;
}

/** What a benchmark receives from the runner. */
export interface BenchContext {
  /** Use the small sizes of `--quick` (for smoke tests). */
  readonly quick: boolean;
  /**
   * Run the comparisons against peers that are installed from the network at
   * bench time (LangGraph JS, with npm); `--no-peers` turns them off.
   */
  readonly peers: boolean;
  /** Reports progress to a human (on stderr). */
  readonly progress: (message: string) => void;
}

/** Options of {@linkcode makeFigure}. */
export interface FigureOptions {
  /** What was measured. */
  name: string;
  /** The unit of both values. */
  unit: string;
  /** Lily's value. */
  value: number;
  /** The floor's value. */
  floor: number;
  /**
   * The bound on the ratio.
   * @default {null}
   */
  target?: string | null;
}

const TARGET = /^(>=|<=) (\d+(?:\.\d+)?)$/;

/**
 * Makes a figure, computing its ratio; values are rounded to 3 decimals.
 *
 * @param options Name, unit, both values and the target.
 * @returns The figure.
 * @throws {RangeError} When a value is not finite and positive, or the target
 * is malformed.
 */
export function makeFigure(options: FigureOptions): Figure {
  for (const [what, v] of [["value", options.value], ["floor", options.floor]] as const) {
    if (!Number.isFinite(v) || v <= 0) {
      throw new RangeError(`Invalid ${what} of ${options.name}: expected > 0, got ${v}`);
    }
  }
  const target = options.target ?? null;
  if (target !== null && !TARGET.test(target)) {
    throw new RangeError(`Invalid target ${JSON.stringify(target)}: expected ">= x" or "<= x"`);
  }
  return {
    name: options.name,
    value: round(options.value),
    unit: options.unit,
    floor: round(options.floor),
    ratio: round(options.value / options.floor),
    target,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Tells whether a figure meets its target.
 *
 * @param figure The figure.
 * @returns `true` or `false`, or `null` when it has no target.
 */
export function targetMet(figure: Figure): boolean | null {
  const match = figure.target === null ? null : TARGET.exec(figure.target);
  if (!match) return null;
  const bound = Number(match[2]);
  return match[1] === ">=" ? figure.ratio >= bound : figure.ratio <= bound;
}

/**
 * Formats a figure as one human-readable line.
 *
 * @param figure The figure.
 * @returns The line, without a newline.
 */
export function formatFigure(figure: Figure): string {
  const met = targetMet(figure);
  const verdict = met === null ? "no target" : `target ${figure.target}: ${met ? "met" : "MISSED"}`;
  const show = (v: number) => `${v.toFixed(v >= 100 ? 0 : 2)} ${figure.unit}`;
  return `${figure.name.padEnd(34)} ${show(figure.value).padStart(14)}   floor ${
    show(figure.floor).padStart(14)
  }   ratio ${figure.ratio.toFixed(3).padStart(6)}   ${verdict}`;
}

/**
 * The median of some values.
 *
 * @param values The values.
 * @returns Their median (the mean of the middle two for an even count).
 * @throws {RangeError} When there are no values.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("Cannot take the median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The two sides of a comparison; a side may be sync or async. */
export interface Sides {
  /** One call of Lily. */
  lily: () => unknown;
  /** One call of the floor. */
  floor: () => unknown;
}

/** Options of {@linkcode interleave}. */
export interface InterleaveOptions {
  /** How many timed blocks each side runs. */
  blocks: number;
  /** How many calls one block makes. */
  perBlock: number;
  /**
   * How many untimed blocks each side runs first.
   * @default {1}
   */
  warmupBlocks?: number;
}

/**
 * Runs Lily and its floor in alternating blocks (Lily then floor, then floor
 * then Lily, and so on), so that both see the same machine, caches and disk;
 * each side's figure is the median over its blocks of the mean time per call,
 * which a stall of the (shared, virtual) machine cannot skew.
 *
 * @param sides The two sides.
 * @param options Block count and size, and warm-up.
 * @returns Each side's median time per call, in ms.
 */
export async function interleave(
  sides: Sides,
  options: InterleaveOptions,
): Promise<{ lily: number; floor: number }> {
  const perCall = { lily: [] as number[], floor: [] as number[] };
  const warmup = options.warmupBlocks ?? 1;
  for (let block = -warmup; block < options.blocks; block++) {
    const order = block % 2 === 0 ? ["lily", "floor"] as const : ["floor", "lily"] as const;
    for (const side of order) {
      const call = sides[side];
      const start = performance.now();
      for (let i = 0; i < options.perBlock; i++) {
        const result = call();
        if (result instanceof Promise) await result;
      }
      if (block >= 0) perCall[side].push((performance.now() - start) / options.perBlock);
    }
  }
  return { lily: median(perCall.lily), floor: median(perCall.floor) };
}

/** Options of {@linkcode runTool}. */
export interface RunToolOptions {
  /**
   * The working directory.
   * @default {the current directory}
   */
  cwd?: string;
}

/**
 * Runs an external program to completion and returns its stdout.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param options The working directory.
 * @returns What it printed on stdout.
 * @throws {Error} When it exits with a non-zero code; the message holds its stderr.
 */
export async function runTool(
  command: string,
  args: readonly string[],
  options: RunToolOptions = {},
): Promise<string> {
  const out = await new Deno.Command(command, {
    args: [...args],
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Failed to run ${command} ${args.join(" ")}: exit code ${out.code}: ` +
        new TextDecoder().decode(out.stderr).trim(),
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Flushes every dirty page to disk (`sync`), so one measurement does not pay
 * for the writeback of the previous one.
 */
export async function flushDisk(): Promise<void> {
  await runTool("sync", []);
}

/**
 * Writes every byte of `data` to an open file, looping over short writes.
 *
 * @param file An open, writable file.
 * @param data The bytes to write.
 */
export async function writeFully(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length;) offset += await file.write(data.subarray(offset));
}

/**
 * Runs `fn` with a fresh temp directory and removes it afterwards.
 *
 * @param fn The work to do in the directory.
 * @returns What `fn` returns.
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "lily_bench_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
