/**
 * The `deno` executor: a TypeScript module run in a separate
 * `deno run --no-prompt` process under the permission flags
 * {@linkcode denoPermissionFlags} computes, as a process group like every
 * child (see `process_tree.ts`).
 *
 * Unless the run has no sandbox (`--no-sandbox`), the `deno` process also
 * runs inside bubblewrap, in an empty root holding only what its policy
 * allows (`policy/bubblewrap_mounts.ts`) plus the `deno` binary's dir and
 * the module cache read-only; no network unless `net` lists hosts, no
 * capabilities, a PID namespace of its own that dies with the kernel. It
 * fails closed (`sandbox_unavailable`) where bubblewrap does not work. That
 * closes what the flags cannot: static and `text` imports, which Deno does
 * not check against `--allow-read`; and files Deno's own CLI writes. A
 * module that imports an `npm:` package not yet in the cache fails, as the
 * cache is read-only and the network absent.
 *
 * With or without bubblewrap, the kernel is also Deno's permission broker
 * (`deno_broker.ts`): one per attempt, on a Unix socket in a fresh temp dir
 * bound read-only into the sandbox, with rules holding what the flags hold
 * (Deno ignores its flags once a broker is set). It resolves where each
 * path really leads, so a symbolic link in an allowed dir that points
 * outside is refused, which the flags alone do not do. Every refusal fails
 * the attempt as a `policy_violation.v1` decided by `broker`; the summary
 * counts the checks allowed and denied, and each decision (and, before the
 * spawn, what the attempt was granted) is told to `ctx.onAccess`. Deno's warning that the broker is
 * experimental stays in the step's stderr log.
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
import type { AccessRules } from "../../policy/broker_decision.ts";
import { parseNetRules } from "../../policy/net_allow.ts";
import type { Confinement } from "../../policy/policy_model.ts";
import { startDenoBroker } from "./deno_broker.ts";
import type { DenoSpec } from "../../graph/workflow.ts";
import {
  DENO_KIND,
  type ExecutorCapabilities,
  type SpecSchema,
} from "../../graph/executor_kind.ts";
import { isLilyError } from "../../core/errors.ts";
import { resolveInside } from "../../store/safe_path.ts";
import type { BubblewrapMount } from "../../policy/bubblewrap_mounts.ts";
import { denoPermissionFlags } from "../../policy/deno_flags.ts";
import { bubblewrapFromOption, runInBubblewrap } from "./bubblewrap.ts";
import type { ExecutionContext, ExecutionResult, Executor, OnSpawn } from "./executor.ts";
import { findProgram } from "./find_program.ts";
import {
  type ExpandedPaths,
  expandPolicyPaths,
  prepareSandbox,
  type ResolvedTool,
  resolveTools,
} from "./policy_sandbox.ts";
import { type PolicyViolation, violationMessage } from "../../policy/policy_violation.ts";
import { runProcessTree } from "./process_tree.ts";
import { withViolations } from "./violation_result.ts";
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
   * The `bwrap` executable, or `false` to rely on the permission flags and the broker alone.
   * @default {found on the kernel's PATH (and probed) at first use}
   */
  readonly bubblewrap?: string | false;
  /**
   * Grace between SIGTERM and SIGKILL when an attempt is stopped, in ms.
   * @default {1000}
   */
  readonly killGraceMs?: number;
}

/**
 * The kernel's own variables a deno child needs to find its runtime and
 * module cache (`DENO_DIR`, `HOME`, `XDG_CACHE_HOME` when set), plus
 * `DENO_NO_UPDATE_CHECK=1` and `NO_COLOR=1`.
 *
 * @returns Variable name → value.
 */
export function kernelRuntimeEnv(): Record<string, string> {
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

/**
 * Where a deno child keeps its module cache, as deno finds it from its env
 * (`DENO_DIR`, else `$XDG_CACHE_HOME/deno`, else `$HOME/.cache/deno`).
 *
 * @param env The child's environment.
 * @returns The absolute cache dir, or `undefined` when none can be told.
 */
export function moduleCache(env: Readonly<Record<string, string>>): string | undefined {
  const dir = env.DENO_DIR ??
    (env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, "deno") : undefined) ??
    (env.HOME ? join(env.HOME, ".cache", "deno") : undefined);
  return dir && isAbsolute(dir) ? dir : undefined;
}

/**
 * Which spawns the broker allows. As the flags, no `tools` list means no
 * subprocess. Deno 2.9.6 names no program in a spawn's check, so a list can
 * only allow every spawn or none: in the sandbox, where only the listed
 * tools (and the deno binary) exist, every spawn; without it, none.
 */
function runRule(
  tools: readonly ResolvedTool[] | null,
  sandboxed: boolean,
): AccessRules["run"] {
  if (tools === null) return [];
  return sandboxed && tools.length > 0 ? "any" : tools.map((t) => t.path);
}

/**
 * The broker's rules: everything the flags grant ({@linkcode denoPermissionFlags}),
 * as Deno ignores its flags once a broker is set.
 */
function brokerRules(
  confinement: Confinement,
  options: {
    paths: ExpandedPaths;
    ctx: ExecutionContext;
    tools: readonly ResolvedTool[] | null;
    /** Whether the step runs in bubblewrap. */
    sandboxed: boolean;
  },
): AccessRules {
  const { paths, ctx } = options;
  const writable = [ctx.outputDir, ctx.scratchDir];
  return {
    read: [...paths.read, ...paths.write, ctx.inputDir, ...writable],
    write: [...paths.write, ...writable],
    deny: [...paths.hidden, ...paths.deny.map((d) => d.path)],
    readOnly: [...paths.readOnly, ctx.inputDir],
    staged: [ctx.inputDir, ...writable],
    net: parseNetRules(confinement.net),
    env: Object.keys(ctx.env),
    run: runRule(options.tools, options.sandboxed),
    sys: [],
  };
}

