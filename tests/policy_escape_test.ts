/**
 * Escape tests of Layer 4 (issue 9), each a real attempt through the CLI
 * with a control where the same action is allowed by the policy (or by
 * `--no-sandbox`) and succeeds. Probes run as steps of one workflow and
 * print ALLOWED or DENIED; refusals the kernel makes before the spawn fail
 * the step with a `policy_violation.v1`.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { lily, readLog, REPO, withTempDir } from "./_helpers.ts";
import { bwrapTest } from "./_executor_fixtures.ts";

const MARK = "TOP-SECRET-7f3a";

function probe(action: string): string {
  return `if { ${action}; } >/dev/null 2>&1; then echo ALLOWED; else echo DENIED; fi`;
}

interface Setup {
  root: string;
  ws: string;
  home: string;
}

/** A workspace inside a temp root that also holds a secret, a HOME with a key, and a git dir. */
async function withSetup(fn: (s: Setup) => Promise<void>): Promise<void> {
  await withTempDir(async (root) => {
    const ws = join(root, "ws");
    const home = join(root, "home");
    await Deno.mkdir(join(ws, ".git", "hooks"), { recursive: true });
    await Deno.mkdir(join(ws, "secrets"), { recursive: true });
    await Deno.mkdir(join(ws, "pub"));
    await Deno.mkdir(join(ws, "hooks"));
    await Deno.mkdir(join(ws, "out"));
    await Deno.mkdir(join(home, ".ssh"), { recursive: true });
    await Deno.writeTextFile(join(root, "secret.txt"), MARK);
    await Deno.writeTextFile(join(home, ".ssh", "id_rsa"), MARK);
    await Deno.writeTextFile(join(ws, "secrets", "key"), MARK);
    await Deno.writeTextFile(join(ws, "data.txt"), "data\n");
    await Deno.symlink(join(root, "secret.txt"), join(ws, "planted"));
    await Deno.symlink("../secrets/key", join(ws, "pub", "link"));
    await fn({ root, ws, home });
  });
}

async function startRun(
  s: Setup,
  flow: string,
  options: { args?: string[]; env?: Record<string, string> } = {},
) {
  await Deno.writeTextFile(join(s.ws, "flow.yaml"), flow);
  const result = await lily(["run", "start", "flow.yaml", "--json", ...(options.args ?? [])], {
    workspace: s.ws,
    env: { HOME: s.home, PATH: Deno.env.get("PATH") ?? "", ...options.env },
  });
  const doc = JSON.parse(result.stdout);
  const runId: string = doc.run_id;
  return { ...result, doc, runId };
}

async function stdoutOf(s: Setup, runId: string, label: string): Promise<string> {
  return (await readLog(join(s.ws, ".iris", "runs", runId, "logs", `${label}.stdout.log`))).trim();
}

/** Steps as YAML flow mappings: id, shell, optional policy. */
function flowOf(steps: [string, string, string?][], gates = ""): string {
  return "name: escapes\nsteps:\n" +
    steps.map(([id, shell, policy]) =>
      `  - id: ${id}\n    shell: ${JSON.stringify(shell)}\n` +
      (policy ? `    policy: ${policy}\n` : "")
    ).join("") + gates;
}

