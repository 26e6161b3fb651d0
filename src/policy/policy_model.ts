/**
 * The policy model (SPEC "Layer 4 — Routing and policies"): a policy as a
 * workflow writes it, the rules a policy path must follow, the merge of the
 * top-level policy with a step's or gate's own, and the {@linkcode Confinement}
 * an attempt carries — the policy resolved against the workspace, as data
 * the compilers (`bubblewrap_mounts.ts`, `deno_flags.ts`) turn into flags.
 *
 * Pure: no I/O. Where a path really leads is checked at spawn by the runtime.
 *
 * @module
 */

import { posix } from "node:path";
import type { PolicySpec } from "../graph/workflow.ts";
import { STORE_DIR_NAME } from "../store/layout.ts";

/** A policy with every field settled. */
export interface EffectivePolicy {
  /** Readable paths or globs. */
  readonly read: readonly string[];
  /** Writable paths or globs. */
  readonly write: readonly string[];
  /** Denied paths or globs. */
  readonly deny: readonly string[];
  /** Allowed programs, or `null` for any installed program. */
  readonly tools: readonly string[] | null;
  /** Allowed hosts; empty = no network. */
  readonly net: readonly string[];
  /** Env names passed beyond the base ones. */
  readonly env: readonly string[];
}

/** The SPEC defaults: read and write the workspace, nothing denied, any tool, no network. */
export const DEFAULT_POLICY: EffectivePolicy = {
  read: ["."],
  write: ["."],
  deny: [],
  tools: null,
  net: [],
  env: [],
};

/** How an attempt is confined: in bubblewrap (and Deno flags), or not at all (`--no-sandbox`). */
export type ConfinementMode = "sandbox" | "none";

/**
 * An attempt's confinement as data. Every path is absolute and normalised;
 * globs are kept as written (absolute) and expanded at spawn.
 */
export interface Confinement {
  /** `sandbox` (bubblewrap, fail closed) or `none` (`--no-sandbox`). */
  readonly mode: ConfinementMode;
  /** The workspace root. */
  readonly workspace: string;
  /** Readable paths. */
  readonly read: readonly string[];
  /** Writable (and readable) paths. */
  readonly write: readonly string[];
  /** Paths neither readable nor writable. */
  readonly deny: readonly string[];
  /** Paths always read-only when visible (`.git/`, the workflow file). */
  readonly readOnly: readonly string[];
  /** Paths always hidden (`.iris/`). */
  readonly hidden: readonly string[];
  /** Allowed programs as written (names or absolute paths), or `null` for any. */
  readonly tools: readonly string[] | null;
  /** Allowed hosts; empty = no network (`--unshare-net`). */
  readonly net: readonly string[];
  /** Env names the attempt gets beyond the base ones and its own `env_pass`. */
  readonly env: readonly string[];
}

/**
 * Programs that run arbitrary code given to them: listing one in `tools`
 * does not confine what the step can run with the other visible tools.
 */
export const CODE_RUNNING_TOOLS: readonly string[] = [
  "sh",
  "bash",
  "dash",
  "zsh",
  "ksh",
  "busybox",
  "env",
  "python",
  "python3",
  "perl",
  "ruby",
  "node",
  "deno",
  "bun",
  "xargs",
  "find",
  "awk",
  "gawk",
  "make",
  "nohup",
  "timeout",
  "nice",
  "setsid",
];

/**
 * Why a policy path is not acceptable, or `undefined` when it is: no `,`
 * (Deno's list separator), no `..`, no NUL, no leading `-` (a flag), not empty.
 *
 * @param path The path as written.
 * @returns The complaint ("expected …"), or `undefined`.
 */
export function policyPathProblem(path: string): string | undefined {
  if (path === "") return "expected a non-empty path";
  if (path.includes(",")) return "expected a path without ',' (Deno cannot express it)";
  if (path.includes("..")) return "expected a path without '..'";
  if (path.includes("\0")) return "expected a path without NUL";
  if (path.startsWith("-")) return "expected a path that does not start with '-'";
  return undefined;
}

const TOOL_NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;

/**
 * Why a `tools` entry is not acceptable, or `undefined` when it is: a
 * program name (no `/`, no leading `-`) or an absolute path.
 *
 * @param tool The entry as written.
 * @returns The complaint, or `undefined`.
 */
export function toolProblem(tool: string): string | undefined {
  if (tool.startsWith("/")) return policyPathProblem(tool);
  return TOOL_NAME.test(tool)
    ? undefined
    : "expected a program name (letters, digits, '.', '_', '+', '-') or an absolute path";
}

const HOST =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * Why a `net` entry is not acceptable, or `undefined` when it is: `host`,
 * `host:port`, `*.domain` or `[ipv6]:port`.
 *
 * @param host The entry as written.
 * @returns The complaint, or `undefined`.
 */
export function netProblem(host: string): string | undefined {
  const port = /:(\d+)$/.exec(host)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    return "expected a port from 1 to 65535";
  }
  return HOST.test(host) || IPV6.test(host) ? undefined : "expected host, host:port or *.domain";
}

