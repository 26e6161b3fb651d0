/**
 * The network allowlist of a policy (`net:`), as a pure decision: may a
 * step connect to `host:port`, given the addresses the host resolved to?
 *
 * A rule is `host` (any port), `host:port`, `*.domain` or `*.domain:port`
 * (every name under `domain`, not `domain` itself); an IPv6 address is
 * written in brackets (`[::1]:8080`). Names compare case-insensitively,
 * without a trailing dot.
 *
 * Loopback, link-local, private and other non-public addresses (the IANA
 * special-purpose registries, RFC 6890: `0/8`, `10/8`, `100.64/10`,
 * `127/8`, `169.254/16`, `172.16/12`, `192.0.0/24`, `192.168/16`,
 * `198.18/15`, `224/4`, `240/4`; `::`, `::1`, `fc00::/7`, `fe80::/10`,
 * `ff00::/8`, and IPv4 addresses mapped or translated into IPv6) are
 * reachable only through a rule that names that very address, or the name
 * `localhost` for a loopback address. A name that matches a rule but
 * resolves to such an address is refused, so a public name re-pointed at
 * `127.0.0.1` (DNS rebinding) reaches nothing: the caller resolves once,
 * decides on every address, and connects to a checked address.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";

/** One parsed `net:` rule. */
export interface NetRule {
  /** The rule as written. */
  readonly source: string;
  /** The host, lower-case, without brackets or trailing dot; for a wildcard, the domain after `*.`. */
  readonly host: string;
  /** The port, or `undefined` for any port. */
  readonly port?: number;
  /** `true` for `*.domain`: any name under `host`. */
  readonly wildcard: boolean;
}

/** A connection a step asked for. */
export interface NetTarget {
  /** The host name or address, as asked for. */
  readonly host: string;
  /** The TCP port, 1–65535, or `undefined` when no port is asked for (then only a rule without one matches). */
  readonly port?: number;
}

/** The answer to one connection. */
export interface NetDecision {
  /** Whether the connection may be made. */
  readonly allowed: boolean;
  /** Why, in words: the rule that allowed it, or what it failed. */
  readonly reason: string;
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/;

function normalHost(host: string): string {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

function parsePort(text: string, rule: string): number {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new UsageError(
      `Invalid net rule ${JSON.stringify(rule)}: the port must be a number from 1 to 65535`,
    );
  }
  return port;
}

/**
 * Parses one `net:` rule.
 *
 * @example
 * ```ts
 * import { parseNetRule } from "./net_allow.ts";
 * parseNetRule("*.example.com:443"); // { host: "example.com", port: 443, wildcard: true, … }
 * ```
 *
 * @param rule `host`, `host:port`, `*.domain`, `*.domain:port`, `[v6]` or `[v6]:port`.
 * @returns The rule, host normalised.
 * @throws {UsageError} When the rule is none of these.
 */
export function parseNetRule(rule: string): NetRule {
  let host = rule;
  let port: number | undefined;
  const bracketed = /^(\[[^\]]+\])(?::(.*))?$/.exec(rule);
  if (bracketed) {
    const [, inBrackets = "", portText] = bracketed;
    host = inBrackets;
    if (portText !== undefined) port = parsePort(portText, rule);
  } else if ((rule.match(/:/g) ?? []).length === 1) {
    const at = rule.lastIndexOf(":");
    host = rule.slice(0, at);
    port = parsePort(rule.slice(at + 1), rule);
  }
  const wildcard = host.startsWith("*.");
  const name = normalHost(wildcard ? host.slice(2) : host);
  const valid = ipBytes(name) !== undefined
    ? !wildcard
    : name.length > 0 && name.length <= 253 && name.split(".").every((l) => LABEL.test(l));
  if (!valid) {
    throw new UsageError(
      `Invalid net rule ${JSON.stringify(rule)}: expected host, host:port, *.domain or ` +
        "*.domain:port (an IPv6 address in brackets)",
    );
  }
  return { source: rule, host: name, port, wildcard };
}

/**
 * Parses every rule of a `net:` list.
 *
 * @param rules The list as the policy gives it.
 * @returns The parsed rules, in order.
 * @throws {UsageError} Naming the first invalid rule.
 */
export function parseNetRules(rules: readonly string[]): NetRule[] {
  return rules.map(parseNetRule);
}

