/**
 * Executors by kind: the four built in, and the lookup the run loop and the
 * gate evaluator dispatch through. Packs add kinds by spreading the defaults
 * into a larger record: `{ ...defaultExecutors(), "acme/docker": docker }`
 * (and register the same executor as a kind the loader knows, with
 * `executorKinds([docker], { origin: "acme" })`).
 *
 * @module
 */

import type { Clock } from "../../core/clock.ts";
import { UsageError } from "../../core/errors.ts";
import type { CommandSpec, DenoSpec, FnSpec, LlmSpec, StepFunction } from "../../graph/workflow.ts";
import type { ExecutorKindSpec } from "../../graph/executor_kind.ts";
import { CommandExecutor, type CommandExecutorOptions } from "./command_executor.ts";
import { DenoExecutor, type DenoExecutorOptions } from "./deno_executor.ts";
import type { Executor } from "./executor.ts";
import { FnExecutor } from "./fn_executor.ts";
import { LlmExecutor } from "./llm_executor.ts";
import { type LlmProvider, MissingLlmProvider } from "./llm_provider.ts";

/** The settings of an executor of any kind, built in or from a pack. */
export type AnyExecutorSpec = ExecutorKindSpec;

/** Executors by the kind they run. */
export type ExecutorRegistry = Readonly<Record<string, Executor<AnyExecutorSpec>>>;

/**
 * The built-in executors by kind (a type alias, not an interface, so it is
 * an {@linkcode ExecutorRegistry} as it is).
 */
export type DefaultExecutors = {
  /** Runs argv steps. */
  readonly command: Executor<CommandSpec>;
  /** Runs TypeScript modules in confined `deno` processes. */
  readonly deno: Executor<DenoSpec>;
  /** Calls in-process functions. */
  readonly fn: Executor<FnSpec>;
  /** Asks a language model provider. */
  readonly llm: Executor<LlmSpec>;
};

/** Options of {@linkcode defaultExecutors}. */
export interface DefaultExecutorsOptions {
  /** Options of the `command` executor. */
  readonly command?: CommandExecutorOptions;
  /** Options of the `deno` executor. */
  readonly deno?: DenoExecutorOptions;
  /**
   * Functions `fn` steps may name.
   * @default {{}}
   */
  readonly functions?: Readonly<Record<string, StepFunction>>;
  /**
   * The provider `llm` steps ask; without one, `llm` steps fail saying how
   * to configure one (e.g. {@linkcode FakeLlmProvider}).
   * @default {new MissingLlmProvider()}
   */
  readonly llmProvider?: LlmProvider;
  /**
   * Stamps the requests and replies `llm` steps record.
   * @default {systemClock}
   */
  readonly clock?: Clock;
}

/**
 * Creates the built-in executors.
 *
 * @example
 * ```ts
 * import { defaultExecutors, executorFor } from "./executor_registry.ts";
 * const executors = defaultExecutors();
 * console.assert(executorFor(executors, { kind: "command" }).kind === "command");
 * ```
 *
 * @param options Options of each executor.
 * @returns `command`, `deno`, `fn` and `llm` executors, keyed by kind.
 */
export function defaultExecutors(options: DefaultExecutorsOptions = {}): DefaultExecutors {
  return {
    command: new CommandExecutor(options.command),
    deno: new DenoExecutor(options.deno),
    fn: new FnExecutor({ functions: options.functions }),
    llm: new LlmExecutor({
      provider: options.llmProvider ?? new MissingLlmProvider(),
      clock: options.clock,
    }),
  };
}

/**
 * Finds the executor for a spec's kind.
 *
 * @param registry Executors by kind.
 * @param spec The step's (or gate's) executor settings.
 * @returns The executor registered for `spec.kind`.
 * @throws {UsageError} When no executor runs that kind.
 */
export function executorFor(
  registry: ExecutorRegistry,
  spec: AnyExecutorSpec,
): Executor<AnyExecutorSpec> {
  if (Object.hasOwn(registry, spec.kind)) return registry[spec.kind];
  const known = Object.keys(registry).sort().map((kind) => `"${kind}"`).join(", ");
  throw new UsageError(`No executor runs the kind "${spec.kind}"; known kinds: ${known}`);
}
