/**
 * Fixtures shared by the executor and sandbox tests: a hand-built attempt
 * context, and tests that need a working bubblewrap.
 *
 * @module
 */

import { join } from "node:path";
import { findBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import type { ExecutionContext } from "../src/runtime/executors/executor.ts";

/** The test process's PATH, for attempts that run programs by name. */
export const PATH: string = Deno.env.get("PATH") ?? "/usr/bin:/bin";

/**
 * Builds an attempt context under `<workspace>/.iris/runs/<new id>/` and
 * creates its output, input, scratch and log dirs.
 *
 * @param workspace The workspace.
 * @param overrides Fields to set instead of the defaults (env defaults to `{}`).
 * @returns The context.
 */
export async function attemptContext(
  workspace: string,
  overrides: Partial<ExecutionContext> = {},
): Promise<ExecutionContext> {
  const runId = crypto.randomUUID();
  const run = join(workspace, ".iris", "runs", runId);
  const staging = join(run, "tmp", "step.1");
  const ctx: ExecutionContext = {
    runId,
    stepId: "step",
    attempt: 1,
    workspace,
    cwd: workspace,
    outputDir: join(staging, "out"),
    inputDir: join(staging, "in"),
    scratchDir: join(staging, "scratch"),
    inputs: {},
    outputs: {},
    env: {},
    stdoutPath: join(run, "logs", "step.1.stdout.log"),
    stderrPath: join(run, "logs", "step.1.stderr.log"),
    signal: new AbortController().signal,
    readOnlyWorkspace: false,
    ...overrides,
  };
  for (const dir of [ctx.outputDir, ctx.inputDir, ctx.scratchDir, join(run, "logs")]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  return ctx;
}

/** A working `bwrap` on PATH, or undefined. */
export const bwrap: string | undefined = await findBubblewrap();
const requireBwrap = Deno.env.get("LILY_REQUIRE_BWRAP") === "1";
if (!bwrap && !requireBwrap) {
  console.warn(
    "bubblewrap tests ignored: no working bwrap on PATH " +
      "(set LILY_REQUIRE_BWRAP=1 to make them fail instead)",
  );
}

/**
 * Declares a test that needs bubblewrap: ignored without it, failing without
 * it under `LILY_REQUIRE_BWRAP=1`.
 *
 * @param name The test's name.
 * @param fn The test body, given the `bwrap` path.
 */
export function bwrapTest(name: string, fn: (bwrap: string) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !bwrap && !requireBwrap,
    fn: async () => {
      if (!bwrap) throw new Error("LILY_REQUIRE_BWRAP=1, but no working bwrap was found on PATH");
      await fn(bwrap);
    },
  });
}