bwrapTest(
  "reads outside the policy are denied, and allowed when the policy lists them",
  async () => {
    await withSetup(async (s) => {
      const secret = join(s.root, "secret.txt");
      const key = `${s.home}/.ssh/id_rsa`;
      const grep = (file: string) => probe(`grep -q ${MARK} ${file}`);
      const listed = (path: string) => `{ read: [".", ${JSON.stringify(path)}] }`;
      const { runId, code, stderr } = await startRun(
        s,
        flowOf([
          ["abs", grep(secret)],
          ["abs_ok", grep(secret), listed(secret)],
          ["dotdot", grep("../secret.txt")],
          ["dotdot_ok", grep("../secret.txt"), listed(secret)],
          ["planted", grep("planted")],
          ["planted_ok", grep("planted"), listed(secret)],
          ["into_denied", grep("pub/link"), '{ deny: ["secrets"] }'],
          ["into_denied_ok", grep("pub/link")],
          ["ssh", grep('"$HOME/.ssh/id_rsa"')],
          ["ssh_ok", grep('"$HOME/.ssh/id_rsa"'), listed(`${s.home}/.ssh`)],
        ]),
        { args: ["--jobs", "2"] },
      );
      assertEquals(code, 0, stderr);
      for (const id of ["abs", "dotdot", "planted", "into_denied", "ssh"]) {
        assertEquals(await stdoutOf(s, runId, `${id}.1`), "DENIED", id);
        assertEquals(await stdoutOf(s, runId, `${id}_ok.1`), "ALLOWED", `${id}_ok`);
      }
      assertEquals(await Deno.readTextFile(key), MARK);
    });
  },
);

bwrapTest(
  "writes to .iris, the workflow file, .git/hooks and outside write are denied; controls write",
  async () => {
    await withSetup(async (s) => {
      const write = (file: string) => probe(`echo x >> ${file}`);
      const { runId, code, stderr } = await startRun(
        s,
        flowOf([
          ["outside_write", write("data.txt"), '{ write: ["out"] }'],
          ["outside_write_ok", write("data.txt"), '{ write: ["data.txt"] }'],
          ["iris", write(".iris/index.sqlite")],
          ["iris_ok", write('"$LILY_OUTPUT_DIR/x"')],
          ["workflow", write("flow.yaml")],
          ["workflow_ok", write("other.yaml")],
          ["hooks", write(".git/hooks/pre-commit")],
          ["hooks_ok", write("hooks/pre-commit")],
        ]),
        { args: ["--jobs", "2"] },
      );
      assertEquals(code, 0, stderr);
      for (const id of ["outside_write", "iris", "workflow", "hooks"]) {
        assertEquals(await stdoutOf(s, runId, `${id}.1`), "DENIED", id);
        assertEquals(await stdoutOf(s, runId, `${id}_ok.1`), "ALLOWED", `${id}_ok`);
      }
      assertEquals(
        await Deno.lstat(join(s.ws, ".git", "hooks", "pre-commit")).catch(() => null),
        null,
      );
      assert(!(await Deno.readTextFile(join(s.ws, "flow.yaml"))).endsWith("x\n"));
      assertEquals(await Deno.readTextFile(join(s.ws, "data.txt")), "data\nx\n");
      assertEquals(await Deno.readTextFile(join(s.ws, "hooks", "pre-commit")), "x\n");
    });
  },
);

bwrapTest(
  "a tool not in tools is refused before spawn with a policy_violation.v1; listed, it runs",
  async () => {
    await withSetup(async (s) => {
      const refused = await startRun(
        s,
        'name: t\nsteps:\n  - { id: od, command: [od, data.txt], policy: { tools: ["true"] } }\n',
      );
      assertEquals(refused.code, 1);
      const attempt = refused.doc.run_state.steps.od.attempts[0];
      assertMatch(attempt.message, /^Policy violation: Policy refuses to run \/usr\/bin\/od/);
      assertEquals(attempt.violations.length, 1);
      assertEquals(await readLog(join(s.ws, "out", "x")).catch(() => ""), "");
      const listed = await lily(["artifact", "list", "--type", "policy_violation.v1", "--json"], {
        workspace: s.ws,
      });
      const rows = JSON.parse(listed.stdout) as { artifact_id: string }[];
      assertEquals(rows.map((r) => r.artifact_id), attempt.violations);
      const got = await lily(["artifact", "get", attempt.violations[0]], { workspace: s.ws });
      const payload = JSON.parse(got.stdout);
      assertEquals(
        [payload.run_id, payload.step_id, payload.attempt, payload.kind, payload.decided_by],
        [refused.runId, "od", 1, "run", "kernel"],
      );
      assertEquals(payload.target, "/usr/bin/od");
      const unsandboxed = await startRun(
        s,
        'name: t\nsteps:\n  - { id: od, command: [od, data.txt], policy: { tools: ["true"] } }\n',
        { args: ["--no-sandbox"] },
      );
      assertEquals(unsandboxed.code, 1, "--no-sandbox keeps the check before the spawn");
      assertEquals(unsandboxed.doc.run_state.steps.od.attempts[0].violations.length, 1);
      const allowed = await startRun(
        s,
        'name: t\nsteps:\n  - { id: od, command: [od, data.txt], policy: { tools: ["od"] } }\n',
      );
      assertEquals(allowed.code, 0, allowed.stderr);
      assertMatch(await stdoutOf(s, allowed.runId, "od.1"), /^0000000/);
    });
  },
);

