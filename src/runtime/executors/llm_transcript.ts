/**
 * The conversation of one `llm` attempt: every request a provider sent and
 * what came back, in order. A provider reports each try through the
 * {@linkcode LlmTranscript} it gets with the request; the executor hands the
 * exchanges to the runtime, which stores them as `llm_request.v1` and
 * `llm_reply.v1` artifacts of the attempt. Nothing recorded here may hold an
 * API key or a header: providers record bodies and URLs only.
 *
 * @module
 */

import { type Clock, elapsedMs } from "../../core/clock.ts";
import type { JsonValue } from "../../core/canonical_json.ts";
import type { LlmUsage } from "./executor.ts";

/** A request as it is recorded: no headers, no key. */
export interface LlmSent {
  /** The provider's name (`openai`, `anthropic`, `fake`, …). */
  readonly provider: string;
  /** The endpoint it was sent to; null when nothing went over a network. */
  readonly url: string | null;
  /** The model asked. */
  readonly model: string;
  /** The body sent (for an in-process provider, the model, messages and JSON flag). */
  readonly body: JsonValue;
}

/** What came back for one request. */
export interface LlmReceived {
  /** The HTTP status; null when there was no HTTP reply (timeout, network error, in-process). */
  readonly status: number | null;
  /** The reply's body: parsed JSON, else its text; null when there was none. */
  readonly body: JsonValue | null;
  /** The reply text the step got from it; null when it gave none. */
  readonly text: string | null;
  /** Tokens used, when the reply said. */
  readonly usage?: LlmUsage;
  /** What was wrong (an error status, a malformed body, a timeout); null when nothing. */
  readonly error: string | null;
}

/** Where a provider reports its tries. */
export interface LlmTranscript {
  /**
   * Records a request as it is sent.
   *
   * @param request What is sent, without headers or key.
   * @returns Records what came back for it (call at most once).
   */
  sent(request: LlmSent): (reply: LlmReceived) => void;
}

/** One recorded request and its reply, with times. */
export interface LlmExchange {
  /** The request, with when it was sent (ISO-8601). */
  readonly request: LlmSent & { readonly sent_at: string };
  /**
   * What came back, with when (ISO-8601) and how long after sending (ms);
   * null when the attempt ended (timeout, cancel) before anything did.
   */
  readonly reply:
    | (LlmReceived & { readonly received_at: string; readonly duration_ms: number })
    | null;
}

/** A transcript that keeps what it is told. */
export interface RecordingTranscript extends LlmTranscript {
  /**
   * Returns the exchanges so far, copied: a provider still running in the
   * background (after a timeout) changes nothing already returned.
   *
   * @returns The exchanges in the order they were sent.
   */
  exchanges(): LlmExchange[];
}

/**
 * Creates a transcript stamping times with `clock`.
 *
 * @example
 * ```ts
 * import { recordingTranscript } from "./llm_transcript.ts";
 * import { systemClock } from "../../core/clock.ts";
 * const transcript = recordingTranscript(systemClock);
 * const done = transcript.sent({ provider: "p", url: null, model: "m", body: {} });
 * done({ status: 200, body: null, text: "hi", error: null });
 * console.assert(transcript.exchanges()[0].reply?.text === "hi");
 * ```
 *
 * @param clock Stamps `sent_at`, `received_at` and `duration_ms`.
 * @returns The transcript.
 */
export function recordingTranscript(clock: Clock): RecordingTranscript {
  const list: { request: LlmExchange["request"]; reply: LlmExchange["reply"] }[] = [];
  return {
    sent(request) {
      const started = clock.monotonicMs();
      const entry: (typeof list)[number] = {
        request: { ...request, sent_at: clock.now().toISOString() },
        reply: null,
      };
      list.push(entry);
      return (reply) => {
        entry.reply ??= {
          ...reply,
          received_at: clock.now().toISOString(),
          duration_ms: elapsedMs(clock, started),
        };
      };
    },
    exchanges: () => structuredClone(list),
  };
}
