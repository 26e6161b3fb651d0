/**
 * The bridge inside a sandbox between TCP and the kernel's network proxy.
 *
 * A sandbox with its own network namespace has only a loopback interface,
 * and most programs reach a proxy by TCP (`HTTP_PROXY=http://127.0.0.1:PORT`),
 * not by a Unix socket. So a sandboxed command whose policy allows some
 * network runs under a small Deno program, started inside the sandbox from a
 * `data:` URL (no file to install or bind): it listens on
 * `127.0.0.1:PORT` in the sandbox's namespace, relays each connection to the
 * proxy's Unix socket bound into the sandbox, starts the command once it
 * listens (so the command's first connection finds it), passes SIGTERM,
 * SIGINT and SIGHUP on to it, and exits with the command's exit code. The
 * bridge decides nothing: the proxy outside does. Its own Deno permissions
 * are listening on that port, the socket (Deno 2.9 checks a Unix socket
 * connection as net access to `unix:<path>` and read and write access to the
 * path), and running the command.
 *
 * Cost, measured on this project's 2-core test machine with Deno 2.9.6
 * (`bench/net_bridge_bench.ts`): see `docs/benchmarks.md`.
 *
 * @module
 */

/** The port the bridge listens on inside the sandbox (the namespace is the sandbox's own). */
export const NET_BRIDGE_PORT = 3128;

/** The bridge program, plain JavaScript run from a `data:` URL: `<port> <socket> <argv…>`. */
const BRIDGE_SOURCE = `
const [port, socket, ...argv] = Deno.args;
async function writeAll(conn, bytes) {
  let done = 0;
  while (done < bytes.length) done += await conn.write(bytes.subarray(done));
}
async function pump(from, to) {
  const buf = new Uint8Array(65536);
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
function close(conn) {
  try { conn?.close(); } catch { /* closed */ }
}
async function relay(client) {
  let proxy;
  try {
    proxy = await Deno.connect({ transport: "unix", path: socket });
    const up = pump(client, proxy);
    const down = pump(proxy, client);
    await Promise.race([down, up.then((clean) => clean ? down : undefined)]);
  } catch {
    /* the proxy or the client went away */
  } finally {
    close(proxy);
    close(client);
  }
}
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(port) });
(async () => {
  for await (const client of listener) relay(client);
})();
const child = new Deno.Command(argv[0], {
  args: argv.slice(1),
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  Deno.addSignalListener(signal, () => {
    try { child.kill(signal); } catch { /* exited */ }
  });
}
const status = await child.status;
Deno.exit(status.code);
`;

/** Options of {@linkcode netBridgeArgv}. */
export interface NetBridgeOptions {
  /** The `deno` binary, as visible inside the sandbox. */
  readonly deno: string;
  /** The proxy's Unix socket, as bound inside the sandbox. */
  readonly socketPath: string;
  /**
   * The TCP port to listen on inside the sandbox.
   * @default {NET_BRIDGE_PORT}
   */
  readonly port?: number;
}

/**
 * The argv that runs `argv` behind the bridge, to be run inside the sandbox.
 *
 * @example
 * ```ts
 * import { netBridgeArgv } from "./net_bridge.ts";
 * const argv = netBridgeArgv(["curl", "https://example.com"], {
 *   deno: "/usr/bin/deno",
 *   socketPath: "/run/lily/net.sock",
 * });
 * argv[0]; // "/usr/bin/deno"
 * ```
 *
 * @param argv The command to run once the bridge listens.
 * @param options The deno binary, the socket and the port.
 * @returns `deno run … data:… <port> <socket> <argv…>`.
 */
export function netBridgeArgv(argv: readonly string[], options: NetBridgeOptions): string[] {
  const port = options.port ?? NET_BRIDGE_PORT;
  return [
    options.deno,
    "run",
    "--quiet",
    "--no-prompt",
    "--no-config",
    "--no-lock",
    `--allow-net=127.0.0.1:${port},unix:${options.socketPath}`,
    `--allow-read=${options.socketPath}`,
    `--allow-write=${options.socketPath}`,
    "--allow-run",
    `data:text/javascript;base64,${btoa(BRIDGE_SOURCE)}`,
    String(port),
    options.socketPath,
    ...argv,
  ];
}

/**
 * The variables that point a command at the bridge (both spellings, as
 * curl, wget, Python, Node's `undici` and Go read different ones).
 *
 * @param port The bridge's port.
 * @returns `HTTP_PROXY`, `HTTPS_PROXY`, `http_proxy`, `https_proxy`, `ALL_PROXY` and `all_proxy`.
 */
export function netBridgeEnv(port: number = NET_BRIDGE_PORT): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    ALL_PROXY: url,
    all_proxy: url,
  };
}
