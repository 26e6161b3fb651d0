/**
 * One valid payload for each kernel schema, and one way to break it, shared
 * by the contracts tests.
 *
 * @module
 */

const ID_A = "2f1c7a52-5b7e-4c1e-9a57-0a8f3e1d9b01";
const ID_B = "7d3e9f10-2c4b-4a8e-8f6d-1b2c3d4e5f60";
const SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const AT = "2026-01-31T12:00:00.000Z";

/** A valid payload per kernel schema id. */
export const VALID: Record<string, Record<string, unknown>> = {
  "work_order.v1": {
    goal: "Make the failing unit test pass",
    title: "Fix math",
    context: "tests/math_test.ts fails since the last merge",
    acceptance_criteria: ["deno test passes"],
    constraints: { max_iterations: 3 },
    inputs: { branch: "main" },
    workflow: "examples/fix.yaml",
    repo: ".",
  },
  "environment_snapshot.v1": {
    captured_at: AT,
    kernel_version: "0.1.0",
    deno_version: "2.9.6",
    v8_version: "14.0.1",
    typescript_version: "5.9.2",
    platform: { os: "linux", arch: "x86_64", target: "x86_64-unknown-linux-gnu" },
    os_release: "6.1.0-18-amd64",
    deno_lock_sha256: null,
    bubblewrap_version: "bubblewrap 0.8.0",
    git: { commit: "6d08090e5a1b2c3d4e5f60718293a4b5c6d7e8f9", dirty: false },
  },
  "step_run_record.v1": {
    run_id: ID_B,
    step_id: "build",
    attempt: 1,
    cause: "first",
    supersedes: null,
    status: "succeeded",
    started_at: AT,
    ended_at: "2026-01-31T12:00:01.500Z",
    duration_ms: 1500,
    executor: { kind: "command", argv: ["deno", "task", "build"], cwd: ".", env: { CI: "1" } },
    inputs: [{ name: "work_order", artifact_id: ID_A, sha256: SHA }],
    outputs: [{ name: "bundle", artifact_id: ID_B, sha256: SHA }],
    logs: [],
    gate_result_ids: [],
    policy_violation_ids: [],
    exit_code: 0,
    retry_count: 0,
    environment_snapshot_id: ID_A,
  },
  "gate_result.v1": {
    gate_id: "tests",
    step_id: "build",
    status: "fail",
    required: true,
    reasons: ["2 tests failed"],
    exit_code: 1,
    duration_ms: 830,
    stdout_artifact_id: ID_A,
    stderr_artifact_id: null,
  },
  "step_failure.v1": {
    step_id: "build",
    attempt: 2,
    status: "failed",
    exit_code: 7,
    message: "Exited with code 7",
    stdout_artifact_id: null,
    stderr_artifact_id: ID_A,
    gate_result_ids: [ID_B],
  },
  "policy_violation.v1": {
    run_id: ID_B,
    step_id: "build",
    attempt: 2,
    kind: "run",
    target: "/usr/bin/curl",
    decided_by: "kernel",
    message: "Policy refuses to run /usr/bin/curl: it is not in the step's tools (git)",
    occurred_at: AT,
  },
  "artifact_replacement.v1": {
    original_artifact_id: ID_A,
    replacement_artifact_id: ID_B,
    reason: "the generated patch was hand-corrected",
    replaced_at: AT,
    replaced_by: "alice",
  },
  "llm_request.v1": {
    run_id: ID_B,
    step_id: "edit",
    attempt: 1,
    exchange: 1,
    provider: "openai",
    url: "https://api.openai.com/v1/chat/completions",
    model: "gpt-4o-mini",
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "fix it" }] },
    sent_at: AT,
  },
  "llm_reply.v1": {
    run_id: ID_B,
    step_id: "edit",
    attempt: 1,
    exchange: 1,
    provider: "openai",
    request_id: ID_A,
    status: 200,
    body: { choices: [{ message: { role: "assistant", content: "done" } }] },
    text: "done",
    usage: { input_tokens: 3, output_tokens: 1 },
    error: null,
    received_at: AT,
    duration_ms: 812,
  },
};

/** Per kernel schema id: a field to break, the bad value, and the issue path. */
export const BROKEN: Record<string, { field: string; value: unknown; path: string }> = {
  "work_order.v1": { field: "goal", value: 42, path: "$.goal" },
  "environment_snapshot.v1": {
    field: "deno_lock_sha256",
    value: "abc",
    path: "$.deno_lock_sha256",
  },
  "step_run_record.v1": { field: "attempt", value: 0, path: "$.attempt" },
  "gate_result.v1": { field: "status", value: "passed", path: "$.status" },
  "step_failure.v1": { field: "gate_result_ids", value: ["x"], path: "$.gate_result_ids[0]" },
  "policy_violation.v1": { field: "occurred_at", value: "yesterday", path: "$.occurred_at" },
  "artifact_replacement.v1": {
    field: "replacement_artifact_id",
    value: "not-a-uuid",
    path: "$.replacement_artifact_id",
  },
  "llm_request.v1": { field: "exchange", value: 0, path: "$.exchange" },
  "llm_reply.v1": { field: "status", value: 42, path: "$.status" },
};

/**
 * A valid payload with one field replaced by a bad value.
 *
 * @param id The kernel schema id.
 * @returns The broken payload.
 */
export function broken(id: string): Record<string, unknown> {
  return { ...VALID[id], [BROKEN[id].field]: BROKEN[id].value };
}
