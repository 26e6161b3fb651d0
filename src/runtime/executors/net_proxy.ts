/**
 * The network allowlist of sandboxed commands: an HTTP proxy the kernel runs
 * outside the sandbox, on a Unix socket that is bound into it. The sandbox
 * has a network namespace of its own (`--unshare-net`), so the proxy is the
 * only way out, and it decides each connection by the policy's `net:` rules
 * ({@linkcode decideNetAccess}).
 *
 * It speaks HTTP/1.1 (RFC 9110 §9.3.6, RFC 9112 §3.2.2): `CONNECT host:port`
 * (answered `200`, then bytes are relayed both ways, TLS or not) and
 * absolute-form requests (`GET http://host:port/path`), which are forwarded
 * in origin form with `Connection: close` and the URL's authority as `Host`,
 * so one client connection carries one request to one host and one site. The host is resolved once (`A` and `AAAA`), every
 * address is checked, and the proxy connects to a checked address, never to
 * the name: a name that resolves again elsewhere (DNS rebinding) does not
 * move the connection. A refused connection is answered `403` with the
 * reason, and reported as an {@linkcode PolicyViolation} (`kind: "net"`,
 * `decidedBy: "proxy"`).
 *
 * Bounds: a request head of at most 16 KiB, read within 10 s; at most
 * `maxConnections` connections relayed at once (up to as many more are
 * answered `503`, any beyond that closed unanswered).
 *
 * @module
 */

import type { PolicyViolation } from "../../policy/policy_violation.ts";
import {
  decideNetAccess,
  netLabel,
  type NetRule,
  type NetTarget,
  parseNetRules,
} from "../../policy/net_allow.ts";

/** Resolves a host name to its addresses. */
export type ResolveHost = (host: string) => Promise<string[]>;

/** Options of {@linkcode startNetProxy}. */
export interface NetProxyOptions {
  /** Where to listen: a path that does not exist yet (a Unix socket is created there). */
  readonly socketPath: string;
  /** The policy's `net:` rules. */
  readonly allow: readonly string[];
  /** Told each refused connection, as it is refused. */
  readonly onViolation?: (violation: PolicyViolation) => void;
  /**
   * Resolves a name that is not an address literal.
   * @default {`localhost` to `127.0.0.1` and `::1`; any other name by `Deno.resolveDns` (`A` and `AAAA`)}
   */
  readonly resolve?: ResolveHost;
  /**
   * Connections relayed at once; up to as many more are answered `503`,
   * any beyond that closed unanswered.
   * @default {64}
   */
  readonly maxConnections?: number;
}

/** A running proxy. */
export interface NetProxy {
  /** The Unix socket it listens on. */
  readonly socketPath: string;
  /** Stops listening, cuts every relayed connection and removes the socket. */
  close(): Promise<void>;
}

const MAX_HEAD = 16 * 1024;
const HEAD_TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Resolves a host as the proxy and the broker do by default: `localhost` to
 * `127.0.0.1` and `::1` (Deno's resolver does not read `/etc/hosts`), any
 * other name by `Deno.resolveDns`, `A` and `AAAA` records.
 *
 * @param host A host name (not an address literal).
 * @returns Every address found; none when the name does not resolve.
 */
export async function resolveHost(host: string): Promise<string[]> {
  if (host === "localhost") return ["127.0.0.1", "::1"];
  const found: string[] = [];
  for (const type of ["A", "AAAA"] as const) {
    try {
      found.push(...await Deno.resolveDns(host, type));
    } catch {
      // A name may have no record of one type; no address at all is refused.
    }
  }
  return found;
}

function isAddressLiteral(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(":");
}

/** The request head and the bytes read past it, or why there is none. */
async function readHead(
  conn: Deno.Conn,
): Promise<{ head: string; rest: Uint8Array } | { error: 400 | 431 }> {
  const buf = new Uint8Array(MAX_HEAD);
  let filled = 0;
  while (filled < MAX_HEAD) {
    const n = await conn.read(buf.subarray(filled));
    if (n === null) return { error: 400 };
    filled += n;
    const text = decoder.decode(buf.subarray(0, filled));
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const headBytes = encoder.encode(text.slice(0, end + 4)).length;
      return { head: text.slice(0, end + 4), rest: buf.slice(headBytes, filled) };
    }
  }
  return { error: 431 };
}