/**
 * Settles a step's or gate's policy: its own fields replace the top-level
 * ones, which replace the defaults. A gate writes nothing in the workspace
 * unless its own policy says `write` (SPEC Layer 3: gates see a read-only
 * workspace by default).
 *
 * @param top The workflow's top-level policy.
 * @param own The step's or gate's own policy.
 * @param options `gate`: settle a gate's policy.
 * @returns Every field settled.
 */
export function effectivePolicy(
  top: PolicySpec | undefined,
  own: PolicySpec | undefined,
  options: { readonly gate?: boolean } = {},
): EffectivePolicy {
  const pick = <K extends keyof PolicySpec>(key: K) => own?.[key] ?? top?.[key];
  return {
    read: pick("read") ?? DEFAULT_POLICY.read,
    write: options.gate ? own?.write ?? [] : pick("write") ?? DEFAULT_POLICY.write,
    deny: pick("deny") ?? DEFAULT_POLICY.deny,
    tools: pick("tools") ?? DEFAULT_POLICY.tools,
    net: pick("net") ?? DEFAULT_POLICY.net,
    env: pick("env") ?? DEFAULT_POLICY.env,
  };
}

/**
 * A policy path made absolute: workspace-relative ones joined to the
 * workspace, absolute ones kept; normalised, without a trailing slash.
 *
 * @param workspace The workspace root (absolute).
 * @param path The path as written.
 * @returns The absolute path.
 */
export function absolutePolicyPath(workspace: string, path: string): string {
  const joined = path.startsWith("/") ? path : posix.join(workspace, path);
  const normal = posix.normalize(joined);
  return normal.length > 1 ? normal.replace(/\/+$/, "") : normal;
}

/**
 * Whether `path` is `dir` or lies under it.
 *
 * @param path An absolute, normalised path.
 * @param dir An absolute, normalised dir.
 * @returns Whether it does.
 */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

/** What {@linkcode confinementFor} needs besides the policy. */
export interface ConfinementOptions {
  /** The workspace root (absolute). */
  readonly workspace: string;
  /** `sandbox` or `none`. */
  readonly mode: ConfinementMode;
  /** The workflow file, when the run was started from one inside the workspace. */
  readonly workflowFile?: string;
  /** Whether the attempt is a `shell:` step or gate (which implies the tool `sh`). */
  readonly shell?: boolean;
}

/**
 * Resolves an effective policy against the workspace into a confinement:
 * `.iris/` hidden, `.git/` and the workflow file read-only, `sh` added to a
 * tool list of a shell step.
 *
 * @example
 * ```ts
 * import { confinementFor, DEFAULT_POLICY } from "./policy_model.ts";
 * const c = confinementFor(DEFAULT_POLICY, { workspace: "/ws", mode: "sandbox" });
 * console.assert(c.write[0] === "/ws" && c.hidden[0] === "/ws/.iris");
 * ```
 *
 * @param policy The effective policy.
 * @param options The workspace, the mode, the workflow file and whether it is a shell step.
 * @returns The confinement.
 */
export function confinementFor(policy: EffectivePolicy, options: ConfinementOptions): Confinement {
  const abs = (paths: readonly string[]) => [
    ...new Set(paths.map((p) => absolutePolicyPath(options.workspace, p))),
  ];
  const tools = policy.tools === null
    ? null
    : [...new Set([...policy.tools, ...(options.shell ? ["sh"] : [])])];
  return {
    mode: options.mode,
    workspace: options.workspace,
    read: abs(policy.read),
    write: abs(policy.write),
    deny: abs(policy.deny),
    readOnly: [
      posix.join(options.workspace, ".git"),
      ...(options.workflowFile
        ? [absolutePolicyPath(options.workspace, options.workflowFile)]
        : []),
    ],
    hidden: [posix.join(options.workspace, STORE_DIR_NAME)],
    tools,
    net: [...policy.net],
    env: [...policy.env],
  };
}

/**
 * The tools of a list that run arbitrary code (by program name), so that
 * `lily check` and a run's first line can say the list does not confine.
 *
 * @param tools The tool list, or `null`.
 * @returns The code-running tools in it, in list order.
 */
export function codeRunningTools(tools: readonly string[] | null): string[] {
  if (tools === null) return [];
  return tools.filter((t) => CODE_RUNNING_TOOLS.includes(posix.basename(t)));
}

/**
 * An unconfined confinement (every path, any tool, network allowed): what
 * a library user's direct executor call gets when it asks for none.
 *
 * @param workspace The workspace root.
 * @returns The confinement, mode `none`.
 */
export function unconfined(workspace: string): Confinement {
  return {
    mode: "none",
    workspace,
    read: ["/"],
    write: ["/"],
    deny: [],
    readOnly: [],
    hidden: [],
    tools: null,
    net: ["*"],
    env: [],
  };
}
