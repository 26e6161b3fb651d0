import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { readLog, withTempDir } from "./_helpers.ts";
import { bwrapTest, PATH } from "./_executor_fixtures.ts";
import type { PolicyViolation } from "../src/policy/policy_violation.ts";
import type { AccessRules } from "../src/policy/broker_decision.ts";
import { parseNetRules } from "../src/policy/net_allow.ts";
import { runInBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import { type AccessRecord, startDenoBroker } from "../src/runtime/executors/deno_broker.ts";

const DENO = Deno.execPath();

/** The env a `deno` child needs to find its module cache, as the deno executor passes it. */
function denoEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH,
    HOME: home,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  };
  for (const name of ["DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  env.DENO_DIR ??= join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");
  return env;
}

/**
 * A workspace with `data/real.txt`, `data/link` → a secret outside it, and
 * `main.ts`, which tries each path given and prints `ok <text>` or the error.
 */
async function workspace(ws: string, outside: string): Promise<void> {
  await Deno.mkdir(join(ws, "data"));
  await Deno.writeTextFile(join(ws, "data", "real.txt"), "inside");
  await Deno.writeTextFile(join(outside, "secret.txt"), "SECRET");
  await Deno.symlink(join(outside, "secret.txt"), join(ws, "data", "link"));
  await Deno.writeTextFile(
    join(ws, "main.ts"),
    `for (const arg of Deno.args) {
  const [op, path] = arg.split("=");
  try {
    if (op === "chdir") { Deno.chdir(path); console.log("chdir ok"); continue; }
    if (op === "link") { Deno.symlinkSync(path.split(">")[1], path.split(">")[0]); console.log("link ok"); continue; }
    console.log("ok", Deno.readTextFileSync(path));
  } catch (err) {
    console.log(err.name, err.message.split("\\n")[0]);
  }
}
`,
  );
}

async function runDeno(
  ws: string,
  args: string[],
  options: {
    broker?: boolean;
    rules: AccessRules;
    bwrap?: string;
    flags: string[];
    /** In the sandbox, before deno: `ln -s <target> <path>`. */
    plantLink?: { path: string; target: string };
    /** A dir to bind read-only into the sandbox (after its private /tmp). */
    visible?: string;
  },
): Promise<{ lines: string[]; records: AccessRecord[]; violations: PolicyViolation[] }> {
  const records: AccessRecord[] = [];
  const violations: PolicyViolation[] = [];
  const sockDir = await Deno.makeTempDir({ prefix: "lily-broker-" });
  const broker = options.broker === false ? undefined : startDenoBroker({
    socketPath: join(sockDir, "b.sock"),
    rules: options.rules,
    onAccess: (r) => records.push(r),
    onViolation: (v) => violations.push(v),
  });
  try {
    const argv = [DENO, "run", "--no-prompt", ...options.flags, join(ws, "main.ts"), ...args];
    const env = { ...denoEnv(join(ws, "home")), ...broker?.env };
    await Deno.mkdir(join(ws, "home"), { recursive: true });
    const stdoutPath = join(ws, `out-${crypto.randomUUID()}.log`);
    const stderrPath = join(ws, `err-${crypto.randomUUID()}.log`);
    if (options.bwrap) {
      const plant = options.plantLink;
      const sandboxed = plant
        ? [
          "/bin/sh",
          "-c",
          'ln -s "$1" "$2" && shift 2 && exec "$@"',
          "sh",
          plant.target,
          plant.path,
          ...argv,
        ]
        : argv;
      await runInBubblewrap(sandboxed, {
        bwrap: options.bwrap,
        mounts: [
          { mode: "read-only", path: "/" },
          { mode: "devices", path: "/dev" },
          { mode: "proc", path: "/proc" },
          { mode: "hidden", path: "/tmp" },
          { mode: "writable", path: ws },
          { mode: "read-only", path: sockDir },
          ...(options.visible ? [{ mode: "read-only", path: options.visible } as const] : []),
        ],
        cwd: ws,
        env,
        stdoutPath,
        stderrPath,
        timeoutMs: 30_000,
        onSpawn: (pid) => broker?.track(pid),
      });
    } else {
      const child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        cwd: ws,
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "null",
        stdin: "null",
      }).spawn();
      broker?.track(child.pid);
      const out = await child.output();
      await Deno.writeFile(stdoutPath, out.stdout);
    }
    const lines = (await readLog(stdoutPath)).trim().split("\n");
    return { lines, records, violations };
  } finally {
    await broker?.close();
    await Deno.remove(sockDir, { recursive: true });
  }
}

