/**
 * The effects around the pure policy compilers: at each spawn, expand the
 * policy's globs, find which paths exist and where they really lead, find
 * the allowed tools on the kernel's PATH, and turn what the compilers need
 * into {@linkcode SandboxFacts}, with every refusal the kernel sees before
 * the spawn as a {@linkcode PolicyViolation}:
 *
 * - a `read`/`write` path whose real location escapes the workspace (a
 *   planted symlink, or one an earlier step made) or leads into a denied or
 *   hidden path (kind `path`);
 * - a program not in `tools` (kind `run`).
 *
 * Tools are resolved on the kernel's own PATH, never on the step's `env.PATH`.
 *
 * @module
 */

import { join, relative } from "node:path";
import {
  type BubblewrapMount,
  bubblewrapMounts,
  ETC_ENTRIES,
  type ExpandedPaths,
  type HostEntry,
  type SandboxFacts,
  SYSTEM_DIRS,
  USR_LIBRARY_DIRS,
} from "../../policy/bubblewrap_mounts.ts";
import { decideAccess } from "../../policy/decide_access.ts";
import { globBase, globRegExp, isGlob } from "../../policy/policy_glob.ts";
import { type Confinement, isWithin } from "../../policy/policy_model.ts";
import { type PolicyViolation, violationMessage } from "../../policy/policy_violation.ts";
import { createDir } from "../../store/durable_file.ts";
import type { ExecutionContext } from "./executor.ts";
import { findProgram } from "./find_program.ts";

async function lstatKind(path: string): Promise<HostEntry | undefined> {
  try {
    const info = await Deno.lstat(path);
    if (info.isSymlink) return { path, kind: "symlink", target: await Deno.readLink(path) };
    return { path, kind: info.isDirectory ? "dir" : "file" };
  } catch {
    return undefined;
  }
}

async function statKind(path: string): Promise<"dir" | "file" | undefined> {
  try {
    return (await Deno.stat(path)).isDirectory ? "dir" : "file";
  } catch {
    return undefined;
  }
}

/** Matches of an absolute glob among the files that exist, walking from its fixed prefix. */
async function expandGlob(glob: string, skip: readonly string[]): Promise<string[]> {
  const pattern = globRegExp(glob);
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (skip.some((s) => isWithin(path, s))) continue;
      if (pattern.test(path)) out.push(path);
      if (entry.isDirectory) await walk(path);
    }
  }
  await walk(globBase(glob));
  return out.sort();
}

async function expand(paths: readonly string[], skip: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (isGlob(path)) out.push(...await expandGlob(path, skip));
    else out.push(path);
  }
  return [...new Set(out)];
}

async function existing(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) if (await statKind(path) !== undefined) out.push(path);
  return out;
}

export type { ExpandedPaths };

/**
 * Expands and checks the confinement's paths: each readable or writable
 * path must really lead where its policy allows (inside the workspace for a
 * workspace path, never into a denied or hidden one).
 *
 * @param confinement The attempt's confinement.
 * @returns The paths, and a violation for each path that escapes.
 */
export async function expandPolicyPaths(
  confinement: Confinement,
): Promise<{ paths: ExpandedPaths; violations: PolicyViolation[] }> {
  const skip = confinement.hidden;
  const read = await existing(await expand(confinement.read, skip));
  const write = await existing(await expand(confinement.write, skip));
  const deny: HostEntry[] = [];
  for (const path of await expand(confinement.deny, [])) {
    const kind = await statKind(path);
    if (kind) deny.push({ path, kind });
  }
  const workspace = confinement.workspace;
  const realWorkspace = await Deno.realPath(workspace).catch(() => workspace);
  const violations: PolicyViolation[] = [];
  for (const [path, mode] of [...read.map((p) => [p, "read"]), ...write.map((p) => [p, "write"])]) {
    if (!isWithin(path, workspace)) continue;
    const real = await Deno.realPath(path).catch(() => path);
    const escapes = !isWithin(real, realWorkspace);
    const mapped = escapes ? real : join(workspace, relative(realWorkspace, real));
    // A denied path listed as readable is simply not mounted; only a link is refused.
    if (mapped === path) continue;
    const expanded = { ...confinement, deny: deny.map((d) => d.path) };
    if (escapes || decideAccess(expanded, mapped) === "none") {
      violations.push({
        kind: "path",
        target: path,
        decidedBy: "kernel",
        message: `Policy ${mode} path ${path} really leads to ${real}, ` +
          (escapes ? "outside the workspace" : "a denied path") +
          "; remove the link or list the real path in the policy",
      });
    }
  }
  return {
    paths: {
      read,
      write,
      deny,
      readOnly: await existing(confinement.readOnly),
      hidden: await existing(confinement.hidden),
    },
    violations,
  };
}

/** An allowed tool: where it is on the kernel's PATH, and the file it is. */
export interface ResolvedTool {
  /** The tool as listed. */
  readonly name: string;
  /** Its absolute path. */
  readonly path: string;
  /** The real file (links resolved). */
  readonly source: string;
}

/**
 * Resolves the tool list on the kernel's PATH (tools not installed are left out).
 *
 * @param tools The list.
 * @param kernelPath The kernel's PATH.
 * @returns The tools found.
 */
export async function resolveTools(
  tools: readonly string[],
  kernelPath: string,
): Promise<ResolvedTool[]> {
  const out: ResolvedTool[] = [];
  for (const name of tools) {
    const path = await findProgram(name, { cwd: "/", path: kernelPath });
    if (!path) continue;
    out.push({ name, path, source: await Deno.realPath(path).catch(() => path) });
  }
  return out;
}

/**
 * Checks a program about to be run against the resolved tools.
 *
 * @param program The absolute path the program was found at.
 * @param tools The resolved tools, or `null` when any program may run.
 * @returns A violation, or `undefined` when it may run.
 */
