/**
 * The `command` executor: an argv run as a child process in the attempt's
 * working directory, with exactly the attempt's environment, its output
 * streamed to the log files and its whole process group killed on timeout,
 * on cancellation and when it ends.
 *
 * When the attempt asks for a read-only workspace (gates do) and bubblewrap
 * works on this machine, the argv runs inside bubblewrap (new PID namespace,
 * no capabilities, the host's root) with the workspace mounted read-only and
 * the output and scratch dirs writable. Reads, writes outside the workspace
 * and the network stay unconfined. Without bubblewrap the argv runs
 * unconfined and the result's summary says so. Other attempts (steps) run
 * unconfined: see `docs/security.md`.
 *
 * @module
 */

import type { CommandSpec } from "../../graph/workflow.ts";
import { bubblewrapFromOption, runInBubblewrap } from "./bubblewrap.ts";
import type { ExecutionContext, ExecutionResult, Executor, OnSpawn } from "./executor.ts";
import { findProgram } from "./find_program.ts";
import { runProcessTree } from "./process_tree.ts";

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
    const program = await findProgram(name, {
      cwd: ctx.cwd,
      path: ctx.env.PATH ?? Deno.env.get("PATH") ?? "",
    });
    // Absolute, so the sandbox and a relative cwd cannot change which program runs.
    const argv = [program ?? name, ...args];
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
    let bwrap: string | undefined;
    if (ctx.readOnlyWorkspace) {
      bwrap = await this.#bubblewrap();
      if (!bwrap) {
        summary.read_only_workspace = this.#bubblewrapDisabled
          ? "not enforced: bubblewrap disabled"
          : "not enforced: bubblewrap not found";
      }
    }
    let result;
    if (bwrap && program) {
      await Deno.mkdir(ctx.outputDir, { recursive: true });
      await Deno.mkdir(ctx.scratchDir, { recursive: true });
      summary.sandbox = "bubblewrap";
      summary.read_only_workspace = "enforced by bubblewrap";
      result = await runInBubblewrap(argv, {
        ...processOptions,
        bwrap,
        mounts: [
          { mode: "read-only", path: ctx.workspace },
          { mode: "writable", path: ctx.outputDir },
          { mode: "writable", path: ctx.scratchDir },
        ],
      });
    } else {
      result = await runProcessTree(argv[0], { ...processOptions, args: argv.slice(1) });
    }
    return { ...result, summary };
  }
}
