import { assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { readLog, withTempDir } from "./_helpers.ts";
import { bwrapTest, PATH } from "./_executor_fixtures.ts";
import type { PolicyViolation } from "../src/policy/policy_violation.ts";
import type { BubblewrapMount } from "../src/policy/bubblewrap_mounts.ts";
import { runInBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import { startNetProxy } from "../src/runtime/executors/net_proxy.ts";
import { sandboxNetwork } from "../src/runtime/executors/sandbox_network.ts";

const DENO = Deno.execPath();

/** The host's root read-only, a private /dev and /proc, and the workspace writable. */
function hostView(ws: string): BubblewrapMount[] {
  return [
    { mode: "read-only", path: "/" },
    { mode: "devices", path: "/dev" },
    { mode: "proc", path: "/proc" },
    { mode: "writable", path: ws },
  ];
}

/** An HTTP server on 127.0.0.1 that records every request path it receives. */
async function withServer(
  fn: (port: number, received: string[], hosts: string[]) => Promise<void>,
) {
  const received: string[] = [];
  const hosts: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      received.push(new URL(req.url).pathname);
      hosts.push(req.headers.get("host") ?? "");
      return new Response("hello from the host\n");
    },
  );
  try {
    await fn(server.addr.port, received, hosts);
  } finally {
    await server.shutdown();
  }
}

/** Sends raw bytes to the proxy's socket and reads until it closes (bounded by 64 KiB). */
async function rawExchange(socketPath: string, request: string): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    await conn.write(new TextEncoder().encode(request));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (let total = 0; total < 65536;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      total += n;
    }
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  } finally {
    conn.close();
  }
}

Deno.test("the proxy relays CONNECT and absolute-form requests it allows, and refuses the rest", async () => {
  await withTempDir(async (dir) => {
    await withServer(async (port, received, hosts) => {
      const violations: PolicyViolation[] = [];
      const proxy = startNetProxy({
        socketPath: join(dir, "p.sock"),
        allow: [`127.0.0.1:${port}`, "rebound.test"],
        onViolation: (v) => violations.push(v),
        resolve: (host) => Promise.resolve(host === "rebound.test" ? ["127.0.0.1"] : []),
      });
      try {
        const absolute = await rawExchange(
          proxy.socketPath,
          `GET http://127.0.0.1:${port}/absolute HTTP/1.1\r\nHost: other-site.test\r\n` +
            "Proxy-Connection: keep-alive\r\n\r\n",
        );
        assertMatch(absolute, /^HTTP\/1\.1 200 OK[\s\S]*hello from the host/);
        const tunnel = await rawExchange(
          proxy.socketPath,
          `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n` +
            `GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        assertMatch(tunnel, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK/);
        assertEquals(received, ["/absolute", "/tunnel"]);
        assertEquals(hosts[0], `127.0.0.1:${port}`, "the Host header is the URL's authority");

        const otherPort = await rawExchange(
          proxy.socketPath,
          `CONNECT 127.0.0.1:${port + 1} HTTP/1.1\r\n\r\n`,
        );
        assertMatch(otherPort, /^HTTP\/1\.1 403 Forbidden[\s\S]*matches no rule of net/);
        const rebound = await rawExchange(
          proxy.socketPath,
          `GET http://rebound.test:${port}/rebound HTTP/1.1\r\nHost: rebound.test\r\n\r\n`,
        );
        assertMatch(rebound, /^HTTP\/1\.1 403 Forbidden[\s\S]*a loopback address/);
        const garbage = await rawExchange(proxy.socketPath, "HELLO\r\n\r\n");
        assertMatch(garbage, /^HTTP\/1\.1 400 Bad Request/);
        assertEquals(received, ["/absolute", "/tunnel"]);
        assertEquals(
          violations.map((v) => [v.kind, v.target, v.decidedBy]),
          [["net", `127.0.0.1:${port + 1}`, "proxy"], ["net", `rebound.test:${port}`, "proxy"]],
        );
      } finally {
        await proxy.close();
      }
      assertEquals(await Deno.lstat(proxy.socketPath).catch(() => "gone"), "gone");
    });
  });
});

Deno.test("the proxy bounds a request head to 16 KiB and its connections to maxConnections", async () => {
  await withTempDir(async (dir) => {
    const proxy = startNetProxy({ socketPath: join(dir, "p.sock"), allow: [], maxConnections: 1 });
    try {
      const huge = await rawExchange(
        proxy.socketPath,
        `GET http://x/ HTTP/1.1\r\nX: ${"a".repeat(20_000)}`,
      );
      assertMatch(huge, /^HTTP\/1\.1 431 /);
      const held = await Deno.connect({ transport: "unix", path: proxy.socketPath });
      try {
        // The held connection sends nothing; the next one is turned away.
        const reply = await rawExchange(proxy.socketPath, "CONNECT a.test:1 HTTP/1.1\r\n\r\n");
        assertMatch(reply, /^HTTP\/1\.1 503 Service Unavailable/);
      } finally {
        held.close();
      }
    } finally {
      await proxy.close();
    }
  });
});

/**
 * A Deno program run in the sandbox: fetches `url` (through `HTTP_PROXY`
 * when set, as Deno's fetch honours it) and prints the status or the error;
 * with `abstract`, connects to that abstract Unix socket instead.
 */
