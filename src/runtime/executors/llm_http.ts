/**
 * The HTTP shell the OpenAI-compatible and Anthropic providers share: POST
 * one JSON body with `fetch`, under a per-request timeout and the attempt's
 * signal, try again on 429, 5xx, timeouts and network errors as
 * `llm_retry.ts` decides, record every try in the transcript with the API
 * key redacted, and turn a reply into text with the provider's parser.
 *
 * @module
 */

import { type Clock, systemClock } from "../../core/clock.ts";
import type { JsonValue } from "../../core/canonical_json.ts";
import { sleep, startTimer } from "../../core/delay.ts";
import { causeMessage, LilyError } from "../../core/errors.ts";
import type { LlmUsage } from "./executor.ts";
import type { LlmReply, LlmRequest } from "./llm_provider.ts";
import { DEFAULT_LLM_RETRY, type LlmRetryPolicy, retryDelayMs } from "./llm_retry.ts";
import type { LlmReceived } from "./llm_transcript.ts";

/** What a provider's parser makes of a 2xx body. */
export type ParsedLlmReply =
  | { readonly ok: true; readonly text: string; readonly usage: LlmUsage }
  | { readonly ok: false; readonly problem: string };

/** Options every HTTP provider takes. */
export interface HttpLlmProviderOptions {
  /** The API key; sent in a header, never recorded (redacted wherever a reply echoes it). */
  readonly apiKey?: string;
  /** The API's base URL (each provider documents its default). */
  readonly baseUrl?: string;
  /** The model every request asks for, over the step's `model`. */
  readonly model?: string;
  /**
   * How long one request may take, in ms, before it is abandoned and tried
   * again; the step's own `timeout` still bounds the whole attempt.
   * @default {120000}
   */
  readonly timeoutMs?: number;
  /** Tries and delays (see {@linkcode DEFAULT_LLM_RETRY}). */
  readonly retry?: Partial<LlmRetryPolicy>;
  /**
   * The time, for `Retry-After` dates.
   * @default {systemClock}
   */
  readonly clock?: Clock;
  /**
   * Waits between tries (ms, ended early by the attempt's signal).
   * @default {sleep}
   */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** One provider's request, ready to send. */
export interface HttpLlmCall {
  /** The provider's name, recorded with each try. */
  readonly provider: string;
  /** The endpoint. */
  readonly url: string;
  /** Headers, the key among them; never recorded. */
  readonly headers: Readonly<Record<string, string>>;
  /** The model asked. */
  readonly model: string;
  /** The JSON body. */
  readonly body: JsonValue;
  /** Reads a 2xx body. */
  readonly parse: (body: JsonValue) => ParsedLlmReply;
  /** Finds the provider's error message in an error body, when it has one. */
  readonly errorMessage: (body: JsonValue | string) => string | undefined;
}

/** The text put where an API key was. */
export const REDACTED = "[redacted]";

/**
 * Replaces every occurrence of `secret` in the strings of a JSON value.
 *
 * @param value Any JSON value or text.
 * @param secret The key; nothing is replaced when it is undefined or empty.
 * @returns A copy without the key.
 */
export function redactSecret<T extends JsonValue>(value: T, secret: string | undefined): T {
  if (!secret) return value;
  const walk = (v: JsonValue): JsonValue => {
    if (typeof v === "string") return v.replaceAll(secret, REDACTED);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [walk(k) as string, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** One try's end: a reply with its status and body, or none (with why). */
type TryEnd =
  | { readonly kind: "reply"; readonly response: Response; readonly body: JsonValue | string }
  | { readonly kind: "none"; readonly problem: string };

function readBody(text: string): JsonValue | string {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

async function tryOnce(call: HttpLlmCall, signal: AbortSignal, timeoutMs: number): Promise<TryEnd> {
  const controller = new AbortController();
  const timer = startTimer(() => controller.abort(), timeoutMs);
  const both = AbortSignal.any([signal, controller.signal]);
  try {
    const response = await fetch(call.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...call.headers },
      body: JSON.stringify(call.body),
      signal: both,
    });
    return { kind: "reply", response, body: readBody(await response.text()) };
  } catch (err) {
    signal.throwIfAborted();
    return {
      kind: "none",
      problem: controller.signal.aborted
        ? `no reply within ${timeoutMs} ms (the per-request timeout)`
        : `no reply: ${causeMessage(err)}`,
    };
  } finally {
    timer.clear();
  }
}

function snippet(body: JsonValue | string): string {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function statusProblem(call: HttpLlmCall, response: Response, body: JsonValue | string): string {
  const said = call.errorMessage(body) ?? (snippet(body) || "an empty body");
  return `answered ${response.status} ${response.statusText}: ${said}`.replace(/\s+$/, "");
}

/** Whether and how a reply that arrived ends the request. */
function judgeReply(
  call: HttpLlmCall,
  response: Response,
  body: JsonValue | string,
): { received: LlmReceived; reply?: LlmReply; final: boolean } {
  const status = response.status;
  if (status >= 200 && status < 300) {
    const parsed: ParsedLlmReply = typeof body === "string"
      ? { ok: false, problem: `the body is not JSON (it starts ${JSON.stringify(snippet(body))})` }
      : call.parse(body);
    if (!parsed.ok) {
      const error = `the reply is malformed: ${parsed.problem}`;
      return { received: { status, body, text: null, error }, final: true };
    }
    return {
      received: { status, body, text: parsed.text, usage: parsed.usage, error: null },
      reply: { text: parsed.text, usage: parsed.usage },
      final: true,
    };
  }
  const error = statusProblem(call, response, body);
  return { received: { status, body, text: null, error }, final: false };
}

/**
 * Sends one request, trying again as the retry policy says.
 *
 * @param call The provider's endpoint, headers, body and parsers.
 * @param request The step's request: its signal and transcript.
 * @param options The key (to redact), timeout, retry policy, clock and sleep.
 * @returns The reply's text and usage.
 * @throws {LilyError} Naming the endpoint and what was wrong: a malformed
 * reply, a 4xx other than 429 (with the provider's message), or the last
 * failure once no try is left; never holding the key.
 * @throws The signal's reason when the attempt ends (timeout, cancel).
 */
export async function postWithRetries(
  call: HttpLlmCall,
  request: LlmRequest,
  options: HttpLlmProviderOptions = {},
): Promise<LlmReply> {
  const policy = { ...DEFAULT_LLM_RETRY, ...options.retry };
  const clock = options.clock ?? systemClock;
  const wait = options.sleep ?? sleep;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const signal = request.signal ?? new AbortController().signal;
  const secret = options.apiKey;
  const where = `POST ${call.url}`;
  for (let attempt = 1;; attempt++) {
    signal.throwIfAborted();
    const done = request.transcript?.sent({
      provider: call.provider,
      url: call.url,
      model: call.model,
      body: redactSecret(call.body, secret),
    });
    const end = await tryOnce(call, signal, timeoutMs);
    let problem: string;
    let status: number | null = null;
    let retryAfter: string | null = null;
    if (end.kind === "none") {
      problem = end.problem;
      done?.({ status: null, body: null, text: null, error: problem });
    } else {
      const body = redactSecret(end.body, secret);
      const judged = judgeReply(call, end.response, body);
      done?.(judged.received);
      if (judged.reply) return judged.reply;
      problem = judged.received.error ?? "failed";
      if (judged.final) throw new LilyError(`${where}: ${problem}`);
      status = end.response.status;
      retryAfter = end.response.headers.get("retry-after");
    }
    const delay = retryDelayMs({ status, retryAfter, attempt, now: clock.now() }, policy);
    if (delay === null) {
      const tries = attempt === 1 ? "" : ` (${attempt} tries)`;
      const why = status !== null && attempt < policy.maxAttempts
        ? "; not tried again: a 4xx other than 429 is not transient"
        : "";
      throw new LilyError(`${where}: ${problem}${tries}${why}`);
    }
    await wait(delay, signal);
  }
}
