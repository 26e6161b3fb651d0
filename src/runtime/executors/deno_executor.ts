/**
 * The `deno` executor: a TypeScript module run in a separate
 * `deno run --no-prompt` process under the permission flags
 * {@linkcode denoPermissionFlags} computes, as a process group like every
 * child (see `process_tree.ts`).
 *
 * Where bubblewrap works (Linux), the `deno` process also runs inside it with
 * the store hidden (an empty tmpfs over `<workspace>/.iris`, the attempt's
 * input dir bound back read-only and its output and scratch dirs writable)
 * and, for a read-only attempt, the workspace mounted read-only. That closes
 * what the flags cannot: static imports, which Deno does not check against
 * `--allow-read`, and files Deno's own CLI writes (lockfile, `node_modules`).
 *
 * The child gets the attempt's env subset, and may read exactly those
 * variables; besides, so that its module cache is found, it gets `DENO_DIR`,
 * `HOME` and `XDG_CACHE_HOME` from the kernel's environment (when set) and
 * `DENO_NO_UPDATE_CHECK=1` and `NO_COLOR=1` (plain log files), none of which
 * it may read.
 *
 * @module
 */

import { join } from "node:path";
import type { DenoSpec } from "../../graph/workflow.ts";
import { isLilyError } from "../../core/errors.ts";
import { STORE_DIR_NAME } from "../../store/layout.ts";
import { resolveInside } from "../../store/safe_path.ts";
import { bubblewrapArgv, bubblewrapFromOption, type BubblewrapMount } from "./bubblewrap.ts";
import { denoPermissionFlags } from "./deno_flags.ts";
import type { ExecutionContext, ExecutionResult, Executor, OnSpawn } from "./executor.ts";
import { findProgram } from "./find_program.ts";
import { runProcessTree } from "./process_tree.ts";

/** Options of {@linkcode DenoExecutor}. */
export interface DenoExecutorOptions {
  /**
   * The `deno` binary the steps run with.
   * @default {`Deno.execPath()`, or `deno` on the PATH when the kernel is a compiled binary}
   */
  readonly denoPath?: string;
  /**
   * Variables Deno itself needs, added to every child's env without being
   * readable by the step (the step's own env wins on a clash).
   * @default {`DENO_DIR`, `HOME`, `XDG_CACHE_HOME` from the kernel's env, `DENO_NO_UPDATE_CHECK=1` and `NO_COLOR=1`}
   */
  readonly runtimeEnv?: Readonly<Record<string, string>>;
  /**
   * The `bwrap` executable, or `false` to rely on the permission flags alone.
   * @default {found on the kernel's PATH (and probed) at first use}
   */
  readonly bubblewrap?: string | false;
  /**
   * Grace between SIGTERM and SIGKILL when an attempt is stopped, in ms.
   * @default {1000}
   */
  readonly killGraceMs?: number;
}

function kernelRuntimeEnv(): Record<string, string> {
  const env: Record<string, string> = { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
  for (const name of ["DENO_DIR", "HOME", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function failed(message: string, summary: Record<string, unknown>): ExecutionResult {
  return { status: "failed", exitCode: null, message, summary };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The mounts that hide the store (and, read-only, the workspace) from a deno step. */
async function sandboxMounts(ctx: ExecutionContext): Promise<BubblewrapMount[]> {
  for (const dir of [ctx.inputDir, ctx.outputDir, ctx.scratchDir]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  const store = join(ctx.workspace, STORE_DIR_NAME);
  return [
    ...(ctx.readOnlyWorkspace ? [{ mode: "read-only", path: ctx.workspace } as const] : []),
    ...(await exists(store) ? [{ mode: "hidden", path: store } as const] : []),
    { mode: "read-only", path: ctx.inputDir },
    { mode: "writable", path: ctx.outputDir },
    { mode: "writable", path: ctx.scratchDir },
  ];
}

/** Runs {@linkcode DenoSpec} attempts in confined `deno` child processes. */
export class DenoExecutor implements Executor<DenoSpec> {
  /** The kind this executor runs. */
  readonly kind = "deno";
  readonly #denoPath: string | undefined;
  readonly #runtimeEnv: Readonly<Record<string, string>>;
  readonly #killGraceMs: number | undefined;
  readonly #bubblewrap: () => Promise<string | undefined>;

  /**
   * Creates the executor.
   *
   * @param options The deno binary, the runtime env, bubblewrap and the kill grace.
   */
  constructor(options: DenoExecutorOptions = {}) {
    this.#bubblewrap = bubblewrapFromOption(options.bubblewrap);
    this.#denoPath = options.denoPath ?? (Deno.build.standalone ? undefined : Deno.execPath());
    this.#runtimeEnv = options.runtimeEnv ?? kernelRuntimeEnv();
    this.#killGraceMs = options.killGraceMs;
  }

  async #deno(): Promise<string | undefined> {
    return this.#denoPath ??
      await findProgram("deno", { cwd: "/", path: Deno.env.get("PATH") ?? "" });
  }

  /**
   * Runs one attempt: `deno run --no-prompt <flags> <module> <args>` in `ctx.cwd`.
   *
   * @param spec The module (relative to the workspace) and its arguments.
   * @param ctx Everything prepared for the attempt.
   * @param onSpawn Told the child's pid (its process group id) once it runs.
   * @returns How it ended; summary `{ executor, module, args, flags, sandbox }`.
   */
  async execute(
    spec: DenoSpec,
    ctx: ExecutionContext,
    onSpawn?: OnSpawn,
  ): Promise<ExecutionResult> {
    const summary: Record<string, unknown> = {
      executor: "deno",
      module: spec.module,
      args: [...spec.args],
      flags: [],
      sandbox: "none",
    };
    let module: string;
    let flags: string[];
    try {
      module = await resolveInside(ctx.workspace, spec.module);
      flags = denoPermissionFlags({
        workspace: ctx.workspace,
        outputDir: ctx.outputDir,
        inputDir: ctx.inputDir,
        scratchDir: ctx.scratchDir,
        envNames: Object.keys(ctx.env),
        readOnlyWorkspace: ctx.readOnlyWorkspace,
      });
    } catch (err) {
      if (isLilyError(err)) return failed(err.message, summary);
      throw err;
    }
    summary.flags = flags;
    const deno = await this.#deno();
    if (!deno) {
      return failed(
        "The kernel runs as a compiled binary and no deno was found on PATH; " +
          "set the deno executor's denoPath option",
        summary,
      );
    }
    let argv = [deno, "run", "--no-prompt", ...flags, module, ...spec.args];
    const bwrap = await this.#bubblewrap();
    if (bwrap) {
      argv = bubblewrapArgv(argv, { bwrap, mounts: await sandboxMounts(ctx), cwd: ctx.cwd });
      summary.sandbox = "bubblewrap";
    }
    const result = await runProcessTree(argv[0], {
      args: argv.slice(1),
      cwd: ctx.cwd,
      env: { ...this.#runtimeEnv, ...ctx.env },
      stdoutPath: ctx.stdoutPath,
      stderrPath: ctx.stderrPath,
      timeoutMs: ctx.timeoutMs,
      signal: ctx.signal,
      onSpawn,
      killGraceMs: this.#killGraceMs,
    });
    return { ...result, summary };
  }
}
