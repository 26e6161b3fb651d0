/**
 * The executor interface, for packs that add kinds of steps: an executor
 * declares the schema of its spec and its capabilities, runs one attempt of
 * a step in the context the kernel builds and reports its status, exit code
 * and logs. Register it as a kind for the loader (`executorKinds([…], {
 * origin })`, then `defineWorkflow(definition, { kinds })` or
 * `parseWorkflow(text, name, { kinds })`, where `run: { kind, … }` names it),
 * and give it by kind to `createKernel({ executors })`.
 *
 * @example An executor that always succeeds
 * ```ts
 * import { z } from "zod";
 * import { executorKinds } from "@lily/cli/executors";
 * import type { ExecutionContext, ExecutionResult, Executor } from "@lily/cli/executors";
 *
 * const noop: Executor<{ readonly kind: "acme/noop" }> = {
 *   kind: "acme/noop",
 *   specSchema: z.strictObject({ kind: z.literal("acme/noop") }),
 *   capabilities: {
 *     inProcess: true,
 *     producerKind: "tool",
 *     confinement: "none",
 *     roles: ["step", "gate"],
 *     waitsForPerson: false,
 *   },
 *   execute(_spec, _ctx: ExecutionContext): Promise<ExecutionResult> {
 *     return Promise.resolve({ status: "succeeded", exitCode: 0, summary: { kind: "acme/noop" } });
 *   },
 * };
 * const kinds = executorKinds([noop], { origin: "acme" });
 * console.assert(kinds.entry("acme/noop")?.origin === "acme");
 * ```
 *
 * @module
 */

export type {
  AccessDecision,
  AccessGrant,
  AccessReport,
  ExecutionContext,
  ExecutionResult,
  ExecutionStatus,
  Executor,
  ExecutorUse,
  GrantedMount,
  LlmUsage,
  MaterializedInput,
  OnAccess,
  OnSpawn,
} from "./src/runtime/executors/executor.ts";
export type { Confinement, ConfinementMode } from "./src/policy/policy_model.ts";
export { Redactor, StreamRedactor } from "./src/core/redaction.ts";
export type {
  PolicyViolation,
  ViolationDecider,
  ViolationKind,
} from "./src/policy/policy_violation.ts";
export {
  BUILTIN_EXECUTOR_KINDS,
  type ConfinementKind,
  type ExecutorCapabilities,
  type ExecutorKind,
  type ExecutorKinds,
  executorKinds,
  type ExecutorKindSpec,
  type RunnerOwner,
  type RunnerProducerKind,
  type RunnerRole,
  type SpecSchema,
} from "./src/graph/executor_kind.ts";
export { Registry, type RegistryEntry, type RegistryOptions } from "./src/core/registry.ts";
export type { PathIssue } from "./src/graph/workflow_definition.ts";
export type {
  AnyExecutorSpec,
  ExecutorRegistry,
} from "./src/runtime/executors/executor_registry.ts";
export {
  CommandExecutor,
  type CommandExecutorOptions,
} from "./src/runtime/executors/command_executor.ts";
export { DenoExecutor, type DenoExecutorOptions } from "./src/runtime/executors/deno_executor.ts";
