/**
 * The `command` executor: an argv run as a child process in the attempt's
 * working directory, with exactly the attempt's environment, its output
 * streamed to the log files and its whole process tree killed on timeout,
 * on cancellation and when it ends.
 *
 * Before anything is spawned, the working directory and the program are
 * checked (`checkSpawn`), so a failure to start names its real cause.
 *
 * Where bubblewrap works on this machine, every attempt runs inside it
 * (`commandSandbox` decides how): a PID namespace of its own that dies with
 * the attempt and with the kernel, so nothing the step starts, even in a new
 * session, outlives it. A step keeps the access it would have without
 * bubblewrap; a read-only attempt (a gate) gets the workspace read-only and
 * the output and scratch dirs writable, and no capabilities. Without
 * bubblewrap the argv runs as a process group (`process_tree.ts`), and the
 * summary of a read-only attempt says the workspace was not kept read-only.
 * See `docs/security.md`.
 *
 * @module
 */

import { createDir } from "../../store/durable_file.ts";
import type { CommandSpec } from "../../graph/workflow.ts";
import { bubblewrapFromOption, runInBubblewrap } from "./bubblewrap.ts";
import { commandSandbox } from "./command_sandbox.ts";
import type { ExecutionContext, ExecutionResult, Executor, OnSpawn } from "./executor.ts";
import { runProcessTree } from "./process_tree.ts";
import { checkSpawn } from "./spawn_failure.ts";

/** Options of {@linkcode CommandExecutor}. */
export interface CommandExecutorOptions {
  /**
   * The `bwrap` executable, or `false` to never use bubblewrap.
   * @default {found on the kernel's PATH (and probed) at first use}
   */
  readonly bubblewrap?: string | false;
  /**
   * Grace between SIGTERM and SIGKILL when an attempt is stopped, in ms.
   * @default {1000}
   */
  readonly killGraceMs?: number;
}

/** Runs {@linkcode CommandSpec} attempts as child process groups. */
export class CommandExecutor implements Executor<CommandSpec> {
  /** The kind this executor runs. */
  readonly kind = "command";
  readonly #bubblewrapDisabled: boolean;
  readonly #killGraceMs: number | undefined;
  readonly #bubblewrap: () => Promise<string | undefined>;

  /**
   * Creates the executor.
   *
   * @param options Whether and where to find bubblewrap; the kill grace.
   */
  constructor(options: CommandExecutorOptions = {}) {
    this.#bubblewrapDisabled = options.bubblewrap === false;
    this.#bubblewrap = bubblewrapFromOption(options.bubblewrap);
    this.#killGraceMs = options.killGraceMs;
  }

  /**
   * Runs one attempt: `spec.argv` in `ctx.cwd`.
   *
   * @param spec The argv.
   * @param ctx Everything prepared for the attempt.
   * @param onSpawn Told the child's pid (its process group id) once it runs.
   * @returns How it ended; summary `{ executor, argv, cwd, sandbox }` plus
   * `read_only_workspace` when a read-only workspace was asked for.
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
      timeoutMs: ctx.timeoutMs,
      signal: ctx.signal,
      onSpawn,
      killGraceMs: this.#killGraceMs,
    };
    const bwrap = await this.#bubblewrap();
    if (!bwrap) {
      if (ctx.readOnlyWorkspace) {
        summary.read_only_workspace = this.#bubblewrapDisabled
          ? "not enforced: bubblewrap disabled"
          : "not enforced: bubblewrap not found";
      }
      const result = await runProcessTree(argv[0], { ...processOptions, args });
      return { ...result, summary };
    }
    summary.sandbox = "bubblewrap";
    if (ctx.readOnlyWorkspace) {
      await createDir(ctx.outputDir, { recursive: true });
      await createDir(ctx.scratchDir, { recursive: true });
      summary.read_only_workspace = "enforced by bubblewrap";
    }
    const result = await runInBubblewrap(argv, {
      ...processOptions,
      bwrap,
      ...commandSandbox(ctx),
    });
    return { ...result, summary };
  }
}