const CLIENT = `
const [mode, target] = Deno.args;
try {
  if (mode === "abstract") {
    const conn = await Deno.connect({ transport: "unix", path: "\\0" + target });
    conn.close();
    console.log("connected");
  } else {
    const res = await fetch(target);
    console.log("status", res.status, (await res.text()).trim());
  }
} catch (err) {
  console.log("error", err.name);
}
`;

async function runSandboxed(
  bwrap: string,
  ws: string,
  net: readonly string[] | "host network",
  clientArgs: string[],
): Promise<{ out: string; code: number | null; violations: PolicyViolation[] }> {
  const violations: PolicyViolation[] = [];
  const client = [DENO, "eval", "--quiet", CLIENT, ...clientArgs];
  const network = net === "host network" ? undefined : await sandboxNetwork(client, {
    net,
    deno: DENO,
    onViolation: (v) => violations.push(v),
  });
  try {
    const stdoutPath = join(ws, `out-${crypto.randomUUID()}.log`);
    const result = await runInBubblewrap(network?.argv ?? client, {
      bwrap,
      mounts: [...hostView(ws), ...network?.mounts ?? []],
      unshareNetwork: network?.unshareNetwork ?? false,
      cwd: ws,
      env: { PATH, HOME: ws, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...network?.env },
      stdoutPath,
      stderrPath: join(ws, "err.log"),
      timeoutMs: 30_000,
    });
    return { out: (await readLog(stdoutPath)).trim(), code: result.exitCode, violations };
  } finally {
    await network?.close();
  }
}

bwrapTest(
  "net: [] — a listener on 127.0.0.1 receives nothing; the same fetch on the host network does",
  async (bwrap) => {
    await withTempDir(async (ws) => {
      await withServer(async (port, received) => {
        const url = `http://127.0.0.1:${port}/secret`;
        const denied = await runSandboxed(bwrap, ws, [], ["fetch", url]);
        assertMatch(denied.out, /^error /);
        assertEquals(received, []);
        assertEquals(denied.violations, []);
        const control = await runSandboxed(bwrap, ws, "host network", ["fetch", url]);
        assertEquals(control.out, "status 200 hello from the host");
        assertEquals(received, ["/secret"]);
      });
    });
  },
);

bwrapTest(
  "net: [] — an abstract Unix socket of the host is out of reach; on the host network it is not",
  async (bwrap) => {
    await withTempDir(async (ws) => {
      const name = `lily-test-${crypto.randomUUID()}`;
      const listener = Deno.listen({ transport: "unix", path: `\0${name}` });
      const accepted: number[] = [];
      const accepting = (async () => {
        for await (const conn of listener) {
          accepted.push(1);
          conn.close();
        }
      })();
      try {
        const denied = await runSandboxed(bwrap, ws, [], ["abstract", name]);
        assertEquals(denied.out, "error ConnectionRefused");
        assertEquals(accepted.length, 0);
        const control = await runSandboxed(bwrap, ws, "host network", ["abstract", name]);
        assertEquals(control.out, "connected");
      } finally {
        listener.close();
        await accepting;
      }
      assertEquals(accepted.length, 1);
    });
  },
);

bwrapTest(
  "net: [127.0.0.1:PORT] — the request reaches the listener through the proxy; another port is refused and recorded",
  async (bwrap) => {
    await withTempDir(async (ws) => {
      await withServer(async (port, received) => {
        await withServer(async (otherPort, otherReceived) => {
          const net = [`127.0.0.1:${port}`];
          const allowed = await runSandboxed(bwrap, ws, net, [
            "fetch",
            `http://127.0.0.1:${port}/listed`,
          ]);
          assertEquals(allowed.out, "status 200 hello from the host");
          assertEquals(allowed.code, 0);
          assertEquals(received, ["/listed"]);
          assertEquals(allowed.violations, []);

          const refused = await runSandboxed(bwrap, ws, net, [
            "fetch",
            `http://127.0.0.1:${otherPort}/unlisted`,
          ]);
          assertEquals(
            refused.out,
            "status 403 127.0.0.1:" + otherPort +
              ` matches no rule of net: [127.0.0.1:${port}]`,
          );
          assertEquals(otherReceived, []);
          assertEquals(refused.violations.length, 1);
          const [violation] = refused.violations;
          assertEquals(
            [violation.kind, violation.target, violation.decidedBy],
            ["net", `127.0.0.1:${otherPort}`, "proxy"],
          );

          const network = await sandboxNetwork(["/bin/sh", "-c", "exit 7"], { net, deno: DENO });
          try {
            const exited = await runInBubblewrap(network.argv, {
              bwrap,
              mounts: [...hostView(ws), ...network.mounts],
              unshareNetwork: true,
              cwd: ws,
              env: { PATH, HOME: ws, ...network.env },
              stdoutPath: join(ws, "exit.out.log"),
              stderrPath: join(ws, "exit.err.log"),
              timeoutMs: 30_000,
            });
            assertEquals(exited.exitCode, 7, "the bridge exits with the command's code");
          } finally {
            await network.close();
          }
        });
      });
    });
  },
);
