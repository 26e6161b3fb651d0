/**
 * An OpenAI-compatible chat-completions provider: `POST {base}/chat/completions`
 * with `Authorization: Bearer <key>` (OpenAI API reference, "Create chat
 * completion"). Any server speaking that protocol works (a local model
 * server included); the reply text is `choices[0].message.content` and the
 * usage `usage.prompt_tokens` / `usage.completion_tokens`.
 *
 * @module
 */

import type { JsonValue } from "../../core/canonical_json.ts";
import type { LlmUsage } from "./executor.ts";
import { type HttpLlmProviderOptions, type ParsedLlmReply, postWithRetries } from "./llm_http.ts";
import type { LlmProvider, LlmReply, LlmRequest } from "./llm_provider.ts";

/** The base URL used when none is given. */
export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

type Json = { readonly [key: string]: JsonValue };

function isObject(value: JsonValue | undefined): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: JsonValue | undefined): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

/**
 * Reads token counts from a `usage` object with the given field names; a
 * missing or non-numeric count is 0 (some compatible servers omit usage).
 *
 * @param usage The reply's `usage`.
 * @param input The field counting prompt tokens.
 * @param output The field counting reply tokens.
 * @returns The counts.
 */
export function usageFrom(usage: JsonValue | undefined, input: string, output: string): LlmUsage {
  const count = (v: JsonValue | undefined) =>
    typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : 0;
  return isObject(usage)
    ? { input_tokens: count(usage[input]), output_tokens: count(usage[output]) }
    : { input_tokens: 0, output_tokens: 0 };
}

/**
 * Reads a chat-completions reply.
 *
 * @example
 * ```ts
 * import { parseOpenAiReply } from "./llm_openai.ts";
 * const ok = parseOpenAiReply({ choices: [{ message: { content: "hi" } }] });
 * console.assert(ok.ok && ok.text === "hi");
 * const bad = parseOpenAiReply({ choices: [] });
 * console.assert(!bad.ok && bad.problem.includes("choices[0]"));
 * ```
 *
 * @param body The parsed JSON body of a 2xx reply.
 * @returns The text and usage, or what is missing or of the wrong type.
 */
export function parseOpenAiReply(body: JsonValue): ParsedLlmReply {
  if (!isObject(body)) return { ok: false, problem: `expected an object, got ${describe(body)}` };
  const choices = body.choices;
  if (!Array.isArray(choices)) {
    return { ok: false, problem: `choices is ${describe(choices)} (expected an array)` };
  }
  const first = choices[0];
  if (!isObject(first)) {
    return { ok: false, problem: `choices[0] is ${describe(first)} (expected an object)` };
  }
  const message = first.message;
  if (!isObject(message)) {
    return {
      ok: false,
      problem: `choices[0].message is ${describe(message)} (expected an object)`,
    };
  }
  if (typeof message.content !== "string") {
    const finish = typeof first.finish_reason === "string"
      ? ` (finish_reason ${first.finish_reason})`
      : "";
    return {
      ok: false,
      problem: `choices[0].message.content is ${
        describe(message.content)
      }, expected a string${finish}`,
    };
  }
  return {
    ok: true,
    text: message.content,
    usage: usageFrom(body.usage, "prompt_tokens", "completion_tokens"),
  };
}

/**
 * Finds the message of an OpenAI-style error body (`{"error": {"message": …}}`).
 *
 * @param body The parsed body, or its text.
 * @returns The message, when there is one.
 */
export function openAiErrorMessage(body: JsonValue | string): string | undefined {
  if (typeof body === "string" || !isObject(body)) return undefined;
  const error = body.error;
  if (typeof error === "string") return error;
  return isObject(error) && typeof error.message === "string" ? error.message : undefined;
}

/**
 * Builds the chat-completions body: the model and messages, and
 * `response_format: {"type": "json_object"}` when JSON is asked for.
 *
 * @param request The step's request.
 * @param model The model to ask.
 * @returns The JSON body.
 */
export function openAiRequestBody(request: LlmRequest, model: string): JsonValue {
  return {
    model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    ...(request.json ? { response_format: { type: "json_object" } } : {}),
  };
}

/**
 * Asks an OpenAI-compatible chat-completions endpoint.
 *
 * @example
 * ```ts ignore
 * import { OpenAiProvider } from "./llm_openai.ts";
 * const provider = new OpenAiProvider({ apiKey: Deno.env.get("OPENAI_API_KEY"), model: "gpt-4o-mini" });
 * const reply = await provider.complete({ model: "ignored", messages: [{ role: "user", content: "hi" }], json: false });
 * console.log(reply.text);
 * ```
 */
export class OpenAiProvider implements LlmProvider {
  /** The provider's name. */
  readonly name = "openai";
  readonly #options: HttpLlmProviderOptions;

  /**
   * Creates the provider.
   *
   * @param options Key, base URL (default {@linkcode OPENAI_DEFAULT_BASE_URL}),
   * model, timeout, retry policy, clock and sleep.
   */
  constructor(options: HttpLlmProviderOptions = {}) {
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
    const base = (this.#options.baseUrl ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, "");
    const key = this.#options.apiKey;
    return postWithRetries(
      {
        provider: this.name,
        url: `${base}/chat/completions`,
        headers: key ? { authorization: `Bearer ${key}` } : {},
        model,
        body: openAiRequestBody(request, model),
        parse: parseOpenAiReply,
        errorMessage: openAiErrorMessage,
      },
      request,
      this.#options,
    );
  }
}