type Confined =
  | { ok: true; paths: ExpandedPaths; mounts?: readonly BubblewrapMount[] }
  | { ok: false; message: string; sandbox: string; violations: readonly PolicyViolation[] };

/**
 * The policy's paths expanded and checked, and in the sandbox mode the
 * sandbox's mounts (the deno binary's dir and the module cache added).
 */
async function confine(
  ctx: ExecutionContext,
  options: {
    bwrap: string | undefined;
    tools: readonly ResolvedTool[] | null;
    deno: string;
    env: Readonly<Record<string, string>>;
  },
): Promise<Confined> {
  if (ctx.confinement.mode === "sandbox") {
    const cache = moduleCache(options.env);
    const sandbox = await prepareSandbox(ctx, {
      bwrap: options.bwrap,
      tools: options.tools,
      runtime: [dirname(options.deno), ...(cache ? [cache] : [])],
    });
    if (!sandbox.ok) {
      const unavailable = sandbox.reason === "sandbox_unavailable";
      return { ...sandbox, sandbox: unavailable ? "unavailable" : "bubblewrap" };
    }
    return { ok: true, paths: sandbox.paths, mounts: sandbox.mounts };
  }
  const { paths, violations } = await expandPolicyPaths(ctx.confinement);
  if (violations.length === 0) return { ok: true, paths };
  return {
    ok: false,
    message: violationMessage(violations),
    sandbox: "none",
    violations,
  };
}

/** Runs {@linkcode DenoSpec} attempts in confined `deno` child processes. */
export class DenoExecutor implements Executor<DenoSpec> {
  /** The kind this executor runs. */
  readonly kind = "deno";
  /** The schema of its spec. */
  readonly specSchema: SpecSchema = DENO_KIND.specSchema;
  /** What it can do. */
  readonly capabilities: ExecutorCapabilities = DENO_KIND.capabilities;
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
   * @returns How it ended, with the broker's refusals as `violations`; summary
   * `{ executor, module, args, flags, sandbox, broker: { allowed, denied } }`.
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
    try {
      module = resolveInside(ctx.workspace, spec.module);
    } catch (err) {
      if (isLilyError(err)) return failed(err.message, summary);
      throw err;
    }
    const confinement = ctx.confinement;
    const tools = confinement.tools === null
      ? null
      : await resolveTools(confinement.tools, Deno.env.get("PATH") ?? "");
    const env = { ...this.#runtimeEnv, ...ctx.env };
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
    const bwrap = confinement.mode === "sandbox" ? await this.#bubblewrap() : undefined;
    const confined = await confine(ctx, { bwrap, tools, deno, env });
    if (!confined.ok) {
      summary.sandbox = confined.sandbox;
      return {
        ...failed(confined.message, summary),
        ...(confined.violations.length > 0 ? { violations: confined.violations } : {}),
      };
    }
    const { paths, mounts } = confined;
    let flags: string[];
    try {
      flags = denoPermissionFlags(confinement, {
        paths: { ...paths, deny: paths.deny.map((d) => d.path) },
        staging: { inputDir: ctx.inputDir, outputDir: ctx.outputDir, scratchDir: ctx.scratchDir },
        envNames: Object.keys(ctx.env),
        tools: tools?.map((t) => t.path),
      });
    } catch (err) {
      if (isLilyError(err)) return failed(err.message, summary);
      throw err;
    }
    summary.flags = flags;
    ctx.onAccess?.({
      type: "grant",
      sandbox: mounts ? "bubblewrap" : "none",
      mounts: mounts ?? [],
      env: Object.keys(ctx.env),
      net: confinement.net,
      tools: tools?.map((t) => t.path) ?? null,
    });
    const argv = [deno, "run", ...flags, module, ...spec.args];
    const violations: PolicyViolation[] = [];
    const decisions = { allowed: 0, denied: 0 };
    const sockets = await Deno.makeTempDir({ prefix: "lily-broker-" });
    try {
      const broker = startDenoBroker({
        socketPath: join(sockets, "broker.sock"),
        rules: brokerRules(confinement, { paths, ctx, tools, sandboxed: mounts !== undefined }),
        onAccess: (record) => {
          if (record.allowed) decisions.allowed++;
          else decisions.denied++;
          ctx.onAccess?.({ type: "permission", ...record });
        },
        onViolation: (v) => violations.push(v),
      });
      summary.broker = decisions;
      const processOptions = {
        cwd: ctx.cwd,
        env: { ...env, ...broker.env },
        stdoutPath: ctx.stdoutPath,
        stderrPath: ctx.stderrPath,
        redactor: ctx.redactor,
        timeoutMs: ctx.timeoutMs,
        signal: ctx.signal,
        onSpawn: async (pid: number) => {
          broker.track(pid);
          await onSpawn?.(pid);
        },
        killGraceMs: this.#killGraceMs,
      };
      let result;
      try {
        if (mounts) {
          summary.sandbox = "bubblewrap";
          result = await runInBubblewrap(argv, {
            ...processOptions,
            bwrap: bwrap!,
            unshareNetwork: confinement.net.length === 0,
            // Last, so no policy mount covers the socket.
            mounts: [...mounts, { mode: "read-only", path: sockets }],
          });
        } else {
          summary.sandbox = "none";
          result = await runProcessTree(deno, { ...processOptions, args: argv.slice(1) });
        }
      } finally {
        await broker.close();
      }
      return withViolations({ ...result, summary }, violations);
    } finally {
      await Deno.remove(sockets, { recursive: true }).catch(() => {});
    }
  }
}
