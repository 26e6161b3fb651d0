/**
 * What the in-process executors (`fn`, `llm`) share: running work under the
 * attempt's timeout and cancellation, writing declared outputs, and leaving
 * the attempt's log files.
 *
 * @module
 */

import { join } from "node:path";
import { startTimer, type Timer } from "../../core/delay.ts";
import { UsageError } from "../../core/errors.ts";
import { writeAll } from "../../store/durable_file.ts";
import { checkRelativePath } from "../../store/safe_path.ts";
import type { ExecutionContext } from "./executor.ts";
import { createLogFile } from "./process_tree.ts";

/** How in-process work ended. */
export type Settled<T> =
  | { readonly kind: "done"; readonly value: T }
  | { readonly kind: "threw"; readonly error: unknown }
  | { readonly kind: "timeout"; readonly message: string }
  | { readonly kind: "cancelled"; readonly message: string };

/**
 * Runs work under the attempt's time limit and cancellation. The work gets a
 * signal that is aborted on either; the attempt ends then even when the work
 * ignores the signal (it cannot be killed: it runs on in the background and
 * whatever it returns later is dropped).
 *
 * @param work The work; may throw or return a promise.
 * @param ctx The attempt's `timeoutMs` and `signal`.
 * @returns What happened first.
 */
export async function settleWithin<T>(
  work: (signal: AbortSignal) => Promise<T> | T,
  ctx: Pick<ExecutionContext, "timeoutMs" | "signal">,
): Promise<Settled<T>> {
  if (ctx.signal.aborted) return { kind: "cancelled", message: "Cancelled before it started" };
  const controller = new AbortController();
  let timer: Timer | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<Settled<T>>((resolve) => {
    if (ctx.timeoutMs !== undefined) {
      const ms = ctx.timeoutMs;
      timer = startTimer(() => {
        controller.abort(new DOMException(`Timed out after ${ms} ms`, "TimeoutError"));
        resolve({ kind: "timeout", message: `Timed out after ${ms} ms` });
      }, ms);
    }
    onAbort = () => {
      controller.abort(ctx.signal.reason);
      resolve({ kind: "cancelled", message: "Cancelled" });
    };
    ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
  const running = Promise.resolve()
    .then(() => work(controller.signal))
    .then(
      (value): Settled<T> => ({ kind: "done", value }),
      (error): Settled<T> => ({ kind: "threw", error }),
    );
  try {
    return await Promise.race([running, stopped]);
  } finally {
    timer?.clear();
    if (onAbort) ctx.signal.removeEventListener("abort", onAbort);
  }
}

/** What {@linkcode writeAttemptLogs} writes. */
export interface AttemptLogTexts {
  /** Text for the stdout log (e.g. an LLM's reply). */
  readonly stdout?: string;
  /** Text for the stderr log (e.g. a thrown error's stack). */
  readonly stderr?: string;
}

/**
 * Leaves the attempt's stdout and stderr log files when there is something
 * to log (a missing log means an empty stream, as the runtime reads it).
 * Each file is created afresh and a symbolic link planted at its path is
 * refused, never written through (see `createLogFile`).
 *
 * @param ctx The attempt's log paths.
 * @param texts What to write.
 * @throws {PathSecurityError} When a symbolic link or a non-regular file is
 * at a log path; the runtime records the attempt as failed with its message.
 */
export async function writeAttemptLogs(
  ctx: Pick<ExecutionContext, "stdoutPath" | "stderrPath" | "redactor">,
  texts: AttemptLogTexts = {},
): Promise<void> {
  for (const [path, text] of [[ctx.stdoutPath, texts.stdout], [ctx.stderrPath, texts.stderr]]) {
    if (!path || !text) continue;
    const file = await createLogFile(path);
    try {
      const redacted = ctx.redactor ? ctx.redactor.text(text) : text;
      await writeAll(file, new TextEncoder().encode(redacted), { path });
    } finally {
      file.close();
    }
  }
}

/**
 * Finds where a declared output belongs in the attempt's output dir.
 *
 * @param ctx The attempt's output dir and declared outputs.
 * @param name The output's name.
 * @returns The absolute path.
 * @throws {UsageError} When no output of that name is declared.
 * @throws {PathSecurityError} When the declared path leaves the output dir.
 */
export function declaredOutputPath(
  ctx: Pick<ExecutionContext, "stepId" | "outputDir" | "outputs">,
  name: string,
): string {
  if (!Object.hasOwn(ctx.outputs, name)) {
    const declared = Object.keys(ctx.outputs);
    throw new UsageError(
      `Step "${ctx.stepId}" has no declared output "${name}"; declared outputs: ` +
        (declared.length > 0 ? declared.map((n) => `"${n}"`).join(", ") : "none"),
    );
  }
  return join(ctx.outputDir, ...checkRelativePath(ctx.outputs[name].path).split("/"));
}
