/**
 * The `deno/cli` executor kind: runs `deno fmt --check`, `deno lint`,
 * `deno check` or `deno test` in the workspace through the `command`
 * executor, so it is confined like any command step (bubblewrap: the
 * policy's reads and writes, no network unless the policy names hosts).
 * Deno's module cache is mounted read-only and named by `DENO_DIR`, so
 * modules already cached resolve and nothing is downloaded or written
 * there (Deno keeps its analysis caches in memory when the directory is
 * read-only).
 *
 * `deno test` writes its JUnit report to the attempt's scratch dir; the
 * executor reads it into a `deno/test_report.v1` and, when the spec names
 * `report`, leaves it in the output dir under that name. With
 * `require_pass: false`, tests that fail do not fail the attempt (the
 * report says what failed); a run that wrote no report fails it.
 *
 * @module
 */

import { z } from "zod";
import { join } from "node:path";
import {
  CommandExecutor,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  type OnSpawn,
} from "../../executors.ts";
import { failureSummary, parseJunitReport, type TestReport } from "./junit_report.ts";

/** The Deno subcommands the kind runs, each with the flags it always gets. */
const SUBCOMMANDS = {
  fmt: ["fmt", "--check"],
  lint: ["lint"],
  check: ["check"],
  test: ["test", "--reporter=dot"],
} as const;

/**
 * Lily's store in the workspace, which fmt, lint and test skip (`deno
 * check` has no `--ignore`: a project lists it under `exclude` in its
 * `deno.json`).
 */
const STORE_DIR = ".iris";

/** The settings of a `deno/cli` step or gate. */
export interface DenoCliSpec {
  /** The executor kind. */
  readonly kind: "deno/cli";
  /** Which Deno tool runs. */
  readonly subcommand: keyof typeof SUBCOMMANDS;
  /** Paths, filters and flags after the subcommand. */
  readonly args: readonly string[];
  /** Working directory, relative to the workspace. */
  readonly cwd?: string;
  /** For `test`: the output file the report is left in. */
  readonly report?: string;
  /** For `test`: whether a failing test fails the attempt. */
  readonly require_pass: boolean;
}

const relative = z.string().min(1).refine(
  (p) => !p.startsWith("/") && !p.split("/").includes(".."),
  "expected a path inside the workspace (relative, without ..)",
);

/** Where Deno keeps its module cache, as Deno finds it from an environment. */
function moduleCache(env: Readonly<Record<string, string>>): string | undefined {
  if (env.DENO_DIR) return env.DENO_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "deno");
  return env.HOME ? join(env.HOME, ".cache", "deno") : undefined;
}

async function readReport(path: string): Promise<TestReport | string> {
  let xml: string;
  try {
    xml = await Deno.readTextFile(path);
  } catch {
    return "deno test wrote no JUnit report (a module failed to load or type-check; see its log)";
  }
  try {
    return parseJunitReport(xml);
  } catch (err) {
    return `deno test wrote an unreadable JUnit report: ${(err as Error).message}`;
  }
}

/** What a test attempt's result becomes once its report is read. */
async function withReport(
  spec: DenoCliSpec,
  ctx: ExecutionContext,
  result: ExecutionResult,
  junit: string,
): Promise<ExecutionResult> {
  const report = await readReport(junit);
  if (typeof report === "string") {
    return {
      ...result,
      status: result.status === "succeeded" ? "failed" : result.status,
      message: result.message ? `${result.message}; ${report}` : report,
    };
  }
  if (spec.report !== undefined) {
    await Deno.writeTextFile(join(ctx.outputDir, spec.report), JSON.stringify(report, null, 2));
  }
  const summary = {
    ...result.summary,
    tests: { passed: report.passed, failed: report.failed, ignored: report.ignored },
  };
  if (report.failed === 0) return { ...result, summary };
  const ranToEnd = result.status === "failed" && (result.violations ?? []).length === 0;
  if (!spec.require_pass && ranToEnd) {
    return { ...result, status: "succeeded", message: failureSummary(report), summary };
  }
  return { ...result, message: failureSummary(report), summary };
}

/** Runs Deno's tools confined; see the module doc. */
export const denoCliExecutor: Executor<DenoCliSpec> & { readonly description: string } = {
  kind: "deno/cli",
  description:
    "runs deno fmt --check, lint, check or test confined (the command executor's sandbox)",
  specSchema: z.strictObject({
    kind: z.literal("deno/cli"),
    subcommand: z.enum(["fmt", "lint", "check", "test"]),
    args: z.array(z.string()).default([]),
    cwd: relative.optional(),
    report: z.string().regex(/^[A-Za-z0-9_.-]+$/, "expected a plain file name").optional(),
    require_pass: z.boolean().default(true),
  }),
  capabilities: {
    inProcess: false,
    producerKind: "tool",
    confinement: "bubblewrap",
    roles: ["step", "gate"],
    waitsForPerson: false,
  },
  check: (spec, owner) =>
    spec.report !== undefined && !Object.values(owner.outputs).some((o) => o.path === spec.report)
      ? [{
        code: "unknown_output",
        path: ["run", "report"],
        message: `report ${spec.report} is not the path of a declared output`,
      }]
      : [],
  describe: (spec) => `deno ${[...SUBCOMMANDS[spec.subcommand], ...spec.args].join(" ")}`,
  async execute(spec: DenoCliSpec, ctx: ExecutionContext, onSpawn?: OnSpawn) {
    const cache = moduleCache(ctx.env);
    const junit = join(ctx.scratchDir, "junit.xml");
    const argv = [
      "deno",
      ...SUBCOMMANDS[spec.subcommand],
      ...(spec.subcommand === "check" ? [] : [`--ignore=${join(ctx.workspace, STORE_DIR)}`]),
      ...(spec.subcommand === "test" ? [`--junit-path=${junit}`] : []),
      ...spec.args,
    ];
    const env = {
      ...ctx.env,
      ...(cache ? { DENO_DIR: cache } : {}),
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    };
    const command = new CommandExecutor({ runtime: cache ? [cache] : [] });
    const result = await command.execute(
      { kind: "command", argv, ...(spec.cwd ? { cwd: spec.cwd } : {}) },
      { ...ctx, env },
      onSpawn,
    );
    const summary = { ...result.summary, executor: "deno/cli", subcommand: spec.subcommand };
    if (spec.subcommand !== "test") return { ...result, summary };
    return await withReport(spec, ctx, { ...result, summary }, junit);
  },
};
