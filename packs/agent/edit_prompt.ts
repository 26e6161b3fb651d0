/**
 * What `agent/edit` asks the model, built without I/O: a system message
 * saying the answer must be one unified diff confined to the files in
 * scope, and a user message with the work order, each file in scope with
 * its text, and the last failing report ({@linkcode feedbackText}) when a
 * route brought the step back.
 *
 * @module
 */

import type { LlmMessage } from "../../pack.ts";
import type { ScopeFile } from "./workspace_files.ts";

/** The system message `agent/edit` sends unless its `system` parameter replaces it. */
export const EDIT_SYSTEM =
  "You are a careful software engineer. You change code by answering with exactly one " +
  "unified diff (--- a/PATH, +++ b/PATH, @@ hunks with three lines of context), bare or in " +
  "one ```diff block, and nothing else. Change only the files in scope; paths are relative " +
  "to the workspace root. Context and removed lines must match the files exactly as shown.";

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/**
 * The failing record a route handed the step, in words for the model: a
 * `gate_result.v1`'s verdict and reasons, a `step_failure.v1`'s message, a
 * test report's failing tests (`deno/test_report.v1`,
 * `agent/test_report.v1`), or any other input's text as it is.
 *
 * @param type The feedback artifact's type.
 * @param text The feedback artifact's text.
 * @returns The report.
 */
export function feedbackText(type: string, text: string): string {
  let value: Record<string, unknown>;
  try {
    value = record(JSON.parse(text));
  } catch {
    return text;
  }
  if (type === "gate_result.v1") {
    const reasons = list(value.reasons);
    return `Gate ${value.gate_id} on step ${value.step_id}: ${value.status}` +
      (reasons.length > 0 ? `\n${reasons.join("\n")}` : "");
  }
  if (type === "step_failure.v1") {
    return `Step ${value.step_id} attempt ${value.attempt}: ${value.status}` +
      (value.message ? `: ${value.message}` : "");
  }
  if (type.endsWith("/test_report.v1") && Array.isArray(value.failures)) {
    const failures = value.failures.map((f) => {
      const failure = record(f);
      return `- ${failure.name} (${failure.file}): ${failure.message}`;
    });
    return `${value.failed} of ${value.total} tests failed:\n${failures.join("\n")}`;
  }
  return text;
}

/** What {@linkcode editMessages} builds the conversation from. */
export interface EditRequest {
  /** The work order (`work_order.v1` payload). */
  readonly workOrder: Record<string, unknown>;
  /** The scope entries. */
  readonly scope: readonly string[];
  /** The files in scope, with their text. */
  readonly files: readonly ScopeFile[];
  /** Paths in scope left out (binary, too large, too many). */
  readonly skipped: readonly string[];
  /** The last failing report in words, or `null` on the first round. */
  readonly feedback: string | null;
  /** The system message. */
  readonly system: string;
}

/**
 * The conversation `agent/edit` sends.
 *
 * @param request The work order, the files and the feedback.
 * @returns A system and a user message.
 */
export function editMessages(request: EditRequest): LlmMessage[] {
  const order = request.workOrder;
  const parts = [`# Work order\n\nGoal: ${order.goal}`];
  if (typeof order.title === "string") parts.push(`Title: ${order.title}`);
  if (typeof order.context === "string") parts.push(`Context: ${order.context}`);
  const acceptance = list(order.acceptance_criteria ?? order.acceptance);
  if (acceptance.length > 0) {
    parts.push(`Acceptance criteria:\n${acceptance.map((a) => `- ${a}`).join("\n")}`);
  }
  parts.push(`Files in scope (the only files you may change): ${request.scope.join(", ")}`);
  for (const file of request.files) {
    parts.push(
      `## ${file.path}\n\n\`\`\`\n${file.text}${file.text.endsWith("\n") ? "" : "\n"}\`\`\``,
    );
  }
  if (request.skipped.length > 0) {
    parts.push(`Not shown (binary or too large): ${request.skipped.join(", ")}`);
  }
  parts.push(
    request.feedback === null
      ? "# Last failing report\n\nNone yet: this is the first attempt."
      : `# Last failing report\n\nYour previous patch was applied and checked; it failed:\n\n${request.feedback}\n\nThe files above include that patch. Answer with a diff against them.`,
  );
  parts.push("Answer with one unified diff.");
  return [
    { role: "system", content: request.system },
    { role: "user", content: parts.join("\n\n") },
  ];
}
