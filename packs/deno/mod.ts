/**
 * The `deno` pack, shipped with Lily: Deno's own tools as confined steps
 * and gates. `deno/fmt`, `deno/lint`, `deno/check` and `deno/test` run
 * `deno fmt --check`, `deno lint`, `deno check` and `deno test` in the
 * workspace, reading it, writing nothing but their outputs, with no
 * network, through the `command` executor's sandbox (`deno/cli` kind).
 * The `deno/test` step leaves a `deno/test_report.v1` (passed, failed and
 * ignored counts; each failing test's name, file, line and message); the
 * `deno/passed` gate checks one. See `docs/packs.md`.
 *
 * @example In a workflow
 * ```yaml
 * name: ci
 * steps:
 *   - id: test
 *     uses: deno/test
 *     with: { args: [tests/] }
 * gates:
 *   - id: green
 *     step: test
 *     uses: deno/passed
 *   - id: lint
 *     step: test
 *     uses: deno/lint
 * ```
 *
 * @module
 */

import { z } from "zod";
import { definePack, gateTemplate, stepTemplate } from "../../pack.ts";
import type { PolicyDefinition } from "../../pack.ts";
import { denoCliExecutor } from "./deno_cli_executor.ts";
import { denoPassedExecutor } from "./passed_executor.ts";

/**
 * What every tool runs under: the workspace read, nothing written (its
 * outputs go to the attempt's output dir, always writable), no network,
 * only `deno`, and the variables that locate the module cache.
 */
const CONFINED: PolicyDefinition = {
  read: ["."],
  write: [],
  net: [],
  tools: ["deno"],
  env: ["DENO_DIR", "XDG_CACHE_HOME"],
};

const toolParams = z.strictObject({
  args: z.array(z.string()).default([]).describe("paths and flags after the subcommand"),
  cwd: z.string().optional().describe("working directory, relative to the workspace"),
});

const TOOLS = {
  fmt: "checks formatting with deno fmt --check (changes nothing)",
  lint: "lints with deno lint",
  check: "type-checks with deno check",
} as const;

function toolRun(subcommand: keyof typeof TOOLS | "test", p: z.output<typeof toolParams>) {
  return {
    kind: "deno/cli",
    subcommand,
    args: p.args,
    ...(p.cwd ? { cwd: p.cwd } : {}),
  };
}

const toolSteps = Object.fromEntries(
  Object.entries(TOOLS).map(([name, description]) => [
    name,
    stepTemplate({
      description: `${description}; fails when it finds a problem`,
      params: toolParams,
      expand: (p) => ({
        run: toolRun(name as keyof typeof TOOLS, p),
        policy: CONFINED,
      }),
    }),
  ]),
);

const toolGates = Object.fromEntries(
  Object.entries(TOOLS).map(([name, description]) => [
    name,
    gateTemplate({
      description: `${description}; the gate fails when it finds a problem`,
      params: toolParams,
      expand: (p) => ({ run: toolRun(name as keyof typeof TOOLS, p), policy: CONFINED }),
    }),
  ]),
);

const testReport = z.object({
  passed: z.number().int().min(0),
  failed: z.number().int().min(0),
  ignored: z.number().int().min(0),
  total: z.number().int().min(0),
  failures: z.array(z.object({
    name: z.string(),
    file: z.string(),
    line: z.number().int().nullable(),
    message: z.string(),
    details: z.string(),
  })),
});

/**
 * The workflow `lily init --pack deno` writes: tests with a report, a gate
 * that they pass, and fmt and lint gates. It runs green in an empty
 * workspace (`--permit-no-files`) and checks a Deno project as it is.
 */
const EXAMPLE = `# A Deno project's checks, confined: read the workspace, write nothing, no network.
# Run it with: lily run start workflow.yaml
name: deno-checks
steps:
  - id: test
    uses: deno/test
    with:
      args: [--permit-no-files]
gates:
  - id: tests-pass
    step: test
    uses: deno/passed
  - id: fmt
    step: test
    uses: deno/fmt
    with:
      args: [--permit-no-files]
  - id: lint
    step: test
    uses: deno/lint
    with:
      args: [--permit-no-files]
`;

/** The `deno` pack. */
export default definePack({
  name: "deno",
  version: "0.1.0",
  lily: "^0.1.0",
  description: "Deno's fmt, lint, check and test as confined steps and gates",
  schemas: {
    "test_report.v1": {
      description: "a deno test run: passed, failed and ignored counts, and each failing test",
      schema: testReport,
    },
  },
  executors: [denoCliExecutor, denoPassedExecutor],
  steps: {
    ...toolSteps,
    test: stepTemplate({
      description: "runs deno test and records a deno/test_report.v1 as output report",
      params: toolParams.extend({
        require_pass: z.boolean().default(false).describe(
          "fail the step when a test fails (its report is then not kept); by default a gate decides",
        ),
      }),
      expand: (p) => ({
        run: { ...toolRun("test", p), report: "test_report.json", require_pass: p.require_pass },
        outputs: { report: { type: "deno/test_report.v1", path: "test_report.json" } },
        policy: CONFINED,
      }),
    }),
  },
  gates: {
    ...toolGates,
    test: gateTemplate({
      description: "runs deno test; the gate fails naming each failing test and its message",
      params: toolParams,
      expand: (p) => ({ run: { ...toolRun("test", p), require_pass: true }, policy: CONFINED }),
    }),
    passed: gateTemplate({
      description: "passes when the step's deno/test_report.v1 records no failing test",
      params: z.strictObject({
        input: z.string().default("report").describe("the input holding the report"),
      }),
      expand: (p) => ({ run: { kind: "deno/passed", input: p.input } }),
    }),
  },
  example: EXAMPLE,
});