function readRules(ws: string): AccessRules {
  return { read: [ws], write: [ws], deny: [], readOnly: [], net: [], env: [], run: [], sys: [] };
}

Deno.test("broker: a link in an allowed dir that points outside is denied, a real file is read; --allow-read alone follows the link", async () => {
  await withTempDir(async (ws) => {
    await withTempDir(async (outside) => {
      await workspace(ws, outside);
      const flags = [`--allow-read=${ws}`];
      const args = ["read=data/real.txt", "read=data/link", `read=${join(outside, "secret.txt")}`];
      const plain = await runDeno(ws, args, { broker: false, rules: readRules(ws), flags });
      assertEquals(plain.lines[0], "ok inside");
      assertEquals(plain.lines[1], "ok SECRET");
      assertMatch(plain.lines[2], /^NotCapable/);

      const brokered = await runDeno(ws, args, { rules: readRules(ws), flags });
      assertEquals(brokered.lines[0], "ok inside");
      assertMatch(
        brokered.lines[1],
        /^NotCapable Lily policy: .*data\/link leads to .*secret\.txt/,
      );
      assertMatch(brokered.lines[2], /^NotCapable Lily policy: .*outside every read path/);
      assertEquals(
        brokered.records.map((r) => [r.permission, r.value, r.allowed]),
        [
          ["read", "data/real.txt", true],
          ["read", "data/link", false],
          ["read", join(outside, "secret.txt"), false],
        ],
      );
      assertEquals(
        brokered.violations.map((v) => [v.kind, v.target, v.decidedBy]),
        [
          ["read", join(outside, "secret.txt"), "broker"],
          ["read", join(outside, "secret.txt"), "broker"],
        ],
      );
    });
  });
});

Deno.test("broker: relative link chains and .. after a link are followed as the kernel does; a loop is denied", async () => {
  await withTempDir(async (ws) => {
    await withTempDir(async (outside) => {
      await workspace(ws, outside);
      await Deno.mkdir(join(ws, "data", "deep"));
      await Deno.symlink("../real.txt", join(ws, "data", "deep", "rel"));
      await Deno.symlink("deep/rel", join(ws, "data", "chain"));
      // <ws>/data/dir -> <outside>. The kernel would take data/dir/../neighbour.txt to
      // <outside>/../neighbour.txt, but Deno, when it checks permissions, removes `..` as
      // written and opens the result
      // (so does the broker): <ws>/data/neighbour.txt, which does not exist.
      await Deno.symlink(outside, join(ws, "data", "dir"));
      await Deno.writeTextFile(join(outside, "..", "neighbour.txt"), "NEIGHBOUR");
      await Deno.symlink("loop2", join(ws, "data", "loop1"));
      await Deno.symlink("loop1", join(ws, "data", "loop2"));
      try {
        const result = await runDeno(ws, [
          "read=data/chain",
          "read=data/dir/../neighbour.txt",
          "read=data/loop1",
        ], { rules: readRules(ws), flags: [] });
        assertEquals(result.lines[0], "ok inside");
        assertMatch(result.lines[1], /^NotFound /);
        assertEquals(result.records[1].target, join(ws, "data", "neighbour.txt"));
        assertMatch(result.lines[2], /^NotCapable Lily policy: .*loop1 could not be resolved/);
      } finally {
        await Deno.remove(join(outside, "..", "neighbour.txt"));
      }
    });
  });
});

Deno.test("broker: relative paths are resolved against the process's working dir after Deno.chdir", async () => {
  await withTempDir(async (ws) => {
    await withTempDir(async (outside) => {
      await workspace(ws, outside);
      await Deno.mkdir(join(ws, "data", "sub"));
      // Allowed: the workspace and `outside`, except its secret. A broker that
      // resolved against the start dir would see <ws>/secret.txt and allow it.
      const rules = { ...readRules(ws), read: [ws, outside], deny: [join(outside, "secret.txt")] };
      await Deno.writeTextFile(join(ws, "secret.txt"), "decoy");
      const result = await runDeno(ws, [`chdir=${outside}`, "read=secret.txt"], {
        rules,
        flags: [],
      });
      assertEquals(result.lines[0], "chdir ok");
      assertMatch(
        result.lines[1],
        /^NotCapable Lily policy: .*secret\.txt is under the denied path/,
      );
    });
  });
});

