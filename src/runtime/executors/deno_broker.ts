/**
 * The kernel as Deno's permission broker for `deno` steps.
 *
 * Deno 2.9 (unstable) connects to the Unix socket named by
 * `DENO_PERMISSION_BROKER_PATH` at start-up and, for every permission check
 * from then on, writes one JSON line
 * `{"v":1,"pid":…,"id":…,"datetime":…,"permission":"read","value":"./a.txt"}`
 * and blocks until it reads `{"id":…,"result":"allow"|"deny","reason":…}`
 * (the reason ends up in the program's `NotCapable` error). A malformed
 * answer or a closed socket ends the Deno process (exit code 87). While a
 * broker is set, Deno ignores its `--allow-*`/`--deny-*` flags, so the
 * broker decides everything ({@linkcode decideBrokerCheck}); Deno also prints
 * "Warning Permission broker is an experimental feature" to its stderr.
 *
 * For each path it resolves what Deno cannot: where the path really leads,
 * in the step's own view of the filesystem. The check's `pid` is the pid in
 * the step's PID namespace; the broker finds that process among the
 * descendants of the process it was told to {@linkcode DenoBroker.track}
 * (`NSpid` in `/proc/<pid>/status`), reads its working directory
 * (`/proc/<pid>/cwd`, for relative paths: the program may have called
 * `Deno.chdir`) and walks the path under its root (`/proc/<pid>/root`),
 * component by component, following each symbolic link as the kernel would
 * inside the sandbox (at most 40, like Linux). A check from a process it
 * cannot find, or a path it cannot resolve, is denied.
 *
 * Every decision is told to `onAccess`; every denial also to `onViolation`
 * (`decidedBy: "broker"`).
 *
 * @module
 */

import { posix } from "node:path";
import type { PolicyViolation } from "../../policy/policy_violation.ts";
import {
  accessKind,
  type AccessRules,
  type BrokerDecision,
  decideBrokerCheck,
} from "../../policy/broker_decision.ts";
import { type ResolveHost, resolveHost } from "./net_proxy.ts";

/** One decision, as {@linkcode DenoBrokerOptions.onAccess} is told it. */
export interface AccessRecord extends BrokerDecision {
  /** Deno's permission name, as sent. */
  readonly permission: string;
  /** The value, as sent (`null`: all of the kind). */
  readonly value: string | null;
  /** The asking process's pid, in the step's PID namespace. */
  readonly pid: number;
  /** When it was decided (ISO-8601, UTC). */
  readonly occurred_at: string;
}

/** Options of {@linkcode startDenoBroker}. */
export interface DenoBrokerOptions {
  /** Where to listen: a path that does not exist yet, at most 107 bytes. */
  readonly socketPath: string;
  /** What the step may do. */
  readonly rules: AccessRules;
  /** Told every decision, allowed or not. */
  readonly onAccess?: (record: AccessRecord) => void;
  /** Told every denial, as a violation decided by the broker. */
  readonly onViolation?: (violation: PolicyViolation) => void;
  /**
   * Resolves the host of a `net` check that is not an address literal.
   * @default {`localhost` to `127.0.0.1` and `::1`; any other name by `Deno.resolveDns`}
   */
  readonly resolve?: ResolveHost;
  /**
   * How long a check waits for {@linkcode DenoBroker.track} before it is denied, in ms.
   * @default {5000}
   */
  readonly trackTimeoutMs?: number;
}

/** A running broker. */
export interface DenoBroker {
  /** The Unix socket it listens on. */
  readonly socketPath: string;
  /** The variable that points Deno at it: `DENO_PERMISSION_BROKER_PATH`. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Tells the broker the host pid of the process that runs the step (`bwrap`
   * or `deno` itself); checks are answered for it and its descendants only.
   */
  track(pid: number): void;
  /** Stops listening, closes every connection and removes the socket. */
  close(): Promise<void>;
}

const MAX_LINE = 64 * 1024;
const MAX_LINKS = 40;
const MAX_PROCESSES = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function nsPidOf(hostPid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${hostPid}/status`);
    const line = status.split("\n").find((l) => l.startsWith("NSpid:"));
    const last = line?.split(/\s+/).filter((f) => f !== "").at(-1);
    return last === undefined ? undefined : Number(last);
  } catch {
    return undefined;
  }
}

function childrenOf(hostPid: number): number[] {
  const found: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${hostPid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${hostPid}/task/${task.name}/children`);
      found.push(...text.split(/\s+/).filter((f) => f !== "").map(Number));
    }
  } catch {
    // The process exited meanwhile.
  }
  return found;
}

