/**
 * The answer to one permission check of a `deno` step, as the kernel gives
 * it when it is Deno's permission broker (`DENO_PERMISSION_BROKER_PATH`):
 * a pure decision over the step's {@linkcode AccessRules} and the request,
 * whose path the caller has already resolved.
 *
 * Deno 2.9.6 sends checks named `read`, `write`, `net`, `env`, `run`,
 * `sys`, `ffi` and `import`, with the value as the program gave it
 * (measured): a path as written (relative or absolute, symbolic links
 * unresolved; a Worker's module is a `read`), `host:port` (`0.0.0.0:0` for
 * a listener), a variable name, a `sys` kind, a library path for `ffi`, the
 * `host:port` of a remote module for `import`, or `null` when the program
 * asks for all of a kind (`Deno.env.toObject()`, making a symbolic link,
 * and every `Deno.Command` spawn, which names no program). While a broker is set, Deno does not consult its
 * `--allow-*`/`--deny-*` flags at all (measured: a read outside
 * `--allow-read`, and one inside `--deny-read`, are both sent to the broker
 * and done when it allows them), so these rules must hold everything the
 * flags hold.
 *
 * A path is allowed only when both where it is written to be (the absolute,
 * normalised path) and where it really leads (symbolic links resolved, in
 * the step's own view of the filesystem) lie under an allowed root and
 * under no denied one: a link inside an allowed directory that points
 * outside is refused, which Deno's own `--allow-read=<dir>` does not do.
 *
 * @module
 */

import type { ViolationKind } from "./policy_violation.ts";
import { decideNetAccess, netLabel, type NetRule, type NetTarget } from "./net_allow.ts";

/** What a `deno` step may do, in the terms of Deno's permission checks. */
export interface AccessRules {
  /** Absolute paths (dirs or files) it may read, with everything under them. */
  readonly read: readonly string[];
  /** Absolute paths it may write (writing does not imply reading). */
  readonly write: readonly string[];
  /** Absolute paths neither readable nor writable; they win over `read` and `write`. */
  readonly deny: readonly string[];
  /** Absolute paths never writable, even under a `write` path (`.git/`, the workflow file). */
  readonly readOnly: readonly string[];
  /**
   * Absolute paths a `deny` path does not cover: the attempt's staging dirs
   * inside the denied `.iris/`. They still need a `read` or `write` root.
   */
  readonly staged?: readonly string[];
  /** The parsed `net:` rules. */
  readonly net: readonly NetRule[];
  /** Environment variable names it may read. */
  readonly env: readonly string[];
  /**
   * Programs it may run: `"any"`, or absolute paths and names. Deno 2.9.6
   * names no program in a spawn's check, so a list allows no spawn.
   */
  readonly run: "any" | readonly string[];
  /** `sys` kinds it may query (`hostname`, `osRelease`, …). */
  readonly sys: readonly string[];
}

/** One check Deno sent, with what the caller resolved for it. */
export interface BrokerCheck {
  /** Deno's permission name: `read`, `write`, `net`, `env`, `run`, `sys`, `ffi`, `import`, … */
  readonly permission: string;
  /** The value as Deno sent it; `null` for "all of this kind". */
  readonly value: string | null;
  /**
   * For `read` and `write`: the absolute normalised path (`lexical`), and
   * where it really leads (`real`), or `undefined` when it could not be
   * resolved (a loop of links, an unreadable dir, an unknown working dir).
   */
  readonly path?: { readonly lexical: string; readonly real: string | undefined };
  /** For `net`: every address the host resolved to (the host itself for a literal). */
  readonly addresses?: readonly string[];
}

/** The answer to one check. */
export interface BrokerDecision {
  /** Whether Deno may go ahead. */
  readonly allowed: boolean;
  /** The kind, as a violation names it (`sys` for a permission Lily does not know). */
  readonly kind: ViolationKind;
  /** What it was for: the real path, `host:port`, the name, or `*` for all. */
  readonly target: string;
  /** Why, in words. */
  readonly reason: string;
}

const KINDS: readonly ViolationKind[] = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "sys",
  "ffi",
  "import",
];

/**
 * The kind a violation names for one of Deno's permission names.
 *
 * @param permission Deno's permission name, as a check sends it.
 * @returns The same name when Lily knows it, else `sys`.
 */
export function accessKind(permission: string): ViolationKind {
  return KINDS.find((k) => k === permission) ?? "sys";
}

function under(root: string, path: string): boolean {
  if (root === "/") return path.startsWith("/");
  return path === root || path.startsWith(`${root}/`);
}

