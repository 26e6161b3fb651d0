/**
 * The shape of every journal event. The writer checks each event against
 * the strict shape before appending it, so nothing reaches the journal that
 * a reader would refuse; the reader checks each line against a tolerant
 * shape, so a damaged or hand-edited line is reported with its file and line
 * while a value it can live with (a negative `duration_ms` written by an
 * older Lily that timed attempts on the wall clock) is accepted and clamped
 * to 0 instead of bricking the run.
 *
 * @module
 */

import { failure, formatIssuePath, type Issue, type Result, success } from "../core/issue.ts";
import { z } from "zod";
import { LilyError } from "../core/errors.ts";
import type { Immutable } from "../core/immutable.ts";
import type { AssertTrue, SameType } from "../core/same_type.ts";
import type { RunEvent } from "./run_events.ts";
import { DURABILITY_MODES } from "./durability.ts";

const id = z.string().min(1);
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const attempt = z.number().int().positive();
const base = { seq: z.number().int().positive(), at: z.iso.datetime() };
const stepAttempt = { step: id, attempt };
const pid = z.number().int().positive();
const ticks = z.number().int().nonnegative().nullable();
const durability = z.enum(DURABILITY_MODES);
const inputRecord = z.object({
  artifact_id: uuid,
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
});
const inputs = z.record(z.string(), inputRecord).optional();
const routeKey = z.string().regex(/^(steps|gates)\.[A-Za-z][A-Za-z0-9_-]*\.on_fail$/);
const gateRecord = z.object({
  gate_id: id,
  status: z.enum(["pass", "fail", "error", "skipped", "cancelled"]),
  required: z.boolean(),
  result_id: uuid,
});

/** The schema of every event; `duration` is the one place writer and reader differ. */
const eventSchema = (duration: z.ZodType<number>) =>
  z.discriminatedUnion("type", [
    z.object({
      ...base,
      type: z.literal("run_started"),
      workflow_name: z.string(),
      workflow_ref: uuid,
      workflow_sha256: z.string().regex(/^[0-9a-f]{64}$/),
      inputs: z.record(z.string(), uuid),
      step_ids: z.array(id),
      sandbox: z.enum(["bubblewrap", "none"]).optional(),
      workflow_path: z.string().optional(),
      durability: durability.optional(),
      environment_snapshot: uuid.optional(),
      no_cache: z.boolean().optional(),
    }),
    z.object({
      ...base,
      type: z.literal("runner_started"),
      pid,
      resumed: z.boolean(),
      durability: durability.optional(),
    }),
    z.object({
      ...base,
      ...stepAttempt,
      type: z.literal("attempt_started"),
      monotonic_ms: z.number().nonnegative().optional(),
      cause: z.enum(["first", "retry", "resume", "route", "rerun", "replace", "cached"]).optional(),
      inputs,
      supersedes: attempt.optional(),
      cached_from: z.object({ run: uuid, step: id, attempt }).optional(),
    }),
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
      duration_ms: duration,
      outputs: z.record(z.string(), uuid),
      logs: z.record(z.string(), uuid),
      executor: z.record(z.string(), z.unknown()),
      usage: z.object({
        input_tokens: z.number().int().nonnegative(),
        output_tokens: z.number().int().nonnegative(),
      }).optional(),
      violations: z.array(uuid).optional(),
      exchanges: z.array(z.object({ request: uuid, reply: uuid.nullable() })).optional(),
    }),
    z.object({
      ...base,
      ...stepAttempt,
      type: z.literal("attempt_recorded"),
      record: uuid,
    }),
    z.object({
      ...base,
      ...stepAttempt,
      type: z.literal("gate_spawned"),
      gate_id: id,
      pid,
      start_ticks: ticks,
    }),
    z.object({
      ...base,
      ...stepAttempt,
      type: z.literal("gate_finished"),
      gate: gateRecord,
      inputs,
    }),
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
      type: z.literal("retry_scheduled"),
      delay_ms: z.number().int().nonnegative(),
      reason: z.string(),
    }),
    z.object({
      ...base,
      ...stepAttempt,
      type: z.literal("route_taken"),
      route: routeKey,
      goto: id,
      count: z.number().int().positive(),
      max: z.number().int().positive(),
      transitions: z.number().int().positive(),
      max_transitions: z.number().int().positive(),
      feedback: uuid,
      reset: z.array(id).min(1),
    }),
    z.object({
      ...base,
      type: z.literal("rerun_requested"),
      from: id,
      reset: z.array(id).min(1),
      routes_reset: z.array(routeKey),
      by: id,
    }),
    z.object({
      ...base,
      type: z.literal("artifact_replaced"),
      original: uuid,
      replacement: uuid,
      record: uuid,
      reset: z.array(id),
      routes_reset: z.array(routeKey),
      by: id,
    }),
    z.object({
      ...base,
      ...stepAttempt,
      type: z.literal("step_finished"),
      status: z.enum(["succeeded", "failed", "waiting", "cancelled"]),
      warnings: z.array(z.string()),
      reason: z.string().optional(),
    }),
    z.object({
      ...base,
      type: z.literal("run_finished"),
      status: z.enum(["succeeded", "failed", "cancelled", "waiting"]),
      reason: z.string().nullable(),
    }),
  ]);

const writeSchema = eventSchema(z.number().nonnegative());
const readSchema = eventSchema(z.number().transform((ms) => Math.max(0, ms)));

// The documented event types are exactly what the schema accepts: a field
// added, renamed or retyped in one and not the other fails type-checking.
type _EventsMatchSchema = AssertTrue<
  SameType<RunEvent, Immutable<z.infer<typeof writeSchema>>>
>;

function firstIssue(error: z.ZodError): Issue {
  const issue = error.issues[0];
  return {
    code: issue.code,
    path: formatIssuePath(issue.path.filter((k) => typeof k !== "symbol")),
    message: issue.message,
  };
}

/**
 * Words an issue of a journal event on one line, the whole event named `(event)`.
 *
 * @param issue The issue.
 * @returns `path: message`, e.g. `$.duration_ms: Invalid input`.
 */
export function describeEventIssue(issue: Issue): string {
  return `${issue.path === "$" ? "(event)" : issue.path}: ${issue.message}`;
}

/**
 * Checks an event before it is appended: the journal never holds what its
 * reader would refuse.
 *
 * @param event The event, with `seq` and `at`.
 * @throws {LilyError} Naming the first bad field; this is a bug in Lily, not in the run.
 */
export function assertWritableRunEvent(event: RunEvent): void {
  const parsed = writeSchema.safeParse(event);
  if (!parsed.success) {
    throw new LilyError(
      `Lily tried to journal an invalid ${event.type} event (a bug in Lily): ` +
        describeEventIssue(firstIssue(parsed.error)),
    );
  }
}

/**
 * Checks one parsed journal line. Tolerable values are repaired: a negative
 * `duration_ms` reads as 0.
 *
 * @param value The parsed line.
 * @returns The event, or its first issue.
 */
export function parseRunEvent(value: unknown): Result<RunEvent> {
  const parsed = readSchema.safeParse(value);
  if (parsed.success) return success(parsed.data);
  return failure([firstIssue(parsed.error)]);
}
