/**
 * The kernel types of an `llm` attempt's conversation: `llm_request.v1`
 * (one request a provider sent, without headers or API key) and
 * `llm_reply.v1` (what came back for it). Registered with the other kernel
 * types by `kernel_schemas.ts`; their fields are in `docs/schemas.md`.
 *
 * @module
 */

import { z } from "zod";
import type { Immutable } from "../core/immutable.ts";
import type { AssertTrue, DeclaredFields, SameType } from "../core/same_type.ts";
import type { SchemaRegistration } from "./schema_registry.ts";

const uuid = () =>
  z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
    error: "expected a lower-case UUID",
  });
const isoTime = () =>
  z.iso.datetime({ offset: true, error: "expected an ISO-8601 time such as 2026-01-31T12:00:00Z" });
const text = () => z.string().min(1);

/** Fields both types share: whose exchange it is. */
interface ExchangeOwnerV1 {
  /** The run. */
  readonly run_id: string;
  /** The `llm` step. */
  readonly step_id: string;
  /** The step's attempt, from 1. */
  readonly attempt: number;
  /** The exchange within the attempt, from 1 (a retried request is a new exchange). */
  readonly exchange: number;
  /** The provider's name (`openai`, `anthropic`, `fake`, …). */
  readonly provider: string;
}

const owner = {
  run_id: uuid().describe("The run"),
  step_id: text().describe("The llm step"),
  attempt: z.int().min(1).describe("The step's attempt, from 1"),
  exchange: z.int().min(1).describe("The exchange within the attempt, from 1"),
  provider: text().describe("The provider's name"),
};

/** `llm_request.v1`: one request an `llm` attempt sent, never with a header or the API key. */
export interface LlmRequestV1 extends ExchangeOwnerV1 {
  /** The endpoint; null when nothing went over a network (an in-process provider). */
  readonly url: string | null;
  /** The model asked. */
  readonly model: string;
  /** The body sent (for an in-process provider: `{model, messages, json}`). */
  readonly body: unknown;
  /** When it was sent (ISO-8601). */
  readonly sent_at: string;
}

/** The zod schema of `llm_request.v1`. */
const LlmRequestV1Schema = z.looseObject({
  ...owner,
  url: z.string().nullable().describe("The endpoint; null when nothing went over a network"),
  model: text().describe("The model asked"),
  body: z.unknown().describe("The body sent"),
  sent_at: isoTime().describe("When it was sent"),
});

/** Token counts of a reply. */
export interface LlmReplyUsageV1 {
  /** Prompt tokens. */
  readonly input_tokens: number;
  /** Reply tokens. */
  readonly output_tokens: number;
}

/** `llm_reply.v1`: what came back for one `llm_request.v1`. */
export interface LlmReplyV1 extends ExchangeOwnerV1 {
  /** The `llm_request.v1` artifact it answers. */
  readonly request_id: string;
  /** The HTTP status; null when there was no HTTP reply (timeout, network error, in-process). */
  readonly status: number | null;
  /** The body: parsed JSON, else its text; null when there was none. The API key is redacted. */
  readonly body: unknown;
  /** The reply text the step got; null when this reply gave none. */
  readonly text: string | null;
  /** Tokens used, when the reply said. */
  readonly usage?: LlmReplyUsageV1;
  /** What was wrong (an error status, a malformed body, a timeout); null when nothing. */
  readonly error: string | null;
  /** When it came back (ISO-8601). */
  readonly received_at: string;
  /** Milliseconds from sending to receiving. */
  readonly duration_ms: number;
}

/** The zod schema of `llm_reply.v1`. */
const LlmReplyV1Schema = z.looseObject({
  ...owner,
  request_id: uuid().describe("The llm_request.v1 artifact it answers"),
  status: z.int().min(100).max(599).nullable()
    .describe("The HTTP status; null when there was no HTTP reply"),
  body: z.unknown().describe("The body: parsed JSON, else its text; null when there was none"),
  text: z.string().nullable().describe("The reply text the step got; null when it gave none"),
  usage: z.looseObject({
    input_tokens: z.int().min(0).describe("Prompt tokens"),
    output_tokens: z.int().min(0).describe("Reply tokens"),
  }).optional().describe("Tokens used, when the reply said"),
  error: z.string().nullable().describe("What was wrong; null when nothing"),
  received_at: isoTime().describe("When it came back"),
  duration_ms: z.int().min(0).describe("Milliseconds from sending to receiving"),
});

type Schema<S extends z.ZodType> = Immutable<DeclaredFields<z.infer<S>>>;
type _TypesMatchSchemas = [
  AssertTrue<SameType<LlmRequestV1, Schema<typeof LlmRequestV1Schema>>>,
  AssertTrue<SameType<LlmReplyV1, Schema<typeof LlmReplyV1Schema>>>,
];

/** The two types, as `kernel_schemas.ts` registers them. */
export const LLM_EXCHANGE_SCHEMAS: readonly SchemaRegistration[] = [
  {
    id: "llm_request.v1",
    schema: LlmRequestV1Schema,
    description: "One request an llm step sent to its provider, without headers or API key",
    origin: "kernel",
  },
  {
    id: "llm_reply.v1",
    schema: LlmReplyV1Schema,
    description: "What came back for one llm_request.v1: status, body, text, usage or the error",
    origin: "kernel",
  },
];