function decidePath(
  rules: AccessRules,
  kind: "read" | "write",
  request: BrokerCheck,
): BrokerDecision {
  const path = request.path;
  const target = path?.real ?? path?.lexical ?? "*";
  const no = (reason: string): BrokerDecision => ({ allowed: false, kind, target, reason });
  if (request.value === null || !path) return no(`${kind} access to every path is never granted`);
  if (path.real === undefined) {
    return no(`${path.lexical} could not be resolved to where it really leads`);
  }
  const roots = kind === "read" ? rules.read : rules.write;
  for (const p of [path.lexical, path.real]) {
    const staged = (rules.staged ?? []).some((s) => under(s, p));
    const denied = staged ? undefined : rules.deny.find((d) => under(d, p));
    if (denied) return no(`${p} is under the denied path ${denied}`);
    const fixed = kind === "write" ? rules.readOnly.find((r) => under(r, p)) : undefined;
    if (fixed) return no(`${p} is under the read-only path ${fixed}`);
    if (!roots.some((r) => under(r, p))) {
      return no(
        p === path.lexical
          ? `${p} is outside every ${kind} path of the policy`
          : `${path.lexical} leads to ${p}, outside every ${kind} path of the policy`,
      );
    }
  }
  return { allowed: true, kind, target, reason: `${path.real} is a ${kind} path of the policy` };
}

function parseNetValue(value: string): NetTarget | undefined {
  const m = /^(\[[^\]]+\]|[^:]+)(?::([0-9]{1,5}))?$/.exec(value);
  if (!m) return undefined;
  const [, host = "", port] = m;
  return { host, port: port === undefined ? undefined : Number(port) };
}

function decideNet(rules: AccessRules, request: BrokerCheck): BrokerDecision {
  const target = request.value === null ? undefined : parseNetValue(request.value);
  if (!target) {
    const shown = request.value ?? "*";
    return {
      allowed: false,
      kind: "net",
      target: shown,
      reason: request.value === null
        ? "net access to every host is never granted"
        : `${shown} is not a host or host:port the net rules can allow`,
    };
  }
  const decision = decideNetAccess(rules.net, target, request.addresses ?? []);
  return { ...decision, kind: "net", target: netLabel(target) };
}

function decideNamed(
  kind: "env" | "sys",
  names: readonly string[],
  value: string | null,
): BrokerDecision {
  if (value === null) {
    return { allowed: false, kind, target: "*", reason: `${kind} access to all is never granted` };
  }
  const allowed = names.includes(value);
  return {
    allowed,
    kind,
    target: value,
    reason: allowed ? `${value} is listed` : `${value} is not among the allowed ${kind} names`,
  };
}

function decideRun(rules: AccessRules, value: string | null): BrokerDecision {
  const target = value ?? "*";
  if (rules.run === "any") {
    return { allowed: true, kind: "run", target, reason: "the policy allows any program" };
  }
  if (value === null) {
    return {
      allowed: false,
      kind: "run",
      target,
      reason: "Deno does not name the program it spawns, and the policy allows only listed tools",
    };
  }
  const allowed = rules.run.includes(value);
  return {
    allowed,
    kind: "run",
    target,
    reason: allowed ? `${value} is a listed tool` : `${value} is not among the listed tools`,
  };
}

/**
 * Decides one permission check.
 *
 * @example
 * ```ts
 * import { decideBrokerCheck } from "./broker_decision.ts";
 * const rules = {
 *   read: ["/ws"],
 *   write: [],
 *   deny: [],
 *   readOnly: [],
 *   net: [],
 *   env: [],
 *   run: [],
 *   sys: [],
 * };
 * decideBrokerCheck(rules, {
 *   permission: "read",
 *   value: "link",
 *   path: { lexical: "/ws/link", real: "/etc/passwd" },
 * }).allowed; // false
 * ```
 *
 * @param rules What the step may do.
 * @param request The check, its path or addresses resolved.
 * @returns Allowed or not, the kind and target a violation would name, and why.
 */
export function decideBrokerCheck(rules: AccessRules, request: BrokerCheck): BrokerDecision {
  switch (request.permission) {
    case "read":
    case "write":
      return decidePath(rules, request.permission, request);
    case "net":
      return decideNet(rules, request);
    case "env":
      return decideNamed("env", rules.env, request.value);
    case "sys":
      return decideNamed("sys", rules.sys, request.value);
    case "run":
      return decideRun(rules, request.value);
  }
  return {
    allowed: false,
    kind: accessKind(request.permission),
    target: request.value ?? "*",
    reason: `${request.permission} access is never granted to a deno step`,
  };
}