interface ParsedRequest {
  readonly target: Required<NetTarget>;
  /** For absolute-form: the head to send upstream; for CONNECT: undefined. */
  readonly forward?: string;
}

function parseTarget(authority: string, defaultPort?: number): Required<NetTarget> | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]/]+)(?::([0-9]{1,5}))?$/.exec(authority);
  if (!m) return undefined;
  const [, host = "", portText] = m;
  const port = portText !== undefined ? Number(portText) : defaultPort;
  if (port === undefined || port < 1 || port > 65535) return undefined;
  return { host: host.replace(/^\[|\]$/g, "").toLowerCase(), port };
}

function parseRequest(head: string): ParsedRequest | undefined {
  const [line = "", ...headers] = head.slice(0, -4).split("\r\n");
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(line);
  if (!m) return undefined;
  const [, method = "", uri = "", version = ""] = m;
  if (method === "CONNECT") {
    const target = parseTarget(uri);
    return target && { target };
  }
  const [, authority, rest = ""] = /^http:\/\/([^/?#]+)([^#]*)$/i.exec(uri) ?? [];
  // No URL, or one with credentials in it.
  if (authority === undefined || authority.includes("@")) return undefined;
  const target = parseTarget(authority, 80);
  if (!target) return undefined;
  // The Host header is the URL's authority, so a request cannot name another
  // site served from the allowed address (virtual hosts).
  const kept = headers.filter((h) =>
    !/^(proxy-connection|proxy-authorization|connection|host):/i.test(h)
  );
  const path = rest === "" ? "/" : rest;
  const lines = [
    `${method} ${path} ${version}`,
    `Host: ${authority}`,
    ...kept,
    "Connection: close",
  ];
  return { target, forward: [...lines, "", ""].join("\r\n") };
}

async function respond(conn: Deno.Conn, status: string, body: string): Promise<void> {
  const text = `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${encoder.encode(body).length}\r\nConnection: close\r\n\r\n${body}`;
  await writeAll(conn, encoder.encode(text));
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await conn.write(bytes.subarray(done));
}

/**
 * Half-closes `conn` and reads what the client still sends (at most 1 MiB,
 * within the head timeout), so that closing does not reset the connection
 * before the client has read the answer.
 */
async function drain(conn: Deno.Conn): Promise<void> {
  await conn.closeWrite();
  const timer = setTimeout(() => closeQuietly(conn), HEAD_TIMEOUT_MS);
  try {
    const buf = new Uint8Array(64 * 1024);
    for (let total = 0; total < 1024 * 1024;) {
      const n = await conn.read(buf);
      if (n === null) break;
      total += n;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Copies `from` to `to` until EOF, then half-closes `to`. `true` on a clean EOF. */
async function pump(from: Deno.Conn, to: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      await writeAll(to, buf.subarray(0, n));
    }
    await to.closeWrite().catch(() => {});
    return true;
  } catch {
    return false;
  }
}

function closeQuietly(closable: { close(): void } | undefined): void {
  try {
    closable?.close();
  } catch {
    // Already closed by the other direction.
  }
}

async function connectAny(addresses: readonly string[], port: number): Promise<Deno.TcpConn> {
  let last: unknown;
  for (const hostname of addresses) {
    try {
      return await Deno.connect({ hostname, port });
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** Answers a connection over the limit with `503`, then closes it. */
async function tooMany(client: Deno.Conn): Promise<void> {
  try {
    await respond(client, "503 Service Unavailable", "Too many connections\n");
    await drain(client);
  } catch {
    // The client went away.
  } finally {
    closeQuietly(client);
  }
}

/** What every client connection of one proxy shares. */
interface ProxyShared {
  readonly rules: readonly NetRule[];
  readonly resolve: ResolveHost;
  readonly onViolation?: (violation: PolicyViolation) => void;
  /** Open upstream connections, closed by `close()`. */
  readonly upstreams: Set<Deno.Conn>;
}

async function refuse(
  client: Deno.Conn,
  target: NetTarget,
  reason: string,
  shared: ProxyShared,
): Promise<void> {
  shared.onViolation?.({
    kind: "net",
    target: netLabel(target),
    decidedBy: "proxy",
    message: reason,
  });
  await respond(client, "403 Forbidden", `${reason}\n`);
}

/** Reads one request from `client`, decides it, and relays it until either side closes. */
async function serveClient(client: Deno.Conn, shared: ProxyShared): Promise<void> {
  let upstream: Deno.TcpConn | undefined;
  const timer = setTimeout(() => closeQuietly(client), HEAD_TIMEOUT_MS);
  try {
    const head = await readHead(client);
    clearTimeout(timer);
    if ("error" in head) {
      const status = head.error === 431 ? "431 Request Header Fields Too Large" : "400 Bad Request";
      await respond(client, status, "Expected an HTTP/1.1 request head\n");
      return await drain(client);
    }
    const request = parseRequest(head.head);
    if (!request) {
      const expected = "Expected CONNECT host:port or an absolute http:// URL\n";
      return await respond(client, "400 Bad Request", expected);
    }
    const { target } = request;
    const addresses = isAddressLiteral(target.host)
      ? [target.host]
      : await shared.resolve(target.host).catch(() => []);
    const decision = decideNetAccess(shared.rules, target, addresses);
    if (!decision.allowed) return await refuse(client, target, decision.reason, shared);
    try {
      upstream = await connectAny(addresses, target.port);
    } catch {
      return await respond(client, "502 Bad Gateway", `Cannot connect to ${target.host}\n`);
    }
    shared.upstreams.add(upstream);
    if (request.forward === undefined) {
      await writeAll(client, encoder.encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
    } else {
      await writeAll(upstream, encoder.encode(request.forward));
    }
    if (head.rest.length > 0) await writeAll(upstream, head.rest);
    const up = pump(client, upstream);
    const down = pump(upstream, client);
    await Promise.race([down, up.then((clean) => clean ? down : undefined)]);
  } catch {
    // The client or the upstream went away mid-relay: both are closed below.
  } finally {
    clearTimeout(timer);
    closeQuietly(upstream);
    closeQuietly(client);
    if (upstream) shared.upstreams.delete(upstream);
  }
}

/**
 * Starts the proxy on `options.socketPath`.
 *
 * @example
 * ```ts ignore
 * import { startNetProxy } from "./net_proxy.ts";
 * const proxy = startNetProxy({
 *   socketPath: "/tmp/attempt/net.sock",
 *   allow: ["registry.npmjs.org:443"],
 *   onViolation: (v) => console.log(v.target, v.message),
 * });
 * // … run the sandbox with the socket bound in …
 * await proxy.close();
 * ```
 *
 * @param options The socket path, the `net:` rules, the violation callback.
 * @returns The running proxy.
 * @throws {UsageError} When a rule is invalid.
 * @throws {Deno.errors.AddrInUse} When something already exists at the socket path.
 */
export function startNetProxy(options: NetProxyOptions): NetProxy {
  const shared: ProxyShared = {
    rules: parseNetRules(options.allow),
    resolve: options.resolve ?? resolveHost,
    onViolation: options.onViolation,
    upstreams: new Set(),
  };
  const maxConnections = options.maxConnections ?? 64;
  const listener = Deno.listen({ transport: "unix", path: options.socketPath });
  const clients = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();
  const serve = (async () => {
    try {
      for await (const client of listener) {
        // Past twice the limit, not even a 503: the connection is closed at once.
        if (clients.size >= 2 * maxConnections) {
          closeQuietly(client);
          continue;
        }
        const turnAway = clients.size >= maxConnections;
        clients.add(client);
        const running = (turnAway ? tooMany(client) : serveClient(client, shared))
          .finally(() => clients.delete(client));
        handlers.add(running);
        running.finally(() => handlers.delete(running));
      }
    } catch {
      // The listener was closed.
    }
  })();

  return {
    socketPath: options.socketPath,
    async close() {
      closeQuietly(listener);
      for (const conn of [...clients, ...shared.upstreams]) closeQuietly(conn);
      await serve;
      await Promise.allSettled([...handlers]);
      await Deno.remove(options.socketPath).catch(() => {});
    },
  };
}
