/**
 * Fixtures shared by the executor and sandbox tests: a hand-built attempt
 * context, and tests that need a working bubblewrap.
 *
 * @module
 */

import { join } from "node:path";
import { findBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import type { ExecutionContext } from "../src/runtime/executors/executor.ts";
import { confinementFor, effectivePolicy } from "../src/policy/policy_model.ts";
import type { PolicySpec } from "../src/graph/workflow.ts";
import type { BubblewrapMount } from "../src/policy/bubblewrap_mounts.ts";

/** How a fixture attempt is confined, beside the context's fields. */
export interface FixtureConfinement {
  /** Confine it as a gate (workspace read-only). */
  readonly readOnlyWorkspace?: boolean;
  /** Run it in the policy sandbox (mode `sandbox`); otherwise mode `none` (`--no-sandbox`). */
  readonly sandbox?: boolean;
  /** Its policy (default: the SPEC's). */
  readonly policy?: PolicySpec;
}

/** The test process's PATH, for attempts that run programs by name. */
export const PATH: string = Deno.env.get("PATH") ?? "/usr/bin:/bin";

/**
 * Builds an attempt context under `<workspace>/.iris/runs/<new id>/` and
 * creates its output, input, scratch and log dirs.
 *
 * @param workspace The workspace.
 * @param overrides Fields to set instead of the defaults (env defaults to
 * `{}`), and how it is confined (default: the SPEC's policy, mode `none`).
 * @returns The context.
 */
export async function attemptContext(
  workspace: string,
  overrides: Partial<ExecutionContext> & FixtureConfinement = {},
): Promise<ExecutionContext> {
  const { readOnlyWorkspace, sandbox, policy, ...fields } = overrides;
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
    confinement: confinementFor(
      effectivePolicy(undefined, policy, { gate: readOnlyWorkspace }),
      { workspace, mode: sandbox ? "sandbox" : "none" },
    ),
    ...fields,
  };
  for (const dir of [ctx.outputDir, ctx.inputDir, ctx.scratchDir, join(run, "logs")]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  return ctx;
}

/** Mounts that show the host's root read-only, a private `/dev` and the sandbox's `/proc`. */
export const HOST_ROOT_MOUNTS: readonly BubblewrapMount[] = [
  { mode: "read-only", path: "/" },
  { mode: "devices", path: "/dev" },
  { mode: "proc", path: "/proc" },
];

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