/** The host pid of the descendant of `root` whose innermost pid is `nsPid` (breadth first, bounded). */
function findHostPid(root: number, nsPid: number): number | undefined {
  const queue = [root];
  for (let seen = 0; queue.length > 0 && seen < MAX_PROCESSES; seen++) {
    const pid = queue.shift()!;
    if (nsPidOf(pid) === nsPid) return pid;
    queue.push(...childrenOf(pid));
  }
  return undefined;
}

/**
 * Where `path` (absolute, in the process's view) really leads under
 * `root` (the process's `/proc/<pid>/root`); `undefined` when a component
 * cannot be read or links loop.
 */
function realPathIn(root: string, path: string): string | undefined {
  const pending = path.split("/").filter((s) => s !== "");
  let resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const segment = pending.shift()!;
    if (segment === ".") continue;
    if (segment === "..") {
      resolved.pop();
      continue;
    }
    const candidate = `/${[...resolved, segment].join("/")}`;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(`${root}${candidate}`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        return posix.normalize(`/${[...resolved, segment, ...pending].join("/")}`);
      }
      return undefined;
    }
    if (info.isSymlink) {
      if (++links > MAX_LINKS) return undefined;
      const target = Deno.readLinkSync(`${root}${candidate}`);
      if (target.startsWith("/")) resolved = [];
      pending.unshift(...target.split("/").filter((s) => s !== ""));
      continue;
    }
    resolved.push(segment);
  }
  return `/${resolved.join("/")}`;
}

interface BrokerRequest {
  readonly id: number;
  readonly pid: number;
  readonly permission: string;
  readonly value: string | null;
}

function parseRequest(line: string): BrokerRequest | undefined {
  try {
    const req = JSON.parse(line);
    const valid = typeof req?.id === "number" && typeof req.pid === "number" &&
      typeof req.permission === "string" && (req.value === null || typeof req.value === "string");
    return valid ? req : undefined;
  } catch {
    return undefined;
  }
}

/** Where a path check really leads, in the view of the process `hostPid` (when known). */
function resolvePath(
  hostPid: number | undefined,
  written: string,
): { lexical: string; real: string | undefined } {
  if (hostPid === undefined) return { lexical: posix.normalize(written), real: undefined };
  const cwd = posix.isAbsolute(written) ? "/" : Deno.readLinkSync(`/proc/${hostPid}/cwd`);
  const lexical = posix.resolve(cwd, written);
  return { lexical, real: realPathIn(`/proc/${hostPid}/root`, lexical) };
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // Already closed.
  }
}

class BrokerServer implements DenoBroker {
  readonly socketPath: string;
  readonly env: Readonly<Record<string, string>>;
  readonly #options: DenoBrokerOptions;
  readonly #resolve: ResolveHost;
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #serving = new Set<Promise<void>>();
  readonly #hostPids = new Map<number, number>();
  readonly #rootKnown: Promise<void>;
  readonly #accepting: Promise<void>;
  #root: number | undefined;
  #tracked: () => void = () => {};

  constructor(options: DenoBrokerOptions) {
    this.#options = options;
    this.#resolve = options.resolve ?? resolveHost;
    this.socketPath = options.socketPath;
    this.env = { DENO_PERMISSION_BROKER_PATH: options.socketPath };
    this.#rootKnown = new Promise<void>((resolve) => this.#tracked = resolve);
    this.#listener = Deno.listen({ transport: "unix", path: options.socketPath });
    this.#accepting = this.#accept();
  }

  track(pid: number): void {
    this.#root = pid;
    this.#tracked();
  }