bwrapTest(
  "a tool not in tools cannot run through sh -c or a PATH shim; listed, both run",
  async () => {
    await withSetup(async (s) => {
      const shim =
        'mkdir -p bin && printf "#!/bin/sh\\nexec /usr/bin/od \\"\\$@\\"\\n" > bin/od && ' +
        "chmod +x bin/od && PATH=$PWD/bin:$PATH";
      const { runId, code, stderr, doc } = await startRun(
        s,
        flowOf([
          ["via_sh", probe("od data.txt"), '{ tools: ["sh"] }'],
          ["via_sh_ok", probe("od data.txt"), '{ tools: ["sh", "od"] }'],
          [
            "shim",
            `${shim}; ${probe("od data.txt")}`,
            '{ tools: ["sh", "mkdir", "chmod", "printf"] }',
          ],
          [
            "shim_ok",
            `${shim}; ${probe("od data.txt")}`,
            '{ tools: ["sh", "mkdir", "chmod", "printf", "od"] }',
          ],
        ]),
      );
      assertEquals(code, 0, stderr + JSON.stringify(doc));
      for (const id of ["via_sh", "shim"]) {
        assertEquals(await stdoutOf(s, runId, `${id}.1`), "DENIED", id);
        assertEquals(await stdoutOf(s, runId, `${id}_ok.1`), "ALLOWED", `${id}_ok`);
      }
      const check = await lily(["check", "flow.yaml"], { workspace: s.ws });
      assertMatch(check.stdout, /warning: step via_sh: its tool list does not confine it: sh/);
      const started = await lily(["run", "start", "flow.yaml"], { workspace: s.ws });
      assertMatch(started.stderr.split("\n")[0], /^Started run \S+; step via_sh: its tool list/);
    });
  },
);

bwrapTest(
  "the runner's environment is not visible through env, /proc/$PPID/environ or /proc/*/environ",
  async () => {
    await withSetup(async (s) => {
      const env = { LILY_TEST_TOKEN: MARK };
      const { runId, code, stderr } = await startRun(
        s,
        flowOf([
          ["env", probe(`env | grep -q ${MARK}`)],
          ["env_ok", probe(`env | grep -q ${MARK}`), '{ env: ["LILY_TEST_TOKEN"] }'],
          ["ppid", probe(`grep -q ${MARK} /proc/$PPID/environ`)],
          ["ppid_ok", probe(`grep -q ${MARK} /proc/$PPID/environ`), '{ env: ["LILY_TEST_TOKEN"] }'],
          ["scan", probe(`cat /proc/*/environ | grep -q ${MARK}`)],
          [
            "scan_ok",
            probe(`cat /proc/*/environ | grep -q ${MARK}`),
            '{ env: ["LILY_TEST_TOKEN"] }',
          ],
        ]),
        { env, args: ["--jobs", "2"] },
      );
      assertEquals(code, 0, stderr);
      for (const id of ["env", "ppid", "scan"]) {
        assertEquals(await stdoutOf(s, runId, `${id}.1`), "DENIED", id);
        assertEquals(await stdoutOf(s, runId, `${id}_ok.1`), "ALLOWED", `${id}_ok`);
      }
    });
  },
);

