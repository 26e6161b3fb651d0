/**
 * Chains of steps that the workflow benchmarks run through the public library
 * API, and the timing of one run of such a chain in a fresh workspace.
 *
 * @module
 */

import { createKernel, defineWorkflow, type Durability, type StepDefinition } from "../mod.ts";
import { openContractStore } from "../store.ts";
import { withTempDir } from "./_measure.ts";

/** Options of {@linkcode timeChain}. */
export interface TimeChainOptions {
  /**
   * How many steps run at once.
   * @default {1}
   */
  jobs?: number;
  /**
   * The run's durability.
   * @default {"fsync"}
   */
  durability?: Durability;
}

/**
 * Runs a chain of steps in a fresh temp workspace and times the run alone
 * (opening the store and defining the workflow are not timed).
 *
 * @param steps The steps, each needing the one before it.
 * @param options How many steps run at once; the durability.
 * @returns The run's wall time, in ms.
 * @throws {Error} When the run does not succeed.
 */
export async function timeChain(
  steps: StepDefinition[],
  options: TimeChainOptions = {},
): Promise<number> {
  return await withTempDir(async (ws) => {
    // The store is opened before the clock starts, as a long-lived kernel's is.
    const store = await openContractStore(ws);
    const kernel = createKernel({ workspace: ws, store, jobs: options.jobs ?? 1 });
    try {
      const graph = defineWorkflow({ name: `chain-${steps.length}`, steps });
      const start = performance.now();
      const { state } = await kernel.runs.start(graph, { durability: options.durability });
      const elapsed = performance.now() - start;
      if (state.status !== "succeeded") {
        throw new Error(`bench run ${state.status}: ${state.reason}`);
      }
      return elapsed;
    } finally {
      kernel.close();
      store.close();
    }
  });
}

/**
 * A chain of `n` no-op `fn` steps, `s0` … `s{n-1}`, each needing the one before.
 *
 * @param n The number of steps.
 * @returns The step definitions.
 */
export function fnChain(n: number): StepDefinition[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `s${i}`,
    fn: () => {},
    ...(i > 0 ? { needs: [`s${i - 1}`] } : {}),
  }));
}