export async function checkTool(
  program: string,
  tools: readonly ResolvedTool[] | null,
): Promise<PolicyViolation | undefined> {
  if (tools === null) return undefined;
  const real = await Deno.realPath(program).catch(() => program);
  if (tools.some((t) => t.path === program || t.source === real)) return undefined;
  return {
    kind: "run",
    target: program,
    decidedBy: "kernel",
    message: `Policy refuses to run ${program}: it is not in the step's tools (${
      tools.map((t) => t.name).join(", ") || "none"
    }); add it to policy.tools`,
  };
}

/** What {@linkcode sandboxFacts} needs beside the confinement. */
export interface SandboxFactOptions {
  /** The expanded paths. */
  readonly paths: ExpandedPaths;
  /** The resolved tools, or `null` for any. */
  readonly tools: readonly ResolvedTool[] | null;
  /** Read-only paths the runtime needs (the Deno binary's dir, its cache). */
  readonly runtime?: readonly string[];
  /** The private `$HOME`. */
  readonly home?: string;
  /** The attempt's staging dirs. */
  readonly staging: SandboxFacts["staging"];
}

/**
 * Gathers what `bubblewrapMounts` needs from the host.
 *
 * @param options The expanded paths, tools, runtime paths, home and staging dirs.
 * @returns The facts.
 */
export async function sandboxFacts(options: SandboxFactOptions): Promise<SandboxFacts> {
  const host = await hostLayout(options.tools !== null);
  const home = options.home && options.home.startsWith("/") && options.home !== "/"
    ? options.home
    : undefined;
  return {
    system: host.system,
    etc: host.etc,
    tools: options.tools?.map((t) => ({ path: t.path, source: t.source })) ?? null,
    runtime: await existing(options.runtime ?? []),
    home,
    paths: options.paths,
    staging: options.staging,
  };
}

const hostLayouts = new Map<boolean, Promise<{ system: HostEntry[]; etc: string[] }>>();

/**
 * The system dirs and `/etc` entries of this host, read once per process:
 * they are the host's installation, not the workspace, which is what
 * changes between attempts (and is read at every spawn).
 */
function hostLayout(withTools: boolean): Promise<{ system: HostEntry[]; etc: string[] }> {
  let layout = hostLayouts.get(withTools);
  if (!layout) {
    layout = (async () => {
      const system: HostEntry[] = [];
      for (const path of withTools ? [...SYSTEM_DIRS, ...USR_LIBRARY_DIRS] : SYSTEM_DIRS) {
        const entry = await lstatKind(path);
        if (entry && entry.kind !== "file") system.push(entry);
      }
      return { system, etc: await existing(ETC_ENTRIES) };
    })();
    hostLayouts.set(withTools, layout);
  }
  return layout;
}

/** The result of {@linkcode prepareSandbox}. */
export type PreparedSandbox =
  | {
    readonly ok: true;
    /** The mounts, in order. */
    readonly mounts: readonly BubblewrapMount[];
    /** The expanded paths (for Deno's flags). */
    readonly paths: ExpandedPaths;
  }
  | {
    readonly ok: false;
    /** Why the attempt cannot run, naming the violation or the missing sandbox. */
    readonly message: string;
    /** `sandbox_unavailable` or `policy_violation`. */
    readonly reason: "sandbox_unavailable" | "policy_violation";
    /** The violations, when that is the reason. */
    readonly violations: readonly PolicyViolation[];
  };

/** Options of {@linkcode prepareSandbox}. */
export interface PrepareSandboxOptions {
  /** The `bwrap` executable, or `undefined` when none works here. */
  readonly bwrap: string | undefined;
  /** The resolved tools, or `null` for any. */
  readonly tools: readonly ResolvedTool[] | null;
  /** Read-only paths the runtime needs (the Deno binary's dir, its cache). */
  readonly runtime?: readonly string[];
}

/** The reason a sandbox could not start, as the attempt's message begins. */
export const SANDBOX_UNAVAILABLE = "sandbox_unavailable";

/**
 * Prepares the sandbox of a confined attempt, failing closed: no working
 * bubblewrap, or a policy path that escapes, means the attempt never runs.
 *
 * @param ctx The attempt (its confinement must have mode `sandbox`).
 * @param options The bwrap path, the tools and the runtime's paths.
 * @returns The mounts, or why the attempt cannot run.
 */
export async function prepareSandbox(
  ctx: ExecutionContext,
  options: PrepareSandboxOptions,
): Promise<PreparedSandbox> {
  const confinement = ctx.confinement;
  if (!options.bwrap) {
    return {
      ok: false,
      reason: "sandbox_unavailable",
      message: `${SANDBOX_UNAVAILABLE}: bubblewrap (bwrap) is not on the kernel's PATH or ` +
        "cannot create a sandbox here (user namespaces refused); install bubblewrap, " +
        "or start the run with --no-sandbox to run steps unconfined",
      violations: [],
    };
  }
  const { paths, violations } = await expandPolicyPaths(confinement);
  if (violations.length > 0) {
    return {
      ok: false,
      reason: "policy_violation",
      message: violationMessage(violations),
      violations,
    };
  }
  for (const dir of [ctx.inputDir, ctx.outputDir, ctx.scratchDir]) {
    await createDir(dir, { recursive: true });
  }
  const facts = await sandboxFacts({
    paths,
    tools: options.tools,
    runtime: options.runtime,
    home: ctx.env.HOME,
    staging: { inputDir: ctx.inputDir, outputDir: ctx.outputDir, scratchDir: ctx.scratchDir },
  });
  return { ok: true, mounts: bubblewrapMounts(confinement, facts), paths };
}
