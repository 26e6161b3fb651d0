/**
 * The executor interface, for packs that add kinds of steps: an executor
 * runs one attempt of a step in the context the kernel builds and reports
 * its status, exit code and logs. Give more executors by kind to
 * `createKernel({ executors })`.
 *
 * @example An executor that always succeeds
 * ```ts
 * import type { ExecutionContext, ExecutionResult, Executor } from "@lily/cli/executors";
 *
 * const noop: Executor<{ readonly kind: "noop" }> = {
 *   kind: "noop",
 *   execute(_spec, _ctx: ExecutionContext): Promise<ExecutionResult> {
 *     return Promise.resolve({ status: "succeeded", exitCode: 0, summary: { kind: "noop" } });
 *   },
 * };
 * console.assert(noop.kind === "noop");
 * ```
 *
 * @module
 */

export type {
  ExecutionContext,
  ExecutionResult,
  ExecutionStatus,
  Executor,
  LlmUsage,
  MaterializedInput,
  OnSpawn,
} from "./src/runtime/executors/executor.ts";
export type { Confinement, ConfinementMode } from "./src/policy/policy_model.ts";
export type {
  PolicyViolation,
  ViolationDecider,
  ViolationKind,
} from "./src/policy/policy_violation.ts";
export type {
  AnyExecutorSpec,
  ExecutorRegistry,
} from "./src/runtime/executors/executor_registry.ts";
