/**
 * A command step's `net` allowlist through the CLI, as a user runs it: the
 * step reaches a listener on 127.0.0.1 through the kernel's proxy when the
 * policy lists it, and a connection to another port is refused, fails the
 * step and is stored as a `policy_violation.v1` decided by the proxy.
 *
 * @module
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { lily, readLog, withTempDir } from "./_helpers.ts";
import { bwrapTest } from "./_executor_fixtures.ts";

async function withServer(fn: (port: number, received: string[]) => Promise<void>) {
  const received: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    received.push(new URL(req.url).pathname);
    return new Response("from the host");
  });
  try {
    await fn(server.addr.port, received);
  } finally {
    await server.shutdown();
  }
}

/** A workflow whose one command step fetches `url` with deno, under `net: [allow]`. */
function flow(url: string, allow: string): string {
  const code = `const r = await fetch(${
    JSON.stringify(url)
  }); console.log(r.status, await r.text());`;
  return "name: net\nsteps:\n  - id: fetch\n" +
    `    command: [deno, eval, ${JSON.stringify(code)}]\n` +
    `    policy: { net: [${JSON.stringify(allow)}] }\n`;
}

async function start(ws: string, text: string) {
  await Deno.writeTextFile(join(ws, "flow.yaml"), text);
  const result = await lily(["run", "start", "flow.yaml", "--json"], {
    workspace: ws,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: ws },
  });
  return { ...result, doc: JSON.parse(result.stdout) };
}

bwrapTest(
  "a command step reaches 127.0.0.1:PORT through the proxy only when net lists it",
  async () => {
    await withTempDir(async (ws) => {
      await withServer(async (port, received) => {
        await withServer(async (other, otherReceived) => {
          const allow = `127.0.0.1:${port}`;
          const allowed = await start(ws, flow(`http://127.0.0.1:${port}/listed`, allow));
          assertEquals(allowed.code, 0, allowed.stderr);
          assertEquals(received, ["/listed"]);
          const log = join(ws, ".iris", "runs", allowed.doc.run_id, "logs", "fetch.1.stdout.log");
          assertEquals((await readLog(log)).trim(), "200 from the host");

          const refused = await start(ws, flow(`http://127.0.0.1:${other}/unlisted`, allow));
          assertEquals(refused.code, 1);
          assertEquals(otherReceived, []);
          const attempt = refused.doc.run_state.steps.fetch.attempts[0];
          assertMatch(
            attempt.message,
            /^Policy violation: 127\.0\.0\.1:\d+ matches no rule of net/,
          );
          assertEquals(attempt.violations.length, 1);
          const got = await lily(["artifact", "get", attempt.violations[0]], { workspace: ws });
          const payload = JSON.parse(got.stdout);
          assertEquals(
            [payload.step_id, payload.kind, payload.target, payload.decided_by],
            ["fetch", "net", `127.0.0.1:${other}`, "proxy"],
          );
        });
      });
    });
  },
);