bwrapTest(
  "a gate cannot write the workspace or read outside it unless its policy says so",
  async () => {
    await withSetup(async (s) => {
      const secret = join(s.root, "secret.txt");
      const gate = (id: string, shell: string, policy?: string) =>
        `  - id: ${id}\n    step: base\n    required: false\n    shell: ${
          JSON.stringify(shell)
        }\n` +
        (policy ? `    policy: ${policy}\n` : "");
      const { doc, code, stderr } = await startRun(
        s,
        flowOf(
          [["base", "true"]],
          "gates:\n" +
            gate("write", "echo x > gate.txt") +
            gate("write_ok", "echo x > gate_ok.txt", '{ write: ["."] }') +
            gate("read", `grep -q ${MARK} ${secret}`) +
            gate(
              "read_ok",
              `grep -q ${MARK} ${secret}`,
              `{ read: [".", ${JSON.stringify(secret)}] }`,
            ),
        ),
      );
      assertEquals(code, 0, stderr);
      const gates = doc.run_state.steps.base.attempts[0].gates;
      assertEquals(
        [gates.write.status, gates.write_ok.status, gates.read.status, gates.read_ok.status],
        ["fail", "pass", "fail", "pass"],
      );
      assertEquals(await Deno.lstat(join(s.ws, "gate.txt")).catch(() => null), null);
      assertEquals(await Deno.readTextFile(join(s.ws, "gate_ok.txt")), "x\n");
    });
  },
);

bwrapTest(
  "net: [] reaches no listener on 127.0.0.1; under --no-sandbox the same connection arrives",
  async () => {
    await withSetup(async (s) => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      let received = 0;
      const accepting = (async () => {
        for await (const conn of listener) {
          received++;
          conn.close();
        }
      })();
      try {
        const flow =
          'name: n\nsteps:\n  - id: connect\n    command: [bash, -c, "echo hi > /dev/tcp/127.0.0.1/' +
          `${port}"]\n`;
        const confined = await startRun(s, flow);
        assertEquals(confined.code, 1);
        assertEquals(received, 0);
        const open = await startRun(s, flow, { args: ["--no-sandbox"] });
        assertEquals(open.code, 0, open.stderr);
        assertEquals(received, 1);
      } finally {
        listener.close();
        await accepting.catch(() => {});
      }
    });
  },
);

Deno.test("bubblewrap missing: nothing runs, sandbox_unavailable; --no-sandbox runs and says so", async () => {
  await withSetup(async (s) => {
    const flow = "name: b\nsteps:\n  - { id: touch, command: [/usr/bin/touch, ran] }\n";
    // LILY_SANDBOX is cleared: the suite sets it to off for Lily where bubblewrap is missing.
    const env = { PATH: join(s.root, "no-bwrap-here"), LILY_SANDBOX: "" };
    const refused = await startRun(s, flow, { env });
    assertEquals(refused.code, 1);
    assertMatch(
      refused.doc.run_state.steps.touch.attempts[0].message,
      /^sandbox_unavailable: /,
    );
    assertEquals(await Deno.lstat(join(s.ws, "ran")).catch(() => null), null);
    await Deno.writeTextFile(join(s.ws, "flow.yaml"), flow);
    const open = await lily(["run", "start", "flow.yaml", "--no-sandbox"], {
      workspace: s.ws,
      env,
    });
    assertEquals(open.code, 0, open.stderr);
    assertMatch(
      open.stderr.split("\n")[0],
      /^Started run \S+; sandbox off \(--no-sandbox\): steps and gates run unconfined$/,
    );
    assert((await Deno.lstat(join(s.ws, "ran"))).isFile);
    const events = await Deno.readTextFile(
      join(
        s.ws,
        ".iris",
        "runs",
        JSON.parse(
          (await lily(["run", "list", "--json"], { workspace: s.ws })).stdout,
        ).find((r: { status: string }) => r.status === "succeeded").run_id,
        "events.jsonl",
      ),
    );
    assertMatch(events.split("\n")[0], /"sandbox":"none"/);
  });
});

