/**
 * An Anthropic Messages provider: `POST {base}/v1/messages` with the key in
 * `x-api-key` and `anthropic-version: 2023-06-01` (Anthropic API reference,
 * "Messages"). System messages go to the top-level `system` field; the reply
 * text is the `text` blocks of `content`, joined; usage is
 * `usage.input_tokens` / `usage.output_tokens`. The Messages API has no JSON
 * mode: a step that asks for JSON gets the reply checked by the executor.
 *
 * @module
 */

import type { JsonValue } from "../../core/canonical_json.ts";
import { type HttpLlmProviderOptions, type ParsedLlmReply, postWithRetries } from "./llm_http.ts";
import { usageFrom } from "./llm_openai.ts";
import type { LlmProvider, LlmReply, LlmRequest } from "./llm_provider.ts";

/** The base URL used when none is given. */
export const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com";

/** The `anthropic-version` header sent. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** Options of {@linkcode AnthropicProvider}. */
export interface AnthropicProviderOptions extends HttpLlmProviderOptions {
  /**
   * `max_tokens`, which the Messages API requires.
   * @default {4096}
   */
  readonly maxTokens?: number;
}

type Json = { readonly [key: string]: JsonValue };

function isObject(value: JsonValue | undefined): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads a Messages reply: the `text` of its `content` blocks, joined.
 *
 * @example
 * ```ts
 * import { parseAnthropicReply } from "./llm_anthropic.ts";
 * const ok = parseAnthropicReply({ content: [{ type: "text", text: "hi" }] });
 * console.assert(ok.ok && ok.text === "hi");
 * console.assert(!parseAnthropicReply({ content: [] }).ok);
 * ```
 *
 * @param body The parsed JSON body of a 2xx reply.
 * @returns The text and usage, or what is missing or of the wrong type.
 */
export function parseAnthropicReply(body: JsonValue): ParsedLlmReply {
  if (!isObject(body)) return { ok: false, problem: "expected an object" };
  if (!Array.isArray(body.content)) {
    return { ok: false, problem: "content is missing or not an array of blocks" };
  }
  const texts: string[] = [];
  for (const [i, block] of body.content.entries()) {
    if (!isObject(block)) return { ok: false, problem: `content[${i}] is not an object` };
    if (block.type !== "text") continue;
    if (typeof block.text !== "string") {
      return { ok: false, problem: `content[${i}].text is not a string` };
    }
    texts.push(block.text);
  }
  if (texts.length === 0) {
    const stop = typeof body.stop_reason === "string" ? ` (stop_reason ${body.stop_reason})` : "";
    return { ok: false, problem: `content has no text block${stop}` };
  }
  return {
    ok: true,
    text: texts.join(""),
    usage: usageFrom(body.usage, "input_tokens", "output_tokens"),
  };
}

/**
 * Finds the message of an Anthropic error body
 * (`{"type": "error", "error": {"type": …, "message": …}}`).
 *
 * @param body The parsed body, or its text.
 * @returns `type: message`, when there is a message.
 */
export function anthropicErrorMessage(body: JsonValue | string): string | undefined {
  if (!isObject(body) || !isObject(body.error)) return undefined;
  const { type, message } = body.error;
  if (typeof message !== "string") return undefined;
  return typeof type === "string" ? `${type}: ${message}` : message;
}

/**
 * Builds the Messages body: system messages joined into `system`, the
 * others as `messages`.
 *
 * @param request The step's request.
 * @param options The model and `max_tokens`.
 * @returns The JSON body.
 */
export function anthropicRequestBody(
  request: LlmRequest,
  options: { readonly model: string; readonly maxTokens: number },
): JsonValue {
  const system = request.messages.filter((m) => m.role === "system").map((m) => m.content);
  return {
    model: options.model,
    max_tokens: options.maxTokens,
    ...(system.length > 0 ? { system: system.join("\n\n") } : {}),
    messages: request.messages.filter((m) => m.role !== "system")
      .map((m) => ({ role: m.role, content: m.content })),
  };
}

/**
 * Asks the Anthropic Messages API.
 *
 * @example
 * ```ts ignore
 * import { AnthropicProvider } from "./llm_anthropic.ts";
 * const provider = new AnthropicProvider({
 *   apiKey: Deno.env.get("ANTHROPIC_API_KEY"),
 *   model: "claude-sonnet-4-5",
 * });
 * const reply = await provider.complete({ model: "ignored", messages: [{ role: "user", content: "hi" }], json: false });
 * console.log(reply.text);
 * ```
 */
export class AnthropicProvider implements LlmProvider {
  /** The provider's name. */
  readonly name = "anthropic";
  readonly #options: AnthropicProviderOptions;

  /**
   * Creates the provider.
   *
   * @param options Key, base URL (default {@linkcode ANTHROPIC_DEFAULT_BASE_URL}),
   * model, `max_tokens`, timeout, retry policy, clock and sleep.
   */
  constructor(options: AnthropicProviderOptions = {}) {
    this.#options = options;
  }

  /**
   * Answers one request (see `postWithRetries` for retries and failures).
   *
   * @param request The model, messages, JSON flag, signal and transcript.
   * @returns The reply's text and usage.
   */
  complete(request: LlmRequest): Promise<LlmReply> {
    const model = this.#options.model ?? request.model;
    const base = (this.#options.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL).replace(/\/+$/, "");
    const key = this.#options.apiKey;
    return postWithRetries(
      {
        provider: this.name,
        url: `${base}/v1/messages`,
        headers: {
          "anthropic-version": ANTHROPIC_VERSION,
          ...(key ? { "x-api-key": key } : {}),
        },
        model,
        body: anthropicRequestBody(request, { model, maxTokens: this.#options.maxTokens ?? 4096 }),
        parse: parseAnthropicReply,
        errorMessage: anthropicErrorMessage,
      },
      request,
      this.#options,
    );
  }
}
