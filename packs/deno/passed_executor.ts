/**
 * The `deno/passed` executor kind (gates only): reads the step's
 * `deno/test_report.v1` input and passes when no test failed, else fails
 * naming each failing test with its message. It runs in the kernel's
 * process and reads only its input.
 *
 * @module
 */

import { z } from "zod";
import type { ExecutionContext, ExecutionResult, Executor } from "../../executors.ts";
import { failureSummary, type TestReport } from "./junit_report.ts";

/** The settings of a `deno/passed` gate. */
export interface DenoPassedSpec {
  /** The executor kind. */
  readonly kind: "deno/passed";
  /** The input holding the report. */
  readonly input: string;
}

/** Checks a test report; see the module doc. */
export const denoPassedExecutor: Executor<DenoPassedSpec> & { readonly description: string } = {
  kind: "deno/passed",
  description: "passes when the deno/test_report.v1 input records no failing test",
  specSchema: z.strictObject({
    kind: z.literal("deno/passed"),
    input: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/).default("report"),
  }),
  capabilities: {
    inProcess: true,
    producerKind: "tool",
    confinement: "none",
    roles: ["gate"],
    waitsForPerson: false,
  },
  describe: (spec) => `deno/passed: ${spec.input}`,
  async execute(spec: DenoPassedSpec, ctx: ExecutionContext): Promise<ExecutionResult> {
    const summary = { executor: "deno/passed", input: spec.input };
    const input = ctx.inputs[spec.input];
    if (input === undefined) {
      const known = Object.keys(ctx.inputs).join(", ") || "none";
      return {
        status: "failed",
        exitCode: null,
        message: `Gate ${ctx.stepId} has no input ${spec.input}; inputs: ${known}`,
        summary,
      };
    }
    const report = JSON.parse(await Deno.readTextFile(input.path)) as TestReport;
    if (report.failed === 0) {
      return { status: "succeeded", exitCode: 0, message: `${report.passed} passed`, summary };
    }
    return { status: "failed", exitCode: 1, message: failureSummary(report), summary };
  },
};
