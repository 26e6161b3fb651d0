/**
 * Test doubles that are real implementations of Lily's injected
 * dependencies: a scripted LLM provider, a clock that moves only when told,
 * and an environment made from a record. Pass them to `createKernel`.
 *
 * @example A kernel with a fake LLM, a manual clock and a fixed environment
 * ```ts
 * import { createKernel } from "@lily/cli";
 * import { envFrom, FakeLlmProvider, ManualClock } from "@lily/cli/testing";
 *
 * const workspace = await Deno.makeTempDir();
 * const kernel = createKernel({
 *   workspace,
 *   llm: new FakeLlmProvider({ replies: { hi: "hello" } }),
 *   clock: new ManualClock({ start: new Date("2030-01-01T00:00:00Z") }),
 *   env: envFrom({ LILY_USER: "tester" }),
 * });
 * try {
 *   console.assert((await kernel.queries.listRuns()).length === 0);
 * } finally {
 *   kernel.close();
 *   await Deno.remove(workspace, { recursive: true });
 * }
 * ```
 *
 * @module
 */

export {
  FakeLlmProvider,
  type FakeLlmProviderOptions,
  type FakeLlmScript,
} from "./src/runtime/executors/llm_provider.ts";
export { ManualClock, type ManualClockOptions } from "./src/core/manual_clock.ts";
export { envFrom } from "./src/core/env.ts";
