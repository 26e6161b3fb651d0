/**
 * The shape of every journal event, checked when a journal is read so a
 * damaged or hand-edited line is reported with its file and line instead of
 * crashing the reader.
 *
 * @module
 */

import { z } from "zod";
import type { RunEvent } from "./run_events.ts";

const id = z.string().min(1);
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const attempt = z.number().int().positive();
const base = { seq: z.number().int().positive(), at: z.iso.datetime() };
const stepAttempt = { step: id, attempt };
const pid = z.number().int().positive();
const ticks = z.number().int().nonnegative().nullable();
const gateRecord = z.object({
  gate_id: id,
  status: z.enum(["pass", "fail", "error", "skipped"]),
  required: z.boolean(),
  result_id: uuid,
});

const eventSchema = z.discriminatedUnion("type", [
  z.object({
    ...base,
    type: z.literal("run_started"),
    workflow_name: z.string(),
    workflow_ref: uuid,
    workflow_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    inputs: z.record(z.string(), uuid),
    step_ids: z.array(id),
  }),
  z.object({ ...base, type: z.literal("runner_started"), pid, resumed: z.boolean() }),
  z.object({ ...base, ...stepAttempt, type: z.literal("attempt_started") }),
  z.object({
    ...base,
    ...stepAttempt,
    type: z.literal("attempt_spawned"),
    pid,
    start_ticks: ticks,
  }),
  z.object({
    ...base,
    ...stepAttempt,
    type: z.literal("attempt_finished"),
    status: z.enum(["succeeded", "failed", "timeout", "cancelled", "interrupted"]),
    exit_code: z.number().int().nullable(),
    message: z.string().nullable(),
    duration_ms: z.number().nonnegative(),
    outputs: z.record(z.string(), uuid),
    logs: z.record(z.string(), uuid),
    executor: z.record(z.string(), z.unknown()),
    usage: z.object({
      input_tokens: z.number().int().nonnegative(),
      output_tokens: z.number().int().nonnegative(),
    }).optional(),
  }),
  z.object({
    ...base,
    ...stepAttempt,
    type: z.literal("gate_spawned"),
    gate_id: id,
    pid,
    start_ticks: ticks,
  }),
  z.object({ ...base, ...stepAttempt, type: z.literal("gate_finished"), gate: gateRecord }),
  z.object({
    ...base,
    ...stepAttempt,
    type: z.literal("gate_waiting"),
    gate_id: id,
    required: z.boolean(),
    prompt: z.string().optional(),
  }),
  z.object({
    ...base,
    ...stepAttempt,
    type: z.literal("step_finished"),
    status: z.enum(["succeeded", "failed", "waiting", "cancelled"]),
    warnings: z.array(z.string()),
  }),
  z.object({
    ...base,
    type: z.literal("run_finished"),
    status: z.enum(["succeeded", "failed", "cancelled", "waiting"]),
    reason: z.string().nullable(),
  }),
]);

/**
 * Checks one parsed journal line.
 *
 * @param value The parsed line.
 * @returns The event, or a description of the first problem.
 */
export function parseRunEvent(value: unknown): { event: RunEvent } | { problem: string } {
  const parsed = eventSchema.safeParse(value);
  if (parsed.success) return { event: parsed.data as RunEvent };
  const issue = parsed.error.issues[0];
  return { problem: `${issue.path.join(".") || "(event)"}: ${issue.message}` };
}