  async close(): Promise<void> {
    closeQuietly(this.#listener);
    for (const conn of this.#conns) closeQuietly(conn);
    this.#tracked();
    await this.#accepting;
    await Promise.allSettled([...this.#serving]);
    await Deno.remove(this.socketPath).catch(() => {});
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        const running = this.#serve(conn);
        this.#serving.add(running);
        running.finally(() => this.#serving.delete(running));
      }
    } catch {
      // The listener was closed.
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(MAX_LINE);
    let pending = "";
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        pending += decoder.decode(buf.subarray(0, n), { stream: true });
        let newline;
        while ((newline = pending.indexOf("\n")) >= 0) {
          const req = parseRequest(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
          // An unreadable check cannot be answered by id: closing ends the Deno process.
          if (!req) return;
          const reply = encoder.encode(await this.#answer(req));
          for (let done = 0; done < reply.length;) done += await conn.write(reply.subarray(done));
        }
        if (pending.length > MAX_LINE) return;
      }
    } catch {
      // The Deno process went away.
    } finally {
      this.#conns.delete(conn);
      closeQuietly(conn);
    }
  }

  async #answer(req: BrokerRequest): Promise<string> {
    let decision: BrokerDecision;
    try {
      decision = await this.#decide(req);
    } catch {
      // The asking process exited, or its /proc entries vanished, mid-check.
      decision = {
        allowed: false,
        kind: accessKind(req.permission),
        target: req.value ?? "*",
        reason: "the broker could not resolve this check",
      };
    }
    const occurred_at = new Date().toISOString();
    const { permission, value, pid } = req;
    this.#options.onAccess?.({ ...decision, permission, value, pid, occurred_at });
    if (!decision.allowed) {
      this.#options.onViolation?.({
        kind: decision.kind,
        target: decision.target,
        decidedBy: "broker",
        message: decision.reason,
      });
    }
    const reply = decision.allowed
      ? { id: req.id, result: "allow" }
      : { id: req.id, result: "deny", reason: `Lily policy: ${decision.reason}` };
    return `${JSON.stringify(reply)}\n`;
  }

  async #decide(req: BrokerRequest): Promise<BrokerDecision> {
    const rules = this.#options.rules;
    if ((req.permission === "read" || req.permission === "write") && req.value !== null) {
      const path = resolvePath(await this.#hostPidFor(req.pid), req.value);
      return decideBrokerCheck(rules, { ...req, path });
    }
    if (req.permission === "net" && req.value !== null) {
      const [, written = ""] = /^(\[[^\]]+\]|[^:]+)/.exec(req.value) ?? [];
      const host = written.replace(/^\[|\]$/g, "");
      const literal = /^[0-9.]+$/.test(host) || host.includes(":");
      const addresses = literal ? [host] : await this.#resolve(host.toLowerCase()).catch(() => []);
      return decideBrokerCheck(rules, { ...req, addresses });
    }
    return decideBrokerCheck(rules, req);
  }

  async #hostPidFor(nsPid: number): Promise<number | undefined> {
    if (this.#root === undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise((r) =>
        timer = setTimeout(r, this.#options.trackTimeoutMs ?? 5000)
      );
      await Promise.race([this.#rootKnown, timeout]);
      clearTimeout(timer);
    }
    if (this.#root === undefined) return undefined;
    const cached = this.#hostPids.get(nsPid);
    if (cached !== undefined && nsPidOf(cached) === nsPid) return cached;
    const found = findHostPid(this.#root, nsPid);
    if (found !== undefined) this.#hostPids.set(nsPid, found);
    return found;
  }
}

/**
 * Starts the broker on `options.socketPath`.
 *
 * @example
 * ```ts ignore
 * import { startDenoBroker } from "./deno_broker.ts";
 * const broker = startDenoBroker({
 *   socketPath: "/tmp/lily-broker-x/broker.sock",
 *   rules: { read: ["/ws"], write: [], deny: [], readOnly: [], net: [], env: [], run: [], sys: [] },
 *   onViolation: (v) => console.log(v.kind, v.target, v.message),
 * });
 * const child = new Deno.Command("deno", { args: ["run", "main.ts"], env: broker.env }).spawn();
 * broker.track(child.pid);
 * await child.status;
 * await broker.close();
 * ```
 *
 * @param options The socket path, the rules and the callbacks.
 * @returns The running broker.
 * @throws {Deno.errors.AddrInUse} When something already exists at the socket path.
 */
export function startDenoBroker(options: DenoBrokerOptions): DenoBroker {
  return new BrokerServer(options);
}
