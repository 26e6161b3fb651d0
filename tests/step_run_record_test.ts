/** When an attempt is due its record, and what the record says (pure, folded from events). */

import { assertEquals } from "./_assert.ts";
import { foldEvents, type RunEvent, type RunEventBody } from "../src/runtime/run_events.ts";
import { recordDue, stepRunRecord } from "../src/runtime/step_run_record.ts";
import { Redactor } from "../src/core/redaction.ts";

const RUN = "00000000-0000-4000-8000-000000000001";
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function fold(bodies: RunEventBody[]) {
  const events = bodies.map((b, i) =>
    ({ ...b, seq: i + 1, at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }) as RunEvent
  );
  return foldEvents(RUN, events);
}

const started: RunEventBody = {
  type: "run_started",
  workflow_name: "w",
  workflow_ref: id(1),
  workflow_sha256: "a".repeat(64),
  inputs: {},
  step_ids: ["s"],
  environment_snapshot: id(2),
};
const attempt = (n: number, cause: "first" | "retry" | "resume"): RunEventBody => ({
  type: "attempt_started",
  step: "s",
  attempt: n,
  cause,
  monotonic_ms: 0,
  inputs: { x: { artifact_id: id(3), sha256: "b".repeat(64) } },
});
const finished = (n: number, status: "succeeded" | "failed"): RunEventBody => ({
  type: "attempt_finished",
  step: "s",
  attempt: n,
  status,
  exit_code: status === "failed" ? 1 : 0,
  message: status === "failed" ? "boom hunter2-pw" : null,
  duration_ms: 5,
  outputs: status === "succeeded" ? { o: id(10 + n) } : {},
  logs: {},
  executor: { executor: "command", argv: ["sh"], cwd: "/ws", env: { DB_PASSWORD: "hunter2-pw" } },
});
const gate = (n: number, gateId: string, status: "pass" | "cancelled"): RunEventBody => ({
  type: "gate_finished",
  step: "s",
  attempt: n,
  gate: { gate_id: gateId, status, required: true, result_id: id(20 + n) },
});

Deno.test("a failed attempt is due at once; a succeeded one with gates only once they are decided", () => {
  const failed = fold([started, attempt(1, "first"), finished(1, "failed")]);
  assertEquals(recordDue(failed.steps.s, failed.steps.s.attempts[0], ["g", "h"]), true);
  const running = fold([started, attempt(1, "first")]);
  assertEquals(recordDue(running.steps.s, running.steps.s.attempts[0], []), false);
  const gating = [started, attempt(1, "first"), finished(1, "succeeded"), gate(1, "g", "pass")];
  let state = fold(gating);
  assertEquals(recordDue(state.steps.s, state.steps.s.attempts[0], ["g", "h"]), false);
  state = fold([...gating, gate(1, "h", "cancelled")]);
  assertEquals(
    recordDue(state.steps.s, state.steps.s.attempts[0], ["g", "h"]),
    false,
    "a cancel stopped h",
  );
  state = fold([...gating, gate(1, "h", "pass")]);
  assertEquals(recordDue(state.steps.s, state.steps.s.attempts[0], ["g", "h"]), true);
  state = fold([...gating, gate(1, "h", "pass"), {
    type: "attempt_recorded",
    step: "s",
    attempt: 1,
    record: id(30),
  }]);
  assertEquals(state.steps.s.attempts[0].record, id(30));
  assertEquals(
    recordDue(state.steps.s, state.steps.s.attempts[0], ["g", "h"]),
    false,
    "recorded once",
  );
});

Deno.test("a record carries hashes, the snapshot, retries in a row and redacted text", () => {
  const state = fold([
    started,
    attempt(1, "first"),
    finished(1, "failed"),
    attempt(2, "retry"),
    finished(2, "failed"),
    attempt(3, "resume"),
    finished(3, "succeeded"),
  ]);
  const redactor = new Redactor({ DB_PASSWORD: "hunter2-pw" });
  const sha256Of = (artifactId: string) => artifactId === id(13) ? "c".repeat(64) : null;
  const second = stepRunRecord(state, {
    step: "s",
    attempt: 2,
    kind: "command",
    sha256Of,
    redactor,
  });
  assertEquals(second.retry_count, 1);
  assertEquals(second.error, "boom [REDACTED:DB_PASSWORD]");
  assertEquals(second.executor, {
    kind: "command",
    argv: ["sh"],
    cwd: "/ws",
    env: { DB_PASSWORD: "[REDACTED:DB_PASSWORD]" },
  });
  const third = stepRunRecord(state, {
    step: "s",
    attempt: 3,
    kind: "command",
    sha256Of,
    redactor,
  });
  assertEquals(third.retry_count, 1, "a resume neither counts nor breaks the run of retries");
  assertEquals(third.outputs, [{ name: "o", artifact_id: id(13), sha256: "c".repeat(64) }]);
  assertEquals(third.inputs, [{ name: "x", artifact_id: id(3), sha256: "b".repeat(64) }]);
  assertEquals(third.environment_snapshot_id, id(2));
  assertEquals(third.supersedes, null);
  assertEquals(third.ended_at, "2026-01-01T00:00:06.000Z");
});
