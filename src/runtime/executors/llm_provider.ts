/**
 * Language model providers for `llm` steps: the interface a provider
 * implements, and a deterministic fake for tests and demos. The HTTP
 * providers are in `llm_openai.ts` and `llm_anthropic.ts`.
 *
 * @module
 */

import { UsageError } from "../../core/errors.ts";
import { canonicalJson, type JsonValue, sha256Hex } from "../../core/canonical_json.ts";
import type { LlmMessage } from "../../graph/workflow.ts";
import type { LlmUsage } from "./executor.ts";
import type { LlmTranscript } from "./llm_transcript.ts";

/** What an `llm` step asks a provider. */
export interface LlmRequest {
  /** The provider's model name. */
  readonly model: string;
  /** The conversation, inputs already filled in. */
  readonly messages: readonly LlmMessage[];
  /** Ask for a reply that is a JSON text. */
  readonly json: boolean;
  /** Aborted on the attempt's timeout or cancellation; a provider should stop then. */
  readonly signal?: AbortSignal;
  /** The step asking (the fake's script is keyed by it). */
  readonly step?: string;
  /** The step's attempt, from 1 (the fake's script serves its N-th reply to attempt N). */
  readonly attempt?: number;
  /**
   * Where a provider reports each request it sends and what came back,
   * without headers or key; a provider that reports nothing is recorded as
   * one in-process exchange by the executor.
   */
  readonly transcript?: LlmTranscript;
}

/** What a provider answers. */
export interface LlmReply {
  /** The reply (a JSON text when JSON was asked for). */
  readonly text: string;
  /** Tokens used. */
  readonly usage: LlmUsage;
}

/** A language model service. */
export interface LlmProvider {
  /** The provider's name, recorded in the attempt's summary. */
  readonly name: string;
  /**
   * Answers one request.
   *
   * @param request The model, the messages and whether to answer in JSON.
   * @returns The reply and its token usage.
   */
  complete(request: LlmRequest): Promise<LlmReply>;
}

/**
 * Replies of the fake by step id: attempt N of a step gets its N-th entry
 * (a string as it is, any other JSON value as its JSON text), so a resumed
 * or retried run gets the same reply for the same attempt.
 */
export type FakeLlmScript = Readonly<Record<string, readonly JsonValue[]>>;

/** Options of {@linkcode FakeLlmProvider}. */
export interface FakeLlmProviderOptions {
  /**
   * Replies by step id, one per attempt (see {@linkcode FakeLlmScript}); a
   * step it lists takes precedence over `replies` and `reply`, and an
   * attempt past its end fails saying so.
   */
  readonly script?: FakeLlmScript;
  /**
   * Scripted replies by model. A list is replied in turn, its last entry
   * repeating; a model not listed gets `reply` or the default reply.
   * @default {{}}
   */
  readonly replies?: Readonly<Record<string, string | readonly string[]>>;
  /** Computes a reply, for models without a scripted one. */
  readonly reply?: (request: LlmRequest) => string | Promise<string>;
  /**
   * The provider's name.
   * @default {"fake"}
   */
  readonly name?: string;
}

/**
 * Counts tokens the way the fake provider does: runs of non-whitespace.
 *
 * @param text Any text.
 * @returns The number of whitespace-separated words.
 */
export function countWhitespaceTokens(text: string): number {
  return text.split(/\s+/).filter((word) => word.length > 0).length;
}

/**
 * A deterministic provider: replies scripted by step and attempt, scripted
 * by model, a reply function, or by default `fake reply <first 12 hex digits of sha256(model and messages)>`
 * (as `{"reply": "…"}` when JSON is asked for). Usage counts
 * whitespace-separated words of the messages and of the reply.
 *
 * @example
 * ```ts
 * import { FakeLlmProvider } from "./llm_provider.ts";
 * const provider = new FakeLlmProvider();
 * const request = { model: "m", messages: [{ role: "user" as const, content: "hi there" }], json: false };
 * const a = await provider.complete(request);
 * const b = await provider.complete(request);
 * console.assert(a.text === b.text && a.text.startsWith("fake reply "));
 * console.assert(a.usage.input_tokens === 2 && a.usage.output_tokens === 3);
 * ```
 */
export class FakeLlmProvider implements LlmProvider {
  /** The provider's name. */
  readonly name: string;
  readonly #script: FakeLlmScript;
  readonly #replies: Readonly<Record<string, string | readonly string[]>>;
  readonly #reply: ((request: LlmRequest) => string | Promise<string>) | undefined;
  readonly #turns = new Map<string, number>();

  /**
   * Creates the fake.
   *
   * @param options Scripted replies, a reply function and the name.
   */
  constructor(options: FakeLlmProviderOptions = {}) {
    this.name = options.name ?? "fake";
    this.#script = { ...options.script };
    this.#replies = { ...options.replies };
    this.#reply = options.reply;
  }

  /**
   * Answers one request.
   *
   * @param request The model, the messages and whether to answer in JSON.
   * @returns The reply and its whitespace token counts.
   * @throws The signal's reason when the request is already aborted.
   * @throws {UsageError} When the script lists the step and has no reply for the attempt.
   */
  async complete(request: LlmRequest): Promise<LlmReply> {
    request.signal?.throwIfAborted();
    const text = await this.#text(request);
    const input = request.messages.reduce((n, m) => n + countWhitespaceTokens(m.content), 0);
    return { text, usage: { input_tokens: input, output_tokens: countWhitespaceTokens(text) } };
  }

  #text(request: LlmRequest): string | Promise<string> {
    if (request.step !== undefined && Object.hasOwn(this.#script, request.step)) {
      const replies = this.#script[request.step];
      const attempt = request.attempt ?? 1;
      if (attempt > replies.length) {
        throw new UsageError(
          `The fake's script has ${replies.length} ${replies.length === 1 ? "reply" : "replies"} ` +
            `for step "${request.step}" and none for its attempt ${attempt}; add one per attempt`,
        );
      }
      const reply = replies[attempt - 1];
      return typeof reply === "string" ? reply : JSON.stringify(reply);
    }
    if (Object.hasOwn(this.#replies, request.model)) {
      const script = this.#replies[request.model];
      if (typeof script === "string") return script;
      const turn = this.#turns.get(request.model) ?? 0;
      this.#turns.set(request.model, turn + 1);
      return script[Math.min(turn, script.length - 1)] ?? "";
    }
    if (this.#reply) return this.#reply(request);
    const digest = sha256Hex(canonicalJson({ model: request.model, messages: request.messages }));
    const reply = `fake reply ${digest.slice(0, 12)}`;
    return request.json ? JSON.stringify({ reply }) : reply;
  }
}

/**
 * The provider `llm` steps get when none is configured: every request fails
 * with a message saying how to configure one.
 */
export class MissingLlmProvider implements LlmProvider {
  /** The provider's name. */
  readonly name = "none";

  /**
   * Fails.
   *
   * @returns Never.
   * @throws {UsageError} Always, saying how to configure a provider.
   */
  complete(): Promise<LlmReply> {
    return Promise.reject(
      new UsageError(
        "No LLM provider is configured: pass one to the kernel (library), " +
          "or set LILY_LLM to fake, openai or anthropic (CLI)",
      ),
    );
  }
}
