/**
 * The `fn` executor: a TypeScript function called in the kernel's own
 * process, for library users and tests. It is not confined in any way: it
 * has every permission the kernel has.
 *
 * Inputs reach the function by their file ending: `.json` parsed, `.txt`,
 * `.md` and `.log` as strings, anything else as its path. Values it returns
 * are written as the declared outputs of the same names: a JSON value for a
 * json output, a string for a text output; file outputs it writes itself to
 * `ctx.outputDir`. On timeout or cancellation its signal is aborted and the
 * attempt ends at once, even when the function ignores the signal.
 *
 * @module
 */

import { dirname, extname } from "node:path";
import type { JsonValue } from "../../core/canonical_json.ts";
import { causeMessage, isLilyError, UsageError, ValidationError } from "../../core/errors.ts";
import { createDir, writeTextFile } from "../../store/durable_file.ts";
import type { FnContext, FnSpec, StepFunction } from "../../graph/workflow.ts";
import { type ExecutorCapabilities, FN_KIND, type SpecSchema } from "../../graph/executor_kind.ts";
import { declaredOutputPath, settleWithin, writeAttemptLogs } from "./_in_process.ts";
import type {
  ExecutionContext,
  ExecutionResult,
  Executor,
  ExecutorUse,
  MaterializedInput,
} from "./executor.ts";

/** Options of {@linkcode FnExecutor}. */
export interface FnExecutorOptions {
  /**
   * Functions by name, for steps that name a function instead of carrying one
   * (workflow files); a step's own `fn` wins.
   * @default {{}}
   */
  readonly functions?: Readonly<Record<string, StepFunction>>;
}

const TEXT_ENDINGS = new Set([".txt", ".md", ".log"]);

async function loadInput(input: MaterializedInput): Promise<unknown> {
  const ending = extname(input.path).toLowerCase();
  if (ending === ".json") {
    const text = await Deno.readTextFile(input.path);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ValidationError(
        `Input "${input.name}" (${input.path}) is not valid JSON: ${causeMessage(err)}`,
        { cause: err },
      );
    }
  }
  return TEXT_ENDINGS.has(ending) ? await Deno.readTextFile(input.path) : input.path;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The files a function's return value becomes, checked before any is written. */
function outputFiles(ctx: ExecutionContext, values: unknown): { path: string; text: string }[] {
  if (values === undefined || values === null) return [];
  if (typeof values !== "object" || Array.isArray(values)) {
    throw new UsageError(
      `The fn step "${ctx.stepId}" returned ${
        Array.isArray(values) ? "an array" : typeof values
      }; ` +
        "expected an object of output values by name, or nothing",
    );
  }
  return Object.entries(values as Record<string, JsonValue>).map(([name, value]) => {
    const path = declaredOutputPath(ctx, name);
    const { kind } = ctx.outputs[name];
    if (kind === "file") {
      throw new UsageError(
        `Output "${name}" is a file output; write it to ${path} instead of returning it`,
      );
    }
    if (kind === "text") {
      if (typeof value !== "string") {
        throw new UsageError(
          `Output "${name}" is a text output; expected a string, got ${typeof value}`,
        );
      }
      return { path, text: value };
    }
    const text = JSON.stringify(value);
    if (text === undefined) {
      throw new UsageError(
        `Output "${name}" is a json output; expected a JSON value, got ${typeof value}`,
      );
    }
    return { path, text };
  });
}

/** Runs {@linkcode FnSpec} attempts by calling the function in-process. */
export class FnExecutor implements Executor<FnSpec> {
  /** The kind this executor runs. */
  readonly kind = "fn";
  /** The schema of its spec. */
  readonly specSchema: SpecSchema = FN_KIND.specSchema;
  /** What it can do. */
  readonly capabilities: ExecutorCapabilities = FN_KIND.capabilities;
  readonly #functions: Readonly<Record<string, StepFunction>>;

  /**
   * Creates the executor.
   *
   * @param options The named functions steps may refer to.
   */
  constructor(options: FnExecutorOptions = {}) {
    this.#functions = { ...options.functions };
  }

  /**
   * Names each step or gate whose function is neither carried by its spec
   * (the TS API) nor registered in `functions`.
   *
   * @param uses The fn steps and gates of a workflow.
   * @returns One sentence per function that is missing.
   */
  unready(uses: readonly ExecutorUse<FnSpec>[]): string[] {
    return uses.filter(({ spec }) =>
      spec.fn === undefined && !Object.hasOwn(this.#functions, spec.name)
    ).map(({ what, spec }) =>
      `${what} calls the function "${spec.name}", which is not registered: pass it in ` +
      "functions (library); the CLI registers no functions, so a workflow run from it " +
      "cannot use fn"
    );
  }

  /**
   * Runs one attempt: loads the inputs, calls the function, writes the
   * outputs it returns.
   *
   * @param spec The function, or its name.
   * @param ctx Everything prepared for the attempt.
   * @returns How it ended (no exit code: there is no process); summary
   * `{ executor, name }`. A thrown error is a `failed` result with its message.
   */
  async execute(spec: FnSpec, ctx: ExecutionContext): Promise<ExecutionResult> {
    const summary = { executor: "fn", name: spec.name };
    const fn = spec.fn ??
      (Object.hasOwn(this.#functions, spec.name) ? this.#functions[spec.name] : undefined);
    if (!fn) {
      await writeAttemptLogs(ctx);
      return {
        status: "failed",
        exitCode: null,
        message: `The fn step "${ctx.stepId}" has no function; register one named ` +
          `"${spec.name}" in the fn executor's functions option`,
        summary,
      };
    }
    const settled = await settleWithin(async (signal) => {
      const inputs: Record<string, unknown> = {};
      for (const [name, input] of Object.entries(ctx.inputs)) inputs[name] = await loadInput(input);
      const fnCtx: FnContext = {
        runId: ctx.runId,
        stepId: ctx.stepId,
        attempt: ctx.attempt,
        inputs,
        outputDir: ctx.outputDir,
        signal,
        env: ctx.env,
      };
      return await fn(fnCtx);
    }, ctx);
    if (settled.kind === "timeout" || settled.kind === "cancelled") {
      await writeAttemptLogs(ctx);
      return { status: settled.kind, exitCode: null, message: settled.message, summary };
    }
    if (settled.kind === "threw") {
      const err = settled.error;
      await writeAttemptLogs(ctx, {
        stderr: err instanceof Error ? `${err.stack ?? err.message}\n` : "",
      });
      return { status: "failed", exitCode: null, message: errorMessage(err), summary };
    }
    await writeAttemptLogs(ctx);
    let files: { path: string; text: string }[];
    try {
      files = outputFiles(ctx, settled.value);
    } catch (err) {
      if (isLilyError(err)) {
        return { status: "failed", exitCode: null, message: errorMessage(err), summary };
      }
      throw err;
    }
    for (const { path, text } of files) {
      await createDir(dirname(path), { recursive: true });
      await writeTextFile(path, text);
    }
    return { status: "succeeded", exitCode: null, summary };
  }
}
