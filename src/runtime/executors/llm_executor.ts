/**
 * The `llm` executor: fills the step's inputs into its messages, asks a
 * {@linkcode LlmProvider}, and writes the reply as the step's declared output.
 * The reply also goes to the stdout log; token usage goes into the result.
 *
 * @module
 */

import { dirname } from "node:path";
import { causeMessage, isLilyError, UsageError } from "../../core/errors.ts";
import { createDir, writeTextFile } from "../../store/durable_file.ts";
import type { LlmMessage, LlmSpec } from "../../graph/workflow.ts";
import { type ExecutorCapabilities, LLM_KIND, type SpecSchema } from "../../graph/executor_kind.ts";
import { declaredOutputPath, settleWithin, writeAttemptLogs } from "./_in_process.ts";
import type { ExecutionContext, ExecutionResult, Executor, ExecutorUse } from "./executor.ts";
import { type LlmProvider, MissingLlmProvider } from "./llm_provider.ts";

/** Options of {@linkcode LlmExecutor}. */
export interface LlmExecutorOptions {
  /** The provider every `llm` step asks. */
  readonly provider: LlmProvider;
}

const PLACEHOLDER = /\{\{\s*inputs\.([^{}\s]+)\s*\}\}/g;

async function fillMessages(
  messages: readonly LlmMessage[],
  ctx: ExecutionContext,
): Promise<LlmMessage[]> {
  const texts = new Map<string, string>();
  for (const message of messages) {
    for (const [, name] of message.content.matchAll(PLACEHOLDER)) {
      if (texts.has(name)) continue;
      if (!Object.hasOwn(ctx.inputs, name)) {
        const known = Object.keys(ctx.inputs).map((n) => `"${n}"`).join(", ") || "none";
        throw new UsageError(
          `The llm step "${ctx.stepId}" refers to {{inputs.${name}}}, but it has no input ` +
            `"${name}"; its inputs: ${known}`,
        );
      }
      texts.set(name, await Deno.readTextFile(ctx.inputs[name].path));
    }
  }
  return messages.map((message) => ({
    role: message.role,
    content: message.content.replace(PLACEHOLDER, (_, name: string) => texts.get(name) ?? ""),
  }));
}

function jsonProblem(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return causeMessage(err);
  }
}

/** Runs {@linkcode LlmSpec} attempts against one provider. */
export class LlmExecutor implements Executor<LlmSpec> {
  /** The kind this executor runs. */
  readonly kind = "llm";
  /** The schema of its spec. */
  readonly specSchema: SpecSchema = LLM_KIND.specSchema;
  /** What it can do. */
  readonly capabilities: ExecutorCapabilities = LLM_KIND.capabilities;
  readonly #provider: LlmProvider;

  /**
   * Creates the executor.
   *
   * @param options The provider.
   */
  constructor(options: LlmExecutorOptions) {
    this.#provider = options.provider;
  }

  /**
   * Without a provider (a {@linkcode MissingLlmProvider}), no llm step can run.
   *
   * @param uses The llm steps of a workflow.
   * @returns One sentence naming them when there is no provider; else none.
   */
  unready(uses: readonly ExecutorUse<LlmSpec>[]): string[] {
    if (!(this.#provider instanceof MissingLlmProvider) || uses.length === 0) return [];
    const one = uses.length === 1;
    return [
      `${one ? "Step" : "Steps"} ${uses.map((u) => u.id).join(", ")} ` +
      `${one ? "is an llm step" : "are llm steps"}, and no LLM provider is configured: ` +
      "set LILY_LLM=fake for the deterministic fake (CLI), or pass llm (library)",
    ];
  }

  /**
   * Runs one attempt: fills `{{inputs.NAME}}` with each input's text, asks
   * the provider, writes the reply to the output named by `spec.output`.
   *
   * @param spec The model, the messages, the output and whether JSON is wanted.
   * @param ctx Everything prepared for the attempt.
   * @returns How it ended, with the token usage; summary `{ executor, provider, model }`.
   */
  async execute(spec: LlmSpec, ctx: ExecutionContext): Promise<ExecutionResult> {
    const summary = { executor: "llm", provider: this.#provider.name, model: spec.model };
    const fail = async (message: string, stderr = ""): Promise<ExecutionResult> => {
      await writeAttemptLogs(ctx, { stderr });
      return { status: "failed", exitCode: null, message, summary };
    };
    let outputPath: string;
    let messages: LlmMessage[];
    try {
      outputPath = declaredOutputPath(ctx, spec.output);
      messages = await fillMessages(spec.messages, ctx);
    } catch (err) {
      if (isLilyError(err)) return await fail(err.message);
      throw err;
    }
    const settled = await settleWithin(
      (signal) => this.#provider.complete({ model: spec.model, messages, json: spec.json, signal }),
      ctx,
    );
    if (settled.kind === "timeout" || settled.kind === "cancelled") {
      await writeAttemptLogs(ctx);
      return { status: settled.kind, exitCode: null, message: settled.message, summary };
    }
    if (settled.kind === "threw") {
      const err = settled.error;
      const message = err instanceof Error ? err.message : String(err);
      return await fail(
        `Provider "${this.#provider.name}" failed: ${message}`,
        err instanceof Error ? `${err.stack ?? message}\n` : "",
      );
    }
    const { text, usage } = settled.value;
    await writeAttemptLogs(ctx, { stdout: text });
    const problem = spec.json ? jsonProblem(text) : undefined;
    if (problem !== undefined) {
      return {
        status: "failed",
        exitCode: null,
        message: `The reply of model "${spec.model}" is not valid JSON: ${problem}`,
        summary,
        usage,
      };
    }
    await createDir(dirname(outputPath), { recursive: true });
    await writeTextFile(outputPath, text);
    return { status: "succeeded", exitCode: null, summary, usage };
  }
}
