/**
 * The `llm` executor: fills the step's inputs into its messages, asks a
 * {@linkcode LlmProvider}, and writes the reply as the step's declared output.
 * The reply also goes to the stdout log; token usage goes into the result,
 * and every request sent and reply received (as the provider reports them,
 * or one in-process exchange for a provider that reports none) goes into
 * the result's `exchanges`, which the runtime stores with the attempt.
 *
 * @module
 */

import { dirname } from "node:path";
import { type Clock, systemClock } from "../../core/clock.ts";
import { causeMessage, isLilyError, UsageError } from "../../core/errors.ts";
import { createDir, writeTextFile } from "../../store/durable_file.ts";
import type { LlmMessage, LlmSpec } from "../../graph/workflow.ts";
import { type ExecutorCapabilities, LLM_KIND, type SpecSchema } from "../../graph/executor_kind.ts";
import { FEEDBACK_INPUT } from "../../graph/route_check.ts";
import { declaredOutputPath, type Settled, settleWithin, writeAttemptLogs } from "./_in_process.ts";
import type { ExecutionContext, ExecutionResult, Executor, ExecutorUse } from "./executor.ts";
import {
  type LlmProvider,
  type LlmReply,
  type LlmRequest,
  MissingLlmProvider,
} from "./llm_provider.ts";
import { type LlmExchange, recordingTranscript } from "./llm_transcript.ts";

/** Options of {@linkcode LlmExecutor}. */
export interface LlmExecutorOptions {
  /** The provider every `llm` step asks. */
  readonly provider: LlmProvider;
  /**
   * Stamps the recorded requests and replies.
   * @default {systemClock}
   */
  readonly clock?: Clock;
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
      if (name === FEEDBACK_INPUT && !Object.hasOwn(ctx.inputs, name)) {
        // A route's target has no feedback before a route first brings it back.
        texts.set(name, "");
        continue;
      }
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
  readonly #clock: Clock;

  /**
   * Creates the executor.
   *
   * @param options The provider and the clock.
   */
  constructor(options: LlmExecutorOptions) {
    this.#provider = options.provider;
    this.#clock = options.clock ?? systemClock;
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
      "set LILY_LLM to fake, openai or anthropic (CLI), or pass llm (library)",
    ];
  }

  /**
   * Runs one attempt: fills `{{inputs.NAME}}` with each input's text (and
   * `{{inputs.feedback}}` with nothing until a route hands the step its
   * feedback), asks the provider, writes the reply to the output named by
   * `spec.output`.
   *
   * @param spec The model, the messages, the output and whether JSON is wanted.
   * @param ctx Everything prepared for the attempt.
   * @returns How it ended, with the token usage and the exchanges; summary
   * `{ executor, provider, model }`.
   */
  async execute(spec: LlmSpec, ctx: ExecutionContext): Promise<ExecutionResult> {
    const summary = { executor: "llm", provider: this.#provider.name, model: spec.model };
    const transcript = recordingTranscript(this.#clock);
    let exchanges: LlmExchange[] = [];
    const fail = async (message: string, stderr = ""): Promise<ExecutionResult> => {
      await writeAttemptLogs(ctx, { stderr });
      return { status: "failed", exitCode: null, message, summary, exchanges };
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
    const request: Omit<LlmRequest, "signal"> = {
      model: spec.model,
      messages,
      json: spec.json,
      step: ctx.stepId,
      attempt: ctx.attempt,
    };
    const sent = this.#clock.now().toISOString();
    const settled = await settleWithin(
      (signal) => this.#provider.complete({ ...request, signal, transcript }),
      ctx,
    );
    exchanges = transcript.exchanges();
    if (exchanges.length === 0) exchanges = [this.#inProcessExchange(request, sent, settled)];
    if (settled.kind === "timeout" || settled.kind === "cancelled") {
      await writeAttemptLogs(ctx);
      return { status: settled.kind, exitCode: null, message: settled.message, summary, exchanges };
    }
    if (settled.kind === "threw") {
      const err = settled.error;
      const message = err instanceof Error ? err.message : String(err);
      // Lily's own errors are their message; only another provider's error
      // (a library user's) keeps its stack, which points into their code.
      const logged = err instanceof Error && !isLilyError(err) ? err.stack ?? message : message;
      return await fail(`Provider "${this.#provider.name}" failed: ${message}`, `${logged}\n`);
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
        exchanges,
      };
    }
    await createDir(dirname(outputPath), { recursive: true });
    await writeTextFile(outputPath, text);
    return { status: "succeeded", exitCode: null, summary, usage, exchanges };
  }

  /** The one exchange recorded for a provider that reported none: the request as asked. */
  #inProcessExchange(
    request: Omit<LlmRequest, "signal">,
    sentAt: string,
    settled: Settled<LlmReply>,
  ): LlmExchange {
    const text = settled.kind === "done" ? settled.value.text : null;
    const error = settled.kind === "threw" ? causeMessage(settled.error) : null;
    const received = this.#clock.now();
    return {
      request: {
        provider: this.#provider.name,
        url: null,
        model: request.model,
        body: {
          model: request.model,
          messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
          json: request.json,
        },
        sent_at: sentAt,
      },
      reply: text === null && error === null ? null : {
        status: null,
        body: null,
        text,
        ...(settled.kind === "done" ? { usage: settled.value.usage } : {}),
        error,
        received_at: received.toISOString(),
        duration_ms: Math.max(0, received.getTime() - Date.parse(sentAt)),
      },
    };
  }
}
