/**
 * The `deno` executor: a TypeScript module run in a separate
 * `deno run --no-prompt` process under the permission flags
 * {@linkcode denoPermissionFlags} computes, as a process group like every
 * child (see `process_tree.ts`).
 *
 * Where bubblewrap works (Linux), the `deno` process also runs inside it, in
 * an empty root that holds only what the step may see: the system dirs
 * (`/usr` read-only, `/bin`, `/lib`… as on the host), the `deno` binary's
 * dir and the module cache read-only, an empty `/tmp` and `$HOME`, the
 * workspace (read-only for a read-only attempt), the store hidden (an empty
 * tmpfs over `<workspace>/.iris`) and the attempt's input dir (read-only),
 * output and scratch dirs (writable) bound back on top; no network, no
 * capabilities, a PID namespace of its own that dies with the kernel. That
 * closes what the flags cannot: static and `text` imports, which Deno does
 * not check against `--allow-read`; symbolic links in the workspace, which
 * Deno checks as written, not where they lead; and files Deno's own CLI
 * writes (lockfile, `node_modules`) in a read-only workspace. The flags
 * stay, as a second line. A module that imports an `npm:` package not yet in
 * the cache fails, as the cache is read-only and the network absent.
 *
 * The child gets the attempt's env subset, and may read exactly those
 * variables; besides, so that its module cache is found, it gets `DENO_DIR`,
 * `HOME` and `XDG_CACHE_HOME` from the kernel's environment (when set) and
 * `DENO_NO_UPDATE_CHECK=1` and `NO_COLOR=1` (plain log files), none of which
 * it may read.
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import type { DenoSpec } from "../../graph/workflow.ts";
import { isLilyError } from "../../core/errors.ts";
import { createDir } from "../../store/durable_file.ts";
import { STORE_DIR_NAME } from "../../store/layout.ts";
import { resolveInside } from "../../store/safe_path.ts";
import { bubblewrapFromOption, type BubblewrapMount, runInBubblewrap } from "./bubblewrap.ts";
import { denoPermissionFlags } from "./deno_flags.ts";
import type { ExecutionContext, ExecutionResult, Executor, OnSpawn } from "./executor.ts";
import { findProgram } from "./find_program.ts";
import { runProcessTree } from "./process_tree.ts";
import { checkSpawn } from "./spawn_failure.ts";

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

/** What a deno binary needs of the host's root, mirrored: real dirs bound read-only, links kept. */
const SYSTEM_PATHS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

async function systemMounts(): Promise<BubblewrapMount[]> {
  const mounts: BubblewrapMount[] = [];
  for (const path of SYSTEM_PATHS) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch {
      continue;
    }
    if (info.isSymlink) mounts.push({ mode: "symlink", path, target: await Deno.readLink(path) });
    else if (info.isDirectory) mounts.push({ mode: "read-only", path });
  }
  return mounts;
}

/** Where the child's deno keeps its module cache, as deno finds it from its env. */
function moduleCache(env: Readonly<Record<string, string>>): string | undefined {
  const dir = env.DENO_DIR ??
    (env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, "deno") : undefined) ??
    (env.HOME ? join(env.HOME, ".cache", "deno") : undefined);
  return dir && isAbsolute(dir) ? dir : undefined;
}

/**
 * The sandbox of a deno step: an empty root with the system dirs, the deno
 * binary and the module cache read-only, `/tmp` and `$HOME` empty, the
 * workspace, the store hidden, and the attempt's own dirs bound back.
 */
async function sandboxMounts(
  ctx: ExecutionContext,
  deno: string,
  env: Readonly<Record<string, string>>,
): Promise<BubblewrapMount[]> {
  for (const dir of [ctx.inputDir, ctx.outputDir, ctx.scratchDir]) {
    await createDir(dir, { recursive: true });
  }
  const home = env.HOME && isAbsolute(env.HOME) && env.HOME !== "/" ? [env.HOME] : [];
  const cache = moduleCache(env);
  const store = join(ctx.workspace, STORE_DIR_NAME);
  return [
    ...(await systemMounts()),
    { mode: "hidden", path: "/tmp" },
    ...home.map((path) => ({ mode: "hidden", path }) as const),
    { mode: "read-only", path: dirname(deno) },
    ...(cache && await exists(cache) ? [{ mode: "read-only", path: cache } as const] : []),
    { mode: ctx.readOnlyWorkspace ? "read-only" : "writable", path: ctx.workspace },
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
    const deno = this.#denoPath ??
      await findProgram("deno", { cwd: "/", path: Deno.env.get("PATH") ?? "" });
    // The binary itself, not a link to it, so binding its dir is enough.
    return deno && isAbsolute(deno) ? await Deno.realPath(deno).catch(() => deno) : deno;
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
      module = resolveInside(ctx.workspace, spec.module);
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
    const checked = await checkSpawn(deno, {
      cwd: ctx.cwd,
      path: Deno.env.get("PATH") ?? "",
    });
    if (!checked.ok) return failed(checked.message, summary);
    const argv = [deno, "run", "--no-prompt", ...flags, module, ...spec.args];
    const env = { ...this.#runtimeEnv, ...ctx.env };
    const processOptions = {
      cwd: ctx.cwd,
      env,
      stdoutPath: ctx.stdoutPath,
      stderrPath: ctx.stderrPath,
      timeoutMs: ctx.timeoutMs,
      signal: ctx.signal,
      onSpawn,
      killGraceMs: this.#killGraceMs,
    };
    const bwrap = await this.#bubblewrap();
    let result;
    if (bwrap) {
      summary.sandbox = "bubblewrap";
      result = await runInBubblewrap(argv, {
        ...processOptions,
        bwrap,
        root: "empty",
        unshareNetwork: true,
        mounts: await sandboxMounts(ctx, deno, env),
      });
    } else {
      result = await runProcessTree(deno, { ...processOptions, args: argv.slice(1) });
    }
    return { ...result, summary };
  }
}