function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function ipv6Bytes(text: string): number[] | undefined {
  let head = text;
  let tail: number[] = [];
  const [, v6part = "", v4part = ""] = /^(.*:)([0-9.]+)$/.exec(text) ?? [];
  if (v4part.includes(".")) {
    const bytes = ipv4Bytes(v4part);
    if (!bytes) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = bytes;
    head = v6part.endsWith("::") ? v6part : v6part.slice(0, -1);
    tail = [(a << 8) | b, (c << 8) | d];
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const [first = "", second] = halves;
  const left = groups(first);
  const right = second === undefined ? [] : groups(second);
  if (![...left, ...right].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const fixed = left.length + right.length + tail.length;
  if (halves.length === 1 ? fixed !== 8 : fixed > 7) return undefined;
  const words = [
    ...left.map((g) => parseInt(g, 16)),
    ...Array(8 - fixed).fill(0),
    ...right.map((g) => parseInt(g, 16)),
    ...tail,
  ];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** The bytes of an IPv4 (4) or IPv6 (16) address literal, or `undefined` for a name. */
function ipBytes(host: string): number[] | undefined {
  return ipv4Bytes(host) ?? (host.includes(":") ? ipv6Bytes(host) : undefined);
}

const V4_SPECIAL: readonly [number, number, number, string][] = [
  // [first, second-min, second-max, what] over the first two bytes.
  [0, 0, 255, "unspecified"],
  [10, 0, 255, "private"],
  [100, 64, 127, "shared (carrier-grade NAT)"],
  [127, 0, 255, "loopback"],
  [169, 254, 254, "link-local"],
  [172, 16, 31, "private"],
  [192, 168, 168, "private"],
  [198, 18, 19, "benchmarking"],
];

function v4Special(bytes: readonly number[]): string | undefined {
  const [a = 0, b = 0, c = 0] = bytes;
  for (const [first, min, max, what] of V4_SPECIAL) {
    if (a === first && b >= min && b <= max) return what;
  }
  if (a === 192 && b === 0 && c === 0) return "IETF protocol";
  if (a >= 224) return a < 240 ? "multicast" : "reserved";
  return undefined;
}

/**
 * What kind of non-public address `address` is, if it is one.
 *
 * @param address An IPv4 or IPv6 address literal (IPv6 with or without brackets).
 * @returns `loopback`, `private`, `link-local`, … or `undefined` for a public
 * address; `not an address` for anything that is not an address literal.
 */
export function specialAddressKind(address: string): string | undefined {
  const b = ipBytes(normalHost(address));
  if (!b) return "not an address";
  if (b.length === 4) return v4Special(b);
  const zeroPrefix = (n: number) => b.slice(0, n).every((x) => x === 0);
  const [b0 = 0, b1 = 0] = b;
  const last = b[15] ?? 0;
  if (zeroPrefix(15) && last <= 1) return last === 1 ? "loopback" : "unspecified";
  if (zeroPrefix(10) && b[10] === 0xff && b[11] === 0xff) return v4Special(b.slice(12));
  const nat64 = b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b &&
    b.slice(4, 12).every((x) => x === 0);
  if (nat64) return v4Special(b.slice(12));
  if ((b0 & 0xfe) === 0xfc) return "private";
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return "link-local";
  if (b0 === 0xff) return "multicast";
  return undefined;
}

function sameAddress(a: string, b: string): boolean {
  const x = ipBytes(normalHost(a));
  const y = ipBytes(normalHost(b));
  return x !== undefined && y !== undefined && x.length === y.length &&
    x.every((v, i) => v === y[i]);
}

function ruleMatches(rule: NetRule, host: string, port: number | undefined): boolean {
  if (rule.port !== undefined && rule.port !== port) return false;
  if (rule.wildcard) return host.endsWith(`.${rule.host}`);
  return ipBytes(rule.host) ? sameAddress(rule.host, host) : rule.host === host;
}

/** A rule names a special address explicitly: the address itself, or `localhost` for loopback. */
function namesExplicitly(rule: NetRule, address: string, kind: string): boolean {
  if (rule.wildcard) return false;
  return sameAddress(rule.host, address) || (rule.host === "localhost" && kind === "loopback");
}

/**
 * How a target is written in messages and violations: `host:port`, an IPv6
 * host in brackets, or the bare host when no port is asked for.
 *
 * @param target The host and port.
 * @returns The label, host normalised.
 */
export function netLabel(target: NetTarget): string {
  const host = normalHost(target.host);
  const shown = host.includes(":") ? `[${host}]` : host;
  return target.port === undefined ? shown : `${shown}:${target.port}`;
}

/**
 * Decides one connection against the allowlist.
 *
 * @example
 * ```ts
 * import { decideNetAccess, parseNetRules } from "./net_allow.ts";
 * const rules = parseNetRules(["127.0.0.1:8080", "*.example.com"]);
 * decideNetAccess(rules, { host: "127.0.0.1", port: 8080 }, ["127.0.0.1"]).allowed; // true
 * decideNetAccess(rules, { host: "api.example.com", port: 443 }, ["127.0.0.1"]).allowed; // false
 * ```
 *
 * @param rules The parsed allowlist; empty allows nothing.
 * @param target The host and port asked for.
 * @param addresses Every address the host resolved to (the host itself for a
 * literal); each must pass, so the caller may connect to any of them.
 * @returns Allowed or not, and why.
 */
export function decideNetAccess(
  rules: readonly NetRule[],
  target: NetTarget,
  addresses: readonly string[],
): NetDecision {
  const host = normalHost(target.host);
  const label = netLabel(target);
  const matching = rules.filter((r) => ruleMatches(r, host, target.port));
  const [allowedBy] = matching;
  if (!allowedBy) {
    return {
      allowed: false,
      reason: rules.length === 0
        ? `${label} is not allowed: the policy allows no network (net: [])`
        : `${label} matches no rule of net: [${rules.map((r) => r.source).join(", ")}]`,
    };
  }
  if (addresses.length === 0) return { allowed: false, reason: `${label} did not resolve` };
  for (const address of addresses) {
    const kind = specialAddressKind(address);
    if (kind === "not an address") {
      return { allowed: false, reason: `${label} resolved to ${address}, which is not an address` };
    }
    if (kind !== undefined && !matching.some((r) => namesExplicitly(r, address, kind))) {
      return {
        allowed: false,
        reason: `${label} resolves to ${address}, a ${kind} address, which only a rule naming ` +
          "that address allows",
      };
    }
  }
  return { allowed: true, reason: `${label} is allowed by ${allowedBy.source}` };
}
