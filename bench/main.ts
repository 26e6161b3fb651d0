/**
 * `deno task bench`: Lily's benchmark suite. Every benchmark measures Lily and
 * a floor (the same work done by hand or by the system tools) in the same run,
 * and reports Lily's figure as a ratio to its floor; see `docs/benchmarks.md`.
 *
 * ```sh
 * deno task bench                 # one line per figure on stdout
 * deno task bench --json          # one JSON array on stdout, progress on stderr
 * deno task bench --quick         # small sizes, for smoke tests (or LILY_BENCH_QUICK=1)
 * deno task bench --no-peers      # skip peers installed from the network (LangGraph JS)
 * ```
 *
 * @module
 */

import { type BenchContext, type Figure, formatFigure } from "./_measure.ts";
import { benchAccessJournal } from "./access_journal_bench.ts";
import { benchCliRunNew } from "./cli_run_new_bench.ts";
import { benchContracts } from "./contracts_bench.ts";
import { benchDenoBroker } from "./deno_broker_bench.ts";
import { benchDedup } from "./dedup_bench.ts";
import { benchDenoStep } from "./deno_step_bench.ts";
import { benchLangGraph } from "./langgraph_bench.ts";
import { benchList } from "./list_bench.ts";
import { benchNetBridge } from "./net_bridge_bench.ts";
import { benchPutFile } from "./put_file_bench.ts";
import { benchProvenance } from "./provenance_bench.ts";
import { benchPutJson } from "./put_json_bench.ts";
import { benchRecords } from "./records_bench.ts";
import { benchSandbox } from "./sandbox_bench.ts";
import { benchStepCache } from "./step_cache_bench.ts";
import { benchWorkflow } from "./workflow_bench.ts";

/** The options of a bench run. */
export interface BenchOptions {
  /** Print one JSON document on stdout instead of lines. */
  readonly json: boolean;
  /** Use the small sizes. */
  readonly quick: boolean;
  /** Run the comparisons against peers installed from the network at bench time. */
  readonly peers: boolean;
}

const USAGE = "Usage: deno task bench [--json] [--quick] [--no-peers]";
const FLAGS = ["--json", "--quick", "--no-peers"];

/**
 * Reads the bench options from the command line and the environment.
 *
 * @param args The command-line arguments.
 * @param env Reads an environment variable (`LILY_BENCH_QUICK=1` means `--quick`).
 * @returns The options.
 * @throws {TypeError} On an unknown argument.
 */
export function parseBenchArgs(
  args: readonly string[],
  env: (name: string) => string | undefined,
): BenchOptions {
  for (const arg of args) {
    if (!FLAGS.includes(arg)) {
      throw new TypeError(`Unknown argument ${JSON.stringify(arg)}; ${USAGE}`);
    }
  }
  return {
    json: args.includes("--json"),
    quick: args.includes("--quick") || env("LILY_BENCH_QUICK") === "1",
    peers: !args.includes("--no-peers"),
  };
}

const BENCHMARKS: readonly ((ctx: BenchContext) => Promise<Figure[]>)[] = [
  benchPutJson,
  benchPutFile,
  benchDedup,
  benchList,
  benchCliRunNew,
  benchSandbox,
  benchDenoStep,
  benchContracts,
  benchWorkflow,
  benchLangGraph,
  benchDenoBroker,
  benchNetBridge,
  benchAccessJournal,
  benchRecords,
  benchProvenance,
  benchStepCache,
];

/**
 * Runs every benchmark in turn, printing each figure as it is measured (or,
 * with `json`, all of them as one JSON array at the end).
 *
 * @param options JSON output and quick sizes.
 * @returns Every figure.
 */
export async function runBenchmarks(options: BenchOptions): Promise<Figure[]> {
  const ctx: BenchContext = {
    quick: options.quick,
    peers: options.peers,
    progress: (message) => console.error(message),
  };
  ctx.progress(`Lily benchmarks${options.quick ? " (quick sizes)" : ""}`);
  const figures: Figure[] = [];
  for (const bench of BENCHMARKS) {
    for (const figure of await bench(ctx)) {
      figures.push(figure);
      if (!options.json) console.log(formatFigure(figure));
    }
  }
  if (options.json) console.log(JSON.stringify(figures, null, 2));
  return figures;
}

if (import.meta.main) {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(Deno.args, (name) => Deno.env.get(name));
  } catch (err) {
    console.error((err as Error).message);
    Deno.exit(2);
  }
  await runBenchmarks(options);
}
