/**
 * The `command` executor: an argv run as a child process in the attempt's
 * working directory, with exactly the attempt's environment, its output
 * streamed to the log files and its whole process tree killed on timeout,
 * on cancellation and when it ends.
 *
 * Before anything is spawned, the working directory and the program are
 * checked (`checkSpawn`), so a failure to start names its real cause.
 *
 * Unless the run has no sandbox (`--no-sandbox`, confinement mode `none`),
 * every attempt runs inside bubblewrap, in an empty root holding only what
 * its policy allows (`policy/bubblewrap_mounts.ts`): a PID namespace of its
 * own that dies with the attempt and with the kernel, no network, no
 * capabilities, exactly the attempt's environment. It fails closed: without
 * a working bubblewrap the attempt fails with `sandbox_unavailable` and
 * nothing is spawned. A program not in the policy's `tools` (resolved on the
 * kernel's PATH) and a policy path that escapes are refused before the
 * spawn, as violations. See `docs/security.md`. What the attempt was granted
 * (its mounts, variable names, net rules and tools) is told to
 * `ctx.onAccess` just before the spawn.
 *
 * @module
 */

import { dirname } from "node:path";
import type { BubblewrapMount } from "../../policy/bubblewrap_mounts.ts";
import type { CommandSpec } from "../../graph/workflow.ts";
import { type PolicyViolation, violationMessage } from "../../policy/policy_violation.ts";
import {
  COMMAND_KIND,
  type ExecutorCapabilities,
  type SpecSchema,
} from "../../graph/executor_kind.ts";
import { bubblewrapFromOption, runInBubblewrap } from "./bubblewrap.ts";
import type { ExecutionContext, ExecutionResult, Executor, OnSpawn } from "./executor.ts";
import { checkTool, prepareSandbox, resolveTools } from "./policy_sandbox.ts";
import { runProcessTree } from "./process_tree.ts";
import { withViolations } from "./violation_result.ts";
import { bridgeDeno, sandboxNetwork } from "./sandbox_network.ts";
import { checkSpawn } from "./spawn_failure.ts";

/** Options of {@linkcode CommandExecutor}. */
export interface CommandExecutorOptions {
  /**
   * The `bwrap` executable, or `false` for none (a confined attempt then
   * fails with `sandbox_unavailable`).
   * @default {found on the kernel's PATH (and probed) at first use}
   */
  readonly bubblewrap?: string | false;
  /**
   * The kernel's PATH, on which `tools` are resolved.
   * @default {the kernel's PATH}
   */
  readonly kernelPath?: string;
  /**
   * Grace between SIGTERM and SIGKILL when an attempt is stopped, in ms.
   * @default {1000}
   */
  readonly killGraceMs?: number;
  /**
   * Read-only paths every sandboxed attempt also sees at the same place (a
   * tool's own files, e.g. Deno's module cache).
   * @default {[]}
   */
  readonly runtime?: readonly string[];
}

/** Runs {@linkcode CommandSpec} attempts as child process groups. */
export class CommandExecutor implements Executor<CommandSpec> {
  /** The kind this executor runs. */
  readonly kind = "command";
  /** The schema of its spec. */
  readonly specSchema: SpecSchema = COMMAND_KIND.specSchema;
  /** What it can do. */
  readonly capabilities: ExecutorCapabilities = COMMAND_KIND.capabilities;
  readonly #kernelPath: string;
  readonly #killGraceMs: number | undefined;
  readonly #bubblewrap: () => Promise<string | undefined>;
  readonly #runtime: readonly string[];

  /**
   * Creates the executor.
   *
   * @param options Whether and where to find bubblewrap; the kill grace.
   */
  constructor(options: CommandExecutorOptions = {}) {
    this.#kernelPath = options.kernelPath ?? Deno.env.get("PATH") ?? "";
    this.#bubblewrap = bubblewrapFromOption(options.bubblewrap);
    this.#killGraceMs = options.killGraceMs;
    this.#runtime = options.runtime ?? [];
  }