bwrapTest(
  "a policy path that a symlink leads outside the workspace fails the step with a violation; lily check warns",
  async () => {
    await withSetup(async (s) => {
      const flow =
        'name: p\nsteps:\n  - { id: peek, shell: "cat planted", policy: { read: ["planted"] } }\n';
      await Deno.writeTextFile(join(s.ws, "flow.yaml"), flow);
      const check = await lily(["check", "flow.yaml"], { workspace: s.ws });
      assertEquals(check.code, 0, check.stderr);
      assertMatch(
        check.stdout,
        /warning: step peek: Policy read path .*planted really leads to .*secret\.txt, outside the workspace/,
      );
      const run = await startRun(s, flow);
      assertEquals(run.code, 1);
      const attempt = run.doc.run_state.steps.peek.attempts[0];
      assertMatch(attempt.message, /^Policy violation: Policy read path/);
      assertEquals(attempt.violations.length, 1);
      assertEquals(await stdoutOf(s, run.runId, "peek.1"), "");
      const control = await startRun(
        s,
        `name: p\nsteps:\n  - { id: peek, shell: "cat planted", policy: { read: [${
          JSON.stringify(join(s.root, "secret.txt"))
        }, "."] } }\n`,
      );
      assertEquals(control.code, 0, control.stderr);
      assertEquals(await stdoutOf(s, control.runId, "peek.1"), MARK);
    });
  },
);

Deno.test("policy paths with ',', '..', NUL or a leading '-' are refused at load: exit 2, nothing created", async () => {
  await withTempDir(async (ws) => {
    for (const bad of ["a,b", "../x", "-rf", "a\\u0000b"]) {
      await Deno.writeTextFile(
        join(ws, "flow.yaml"),
        `name: bad\npolicy: { read: ["."] }\nsteps:\n  - id: s\n    shell: "true"\n    policy: { read: ["${bad}"] }\n`,
      );
      const result = await lily(["run", "start", "flow.yaml"], { workspace: ws });
      assertEquals(result.code, 2, bad);
      assertMatch(result.stderr, /steps\.s\.policy\.read\[0\]: policy path/);
      assertMatch(result.stderr, /flow\.yaml:6/);
      assertEquals(await Deno.lstat(join(ws, ".iris")).catch(() => null), null);
    }
  });
});

