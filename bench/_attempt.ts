/**
 * A hand-built attempt for the executor benchmarks: staging dirs under a
 * run's `tmp/`, its logs dir, and the default policy's sandbox confinement,
 * as the run loop would give one attempt.
 *
 * @module
 */

import { join } from "node:path";
import { confinementFor, DEFAULT_POLICY } from "../src/policy/policy_model.ts";
import type { ExecutionContext } from "../src/runtime/executors/executor.ts";

/**
 * Creates the dirs of one attempt in a workspace and its execution context.
 *
 * @param ws The workspace.
 * @param attempt The attempt number; it also names the staging dir and logs.
 * @returns The context, under the default policy in sandbox mode.
 */
export async function benchAttempt(ws: string, attempt: number): Promise<ExecutionContext> {
  const root = join(ws, ".iris", "runs", "r", "tmp", `s.${attempt}`);
  const logs = join(ws, ".iris", "runs", "r", "logs");
  for (const dir of ["out", "in", "scratch"]) {
    await Deno.mkdir(join(root, dir), { recursive: true });
  }
  await Deno.mkdir(logs, { recursive: true });
  return {
    runId: "r",
    stepId: "s",
    attempt,
    workspace: ws,
    cwd: ws,
    outputDir: join(root, "out"),
    inputDir: join(root, "in"),
    scratchDir: join(root, "scratch"),
    inputs: {},
    outputs: {},
    env: { PATH: "/usr/bin:/bin" },
    stdoutPath: join(logs, `s.${attempt}.stdout.log`),
    stderrPath: join(logs, `s.${attempt}.stderr.log`),
    signal: new AbortController().signal,
    confinement: confinementFor(DEFAULT_POLICY, { workspace: ws, mode: "sandbox" }),
  };
}