bwrapTest(
  "broker in bubblewrap: a link made in the step's private /tmp is resolved in the step's view and denied",
  async (bwrap) => {
    await withTempDir(async (ws) => {
      await withTempDir(async (outside) => {
        await workspace(ws, outside);
        // /tmp is allowed, `outside` (bound in) is denied. On the host, /tmp/escape
        // does not exist: only a broker resolving in the step's view sees the link.
        const rules = {
          ...readRules(ws),
          read: [ws, "/tmp"],
          write: [ws, "/tmp"],
          deny: [outside],
        };
        const secret = join(outside, "secret.txt");
        const result = await runDeno(
          ws,
          [
            `link=/tmp/own>${secret}`,
            "read=/tmp/escape",
            "read=data/real.txt",
            "read=data/link",
          ],
          {
            rules,
            flags: [],
            bwrap,
            plantLink: { path: "/tmp/escape", target: secret },
            visible: outside,
          },
        );
        // Deno asks for write access to every path to make a link: never granted.
        assertMatch(result.lines[0], /^NotCapable Lily policy: write access to every path/);
        assertMatch(
          result.lines[1],
          /^NotCapable Lily policy: .*secret\.txt is under the denied path/,
        );
        assertEquals(result.lines[2], "ok inside");
        assertMatch(result.lines[3], /^NotCapable Lily policy: .*secret\.txt is under the denied/);
        assertEquals(result.violations.length, 3);
        assert(result.records.every((r) => r.pid < 100), "pids are the sandbox's own");
      });
    });
  },
);

/** A server on 127.0.0.1 recording the paths it receives. */
async function withServer(fn: (port: number, received: string[]) => Promise<void>) {
  const received: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    received.push(new URL(req.url).pathname);
    return new Response("hi");
  });
  try {
    await fn(server.addr.port, received);
  } finally {
    await server.shutdown();
  }
}

async function fetchStep(
  ws: string,
  url: string,
  rules: AccessRules,
  flags: string[],
  broker = true,
) {
  await Deno.writeTextFile(
    join(ws, "main.ts"),
    `try { const r = await fetch(${
      JSON.stringify(url)
    }); console.log("status", r.status, await r.text()); }
catch (err) { console.log(err.name, err.message.split("\\n")[0]); }`,
  );
  return await runDeno(ws, [], { rules, flags, broker });
}

Deno.test("deno step net allowlist: 127.0.0.1:PORT is reached only when listed, by --allow-net and by the broker", async () => {
  await withTempDir(async (ws) => {
    await withServer(async (port, received) => {
      await withServer(async (other, otherReceived) => {
        const flags = [`--allow-net=127.0.0.1:${port}`];
        const rules = { ...readRules(ws), net: parseNetRules([`127.0.0.1:${port}`]) };
        const listed = `http://127.0.0.1:${port}/listed`;
        const unlisted = `http://127.0.0.1:${other}/unlisted`;
        assertEquals((await fetchStep(ws, listed, rules, flags, false)).lines, ["status 200 hi"]);
        assertMatch((await fetchStep(ws, unlisted, rules, flags, false)).lines[0], /^NotCapable/);
        assertEquals(received, ["/listed"]);

        assertEquals((await fetchStep(ws, listed, rules, flags)).lines, ["status 200 hi"]);
        const refused = await fetchStep(ws, unlisted, rules, flags);
        assertMatch(refused.lines[0], /^NotCapable Lily policy: 127\.0\.0\.1:\d+ matches no rule/);
        assertEquals(
          refused.violations.map((v) => [v.kind, v.target, v.decidedBy]),
          [["net", `127.0.0.1:${other}`, "broker"]],
        );
        assertEquals(received, ["/listed", "/listed"]);
        assertEquals(otherReceived, []);
      });
    });
  });
});