/** The largest resident set of a process while it runs, in KiB, polled every 20 ms. */
async function peakRssKiB(child: Deno.ChildProcess): Promise<number> {
  let peak = 0;
  let done = false;
  const status = child.status.finally(() => (done = true));
  while (!done) {
    const text = await Deno.readTextFile(`/proc/${child.pid}/status`).catch(() => "");
    const hwm = /VmHWM:\s+(\d+) kB/.exec(text);
    if (hwm) peak = Math.max(peak, Number(hwm[1]));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await status;
  return peak;
}

async function runnerPeak(ws: string, argv: string): Promise<number> {
  await Deno.writeTextFile(
    join(ws, "flow.yaml"),
    `name: big\nsteps:\n  - { id: big, command: ${argv} }\n`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", join(REPO, "cli.ts"), "run", "start", "flow.yaml"],
    cwd: ws,
    env: { LILY_WORKSPACE: ws, NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  return await peakRssKiB(child);
}

bwrapTest(
  "a step writing 100 MB (and 400 MB) to stdout leaves Lily's memory bounded; the log has every byte",
  async () => {
    await withSetup(async (s) => {
      const base = await runnerPeak(s.ws, '[head, -c, "1", /dev/zero]');
      const big = await runnerPeak(s.ws, '[head, -c, "100000000", /dev/zero]');
      const bigger = await runnerPeak(s.ws, '[head, -c, "400000000", /dev/zero]');
      assert(base > 0, "the runner's memory was read");
      // Output is streamed to the log: 300 MB more of it must not add anything near 300 MB.
      const report = `peak RSS KiB: 1 byte ${base}, 100 MB ${big}, 400 MB ${bigger}`;
      assert(bigger - big < 50_000, report);
      assert(big - base < 100_000, report);
      const runs = join(s.ws, ".iris", "runs");
      const sizes = [];
      for await (const run of Deno.readDir(runs)) {
        if (!run.isDirectory) continue;
        sizes.push((await Deno.stat(join(runs, run.name, "logs", "big.1.stdout.log"))).size);
      }
      assertEquals(sizes.sort((a, b) => a - b), [1, 100_000_000, 400_000_000]);
    });
  },
);

bwrapTest(
  "a deno step cannot read outside through node:fs or spawn a subprocess; the policy can allow both",
  async () => {
    await withSetup(async (s) => {
      const secret = join(s.root, "secret.txt");
      await Deno.writeTextFile(
        join(s.ws, "probe.ts"),
        `import { readFileSync } from "node:fs";
const [action, target] = Deno.args;
try {
  if (action === "read") readFileSync(target, "utf8");
  else await new Deno.Command(target).output();
  console.log("ALLOWED");
} catch {
  console.log("DENIED");
}
`,
      );
      const step = (id: string, action: string, target: string, policy?: string) =>
        `  - id: ${id}\n    deno: { module: probe.ts, args: [${action}, ${
          JSON.stringify(target)
        }] }\n` +
        (policy ? `    policy: ${policy}\n` : "");
      const allowed = await startRun(
        s,
        "name: d\nsteps:\n" +
          step("read_ok", "read", secret, `{ read: [".", ${JSON.stringify(secret)}] }`) +
          step("run_ok", "run", "/usr/bin/true", '{ tools: ["/usr/bin/true"] }'),
        { args: ["--jobs", "2"] },
      );
      assertEquals(allowed.code, 0, allowed.stderr);
      for (const id of ["read_ok", "run_ok"]) {
        assertEquals(await stdoutOf(s, allowed.runId, `${id}.1`), "ALLOWED", id);
      }
      // Refused by the broker: the program sees the error, the step fails naming the violation.
      for (
        const [id, reason] of [["read", /outside every read path/], ["run", /not among/]] as const
      ) {
        const refused = await startRun(
          s,
          "name: d\nsteps:\n" + step(id, id, id === "read" ? secret : "/usr/bin/true"),
        );
        assertEquals(refused.code, 1, refused.stderr);
        assertEquals(await stdoutOf(s, refused.runId, `${id}.1`), "DENIED", id);
        const attempt = refused.doc.run_state.steps[id].attempts[0];
        assertMatch(attempt.message, reason);
        const decided = (await violationsOf(s, refused.doc, id)).map((v) => v.decided_by);
        assert(decided.length > 0 && decided.every((d) => d === "broker"), id);
      }
    });
  },
);

/** The `decided_by` and `target` of every violation of a step's first attempt. */
async function violationsOf(s: Setup, doc: { run_state: unknown }, stepId: string) {
  const state = doc.run_state as {
    steps: Record<string, { attempts: { violations: string[] }[] }>;
  };
  const found = [];
  for (const id of state.steps[stepId].attempts[0].violations) {
    const got = await lily(["artifact", "get", id], { workspace: s.ws });
    const payload = JSON.parse(got.stdout);
    found.push({ decided_by: payload.decided_by, kind: payload.kind, target: payload.target });
  }
  return found;
}

const DENO_PROBE = `const [action, target] = Deno.args;
try {
  if (action === "read") console.log(Deno.readTextFileSync(target));
  else { Deno.writeTextFileSync(target, "planted"); console.log("WROTE"); }
} catch (err) {
  console.log("DENIED", err.name);
}
`;

for (const sandbox of [true, false]) {
  const label = sandbox ? "" : " (--no-sandbox)";
  bwrapTest(
    `a deno step reading through a link in an allowed dir that leads outside is refused by the broker${label}; the real file is read`,
    async () => {
      await withSetup(async (s) => {
        await Deno.mkdir(join(s.ws, "data"));
        await Deno.writeTextFile(join(s.ws, "data", "real.txt"), "inside");
        await Deno.symlink(join(s.root, "secret.txt"), join(s.ws, "data", "link"));
        await Deno.writeTextFile(join(s.ws, "probe.ts"), DENO_PROBE);
        const args = sandbox ? [] : ["--no-sandbox"];
        const step = (id: string, target: string) =>
          `  - { id: ${id}, deno: { module: probe.ts, args: [read, ${target}] }, policy: { read: [data, probe.ts] } }\n`;
        const ok = await startRun(s, "name: d\nsteps:\n" + step("real", "data/real.txt"), {
          args,
        });
        assertEquals(ok.code, 0, ok.stderr);
        assertEquals(await stdoutOf(s, ok.runId, "real.1"), "inside");
        const refused = await startRun(s, "name: d\nsteps:\n" + step("link", "data/link"), {
          args,
        });
        assertEquals(refused.code, 1, refused.stderr);
        assertEquals(await stdoutOf(s, refused.runId, "link.1"), "DENIED NotCapable");
        assertMatch(refused.stderr, /link#1 failed .*data\/link leads to .*secret\.txt, outside/);
        assertMatch(refused.stderr, /policy_violation\.v1 /);
        assertEquals(await violationsOf(s, refused.doc, "link"), [
          { decided_by: "broker", kind: "read", target: join(s.root, "secret.txt") },
        ]);
        assert(!(await stdoutOf(s, refused.runId, "link.1")).includes(MARK));
      });
    },
  );

  bwrapTest(
    `a deno step writing a path its policy does not allow is refused by the broker${label}`,
    async () => {
      await withSetup(async (s) => {
        await Deno.writeTextFile(join(s.ws, "probe.ts"), DENO_PROBE);
        const args = sandbox ? [] : ["--no-sandbox"];
        const step = (id: string, target: string) =>
          `  - { id: ${id}, deno: { module: probe.ts, args: [write, ${target}] }, policy: { write: [out] } }\n`;
        const ok = await startRun(s, "name: d\nsteps:\n" + step("allowed", "out/x.txt"), {
          args,
        });
        assertEquals(ok.code, 0, ok.stderr);
        assertEquals(await Deno.readTextFile(join(s.ws, "out", "x.txt")), "planted");
        const refused = await startRun(s, "name: d\nsteps:\n" + step("outside", "data.txt"), {
          args,
        });
        assertEquals(refused.code, 1, refused.stderr);
        assertEquals(await stdoutOf(s, refused.runId, "outside.1"), "DENIED NotCapable");
        assertEquals(await Deno.readTextFile(join(s.ws, "data.txt")), "data\n");
        assertEquals(await violationsOf(s, refused.doc, "outside"), [
          { decided_by: "broker", kind: "write", target: join(s.ws, "data.txt") },
        ]);
      });
    },
  );
}

bwrapTest(
  "a gate refused a tool records a policy_violation.v1 in its gate_result; listed, it passes",
  async () => {
    await withSetup(async (s) => {
      const gate = (id: string, tools: string) =>
        `  - { id: ${id}, step: base, required: false, command: [od, data.txt], policy: { tools: ${tools} } }\n`;
      const { doc, code, stderr } = await startRun(
        s,
        flowOf(
          [["base", "true"]],
          "gates:\n" + gate("refused", '["true"]') + gate("listed", '["od"]'),
        ),
      );
      assertEquals(code, 0, stderr);
      const gates = doc.run_state.steps.base.attempts[0].gates;
      assertEquals([gates.refused.status, gates.listed.status], ["error", "pass"]);
      const result = JSON.parse(
        (await lily(["artifact", "get", gates.refused.result_id], { workspace: s.ws })).stdout,
      );
      assertEquals(result.violations.length, 1);
      assertMatch(result.reasons[0], /^Policy violation: Policy refuses to run \/usr\/bin\/od/);
      const violation = JSON.parse(
        (await lily(["artifact", "get", result.violations[0]], { workspace: s.ws })).stdout,
      );
      assertEquals([violation.step_id, violation.gate_id, violation.kind], [
        "base",
        "refused",
        "run",
      ]);
    });
  },
);
