/**
 * Stores the conversation an `llm` attempt's executor reported: each
 * request as an `llm_request.v1` artifact and its reply as an
 * `llm_reply.v1` artifact naming it, whose ids the attempt's record links
 * (`attempt_finished.exchanges`). Providers record no header and no key;
 * what is stored here is exactly what they recorded.
 *
 * @module
 */

import type { LlmExchange } from "./executors/llm_transcript.ts";
import type { Store } from "../store/store.ts";
import type { ViolationOwner } from "./violation_records.ts";
import type { LlmExchangeIds } from "./run_events.ts";

/** The artifact type of a recorded request. */
export const LLM_REQUEST_TYPE = "llm_request.v1";
/** The artifact type of a recorded reply. */
export const LLM_REPLY_TYPE = "llm_reply.v1";

/**
 * Stores each exchange, named `llm.<step>.<attempt>.<n>.request` and
 * `….reply` (n from 1, in the order sent).
 *
 * @param store The store.
 * @param exchanges What the executor reported.
 * @param owner The run, step and attempt, and the attempt's input artifacts
 * (the requests' inputs, as the messages were filled from them).
 * @returns The artifact ids, in order.
 */
export async function recordExchanges(
  store: Store,
  exchanges: readonly LlmExchange[],
  owner: Omit<ViolationOwner, "gateId"> & { readonly inputs?: readonly string[] },
): Promise<LlmExchangeIds[]> {
  const ids: LlmExchangeIds[] = [];
  const producer = { id: owner.stepId, kind: "llm" as const };
  for (const [i, { request, reply }] of exchanges.entries()) {
    const base = {
      run_id: owner.runId,
      step_id: owner.stepId,
      attempt: owner.attempt,
      exchange: i + 1,
      provider: request.provider,
    };
    const name = `llm.${owner.stepId}.${owner.attempt}.${i + 1}`;
    const sent = await store.artifacts.putJson(owner.runId, {
      ...base,
      url: request.url,
      model: request.model,
      body: request.body,
      sent_at: request.sent_at,
    }, { type: LLM_REQUEST_TYPE, name: `${name}.request`, producer, inputs: owner.inputs ?? [] });
    const received = reply === null ? null : await store.artifacts.putJson(owner.runId, {
      ...base,
      request_id: sent.artifact_id,
      status: reply.status,
      body: reply.body,
      text: reply.text,
      ...(reply.usage ? { usage: reply.usage } : {}),
      error: reply.error,
      received_at: reply.received_at,
      duration_ms: reply.duration_ms,
    }, {
      type: LLM_REPLY_TYPE,
      name: `${name}.reply`,
      producer,
      inputs: [sent.artifact_id],
    });
    ids.push({ request: sent.artifact_id, reply: received?.artifact_id ?? null });
  }
  return ids;
}