  /**
   * Runs one attempt: `spec.argv` in `ctx.cwd`.
   *
   * @param spec The argv.
   * @param ctx Everything prepared for the attempt.
   * @param onSpawn Told the child's pid (its process group id) once it runs.
   * @returns How it ended; summary `{ executor, argv, cwd, sandbox }`
   * (`bubblewrap`, `unavailable`, or `none` under `--no-sandbox`), and the
   * violations that stopped it.
   */
  async execute(
    spec: CommandSpec,
    ctx: ExecutionContext,
    onSpawn?: OnSpawn,
  ): Promise<ExecutionResult> {
    const summary: Record<string, unknown> = {
      executor: "command",
      argv: [...spec.argv],
      cwd: ctx.cwd,
      sandbox: "none",
    };
    if (spec.argv.length === 0) {
      return {
        status: "failed",
        exitCode: null,
        message: `Command step "${ctx.stepId}" has an empty argv; expected a program name`,
        summary,
      };
    }
    const [name, ...args] = spec.argv;
    const checked = await checkSpawn(name, {
      cwd: ctx.cwd,
      path: ctx.env.PATH ?? Deno.env.get("PATH") ?? "",
    });
    if (!checked.ok) return { status: "failed", exitCode: null, message: checked.message, summary };
    // Absolute, so the sandbox and a relative cwd cannot change which program runs.
    const argv = [checked.program, ...args];
    const processOptions = {
      cwd: ctx.cwd,
      env: ctx.env,
      stdoutPath: ctx.stdoutPath,
      stderrPath: ctx.stderrPath,
      redactor: ctx.redactor,
      timeoutMs: ctx.timeoutMs,
      signal: ctx.signal,
      onSpawn,
      killGraceMs: this.#killGraceMs,
    };
    const tools = ctx.confinement.tools === null
      ? null
      : await resolveTools(ctx.confinement.tools, this.#kernelPath);
    const refused = await checkTool(argv[0], tools);
    if (refused) {
      return {
        status: "failed",
        exitCode: null,
        message: violationMessage([refused]),
        summary,
        violations: [refused],
      };
    }
    const grant = (sandbox: "bubblewrap" | "none", mounts: readonly BubblewrapMount[]) =>
      ctx.onAccess?.({
        type: "grant",
        sandbox,
        mounts,
        env: Object.keys(ctx.env),
        net: ctx.confinement.net,
        tools: tools?.map((t) => t.path) ?? null,
      });
    if (ctx.confinement.mode === "none") {
      summary.sandbox = "none";
      grant("none", []);
      const result = await runProcessTree(argv[0], { ...processOptions, args });
      return { ...result, summary };
    }
    // Run the tool where the sandbox has it: its path on the kernel's PATH.
    const real = await Deno.realPath(argv[0]).catch(() => argv[0]);
    const tool = tools?.find((t) => t.path === argv[0] || t.source === real);
    const bwrap = await this.#bubblewrap();
    const net = ctx.confinement.net;
    // A net allowlist runs the command behind the bridge, which needs deno in the sandbox.
    const deno = net.length > 0 ? await bridgeDeno(this.#kernelPath) : undefined;
    if (net.length > 0 && !deno) {
      const message = "The net allowlist needs deno (for the bridge to the kernel's proxy); " +
        "none was found on the kernel's PATH";
      return { status: "failed", exitCode: null, message, summary };
    }
    const sandbox = await prepareSandbox(ctx, {
      bwrap,
      tools,
      runtime: [...this.#runtime, ...(deno ? [dirname(deno)] : [])],
    });
    if (!sandbox.ok) {
      summary.sandbox = sandbox.reason === "sandbox_unavailable" ? "unavailable" : "bubblewrap";
      return {
        status: "failed",
        exitCode: null,
        message: sandbox.message,
        summary,
        ...(sandbox.violations.length > 0 ? { violations: sandbox.violations } : {}),
      };
    }
    summary.sandbox = "bubblewrap";
    const violations: PolicyViolation[] = [];
    const network = await sandboxNetwork([tool?.path ?? argv[0], ...args], {
      net,
      deno: deno ?? "",
      onViolation: (v) => violations.push(v),
    });
    grant("bubblewrap", [...sandbox.mounts, ...network.mounts]);
    try {
      const result = await runInBubblewrap(network.argv, {
        ...processOptions,
        env: { ...ctx.env, ...network.env },
        bwrap: bwrap!,
        mounts: [...sandbox.mounts, ...network.mounts],
        unshareNetwork: true,
      });
      return withViolations({ ...result, summary }, violations);
    } finally {
      await network.close();
    }
  }
}
