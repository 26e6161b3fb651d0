import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { join } from "node:path";
import { assertNoProcessWith, marker, processesWith, readLog, withTempDir } from "./_helpers.ts";
import { UsageError } from "../src/core/errors.ts";
import type { MaterializedInput } from "../src/runtime/executors/executor.ts";
import type { OutputSpec } from "../src/graph/workflow.ts";
import { bubblewrapArgv, runInBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import { CommandExecutor } from "../src/runtime/executors/command_executor.ts";
import { processStartTicks } from "../src/core/proc_stat.ts";
import { killStaleProcessGroup } from "../src/runtime/executors/process_tree.ts";
import { FnExecutor } from "../src/runtime/executors/fn_executor.ts";
import { LlmExecutor } from "../src/runtime/executors/llm_executor.ts";
import { FakeLlmProvider } from "../src/runtime/executors/llm_provider.ts";
import { ManualClock } from "../src/core/manual_clock.ts";
import { defaultExecutors, executorFor } from "../src/runtime/executors/executor_registry.ts";
import { attemptContext, bwrapTest, PATH } from "./_executor_fixtures.ts";

/** Builds an attempt's context in a workspace the way the runtime lays it out. */
function output(path: string, kind: OutputSpec["kind"]): OutputSpec {
  return { type: `${kind}_output.v1`, path, kind, required: true };
}

const command = new CommandExecutor({ bubblewrap: false });

Deno.test("command executor runs argv in cwd and streams stdout and stderr to the log files", async () => {
  await withTempDir(async (ws) => {
    await Deno.mkdir(join(ws, "sub"));
    const ctx = await attemptContext(ws, { cwd: join(ws, "sub") });
    const result = await command.execute(
      { kind: "command", argv: ["sh", "-c", "pwd; echo to-stderr >&2"] },
      ctx,
    );
    assertEquals(result.status, "succeeded");
    assertEquals(result.exitCode, 0);
    assertEquals(await readLog(ctx.stdoutPath), `${join(ws, "sub")}\n`);
    assertEquals(await readLog(ctx.stderrPath), "to-stderr\n");
    assertEquals(result.summary, {
      executor: "command",
      argv: ["sh", "-c", "pwd; echo to-stderr >&2"],
      cwd: join(ws, "sub"),
      sandbox: "none",
    });
  });
});

Deno.test("command executor reports a non-zero exit code as failed", async () => {
  await withTempDir(async (ws) => {
    const ctx = await attemptContext(ws);
    const result = await command.execute({ kind: "command", argv: ["sh", "-c", "exit 3"] }, ctx);
    assertEquals(result.status, "failed");
    assertEquals(result.exitCode, 3);
    assertMatch(result.message ?? "", /code 3/);
  });
});

Deno.test("command executor gives the child only the attempt's env", async () => {
  const secret = `LILY_TEST_PARENT_${crypto.randomUUID().slice(0, 8).toUpperCase()}`;
  Deno.env.set(secret, "leaked");
  try {
    await withTempDir(async (ws) => {
      const ctx = await attemptContext(ws, { env: { PATH, MINE: "mine" } });
      const result = await command.execute(
        { kind: "command", argv: ["sh", "-c", `echo "\${${secret}:-unset} $MINE"; env | wc -l`] },
        ctx,
      );
      assertEquals(result.status, "succeeded");
      const [line, count] = (await readLog(ctx.stdoutPath)).trim().split("\n");
      assertEquals(line, "unset mine");
      // PATH, MINE, and what sh itself sets (PWD, SHLVL, _ depending on the shell).
      assert(Number(count) <= 5, `the child saw ${count} variables`);
    });
  } finally {
    Deno.env.delete(secret);
  }
});

Deno.test("command executor timeout kills the whole process tree", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    const ctx = await attemptContext(ws, { timeoutMs: 300 });
    const pids: number[] = [];
    const ticks: (number | undefined)[] = [];
    const result = await command.execute(
      { kind: "command", argv: ["sh", "-c", `sleep ${mark} & sleep ${mark}`] },
      ctx,
      async (pid) => {
        pids.push(pid);
        ticks.push(await processStartTicks(pid));
      },
    );
    assertEquals(result.status, "timeout");
    assertEquals(result.exitCode, null);
    assertEquals(result.pid, pids[0]);
    assertEquals(pids.length, 1);
    assert(typeof ticks[0] === "number", "the start time of the running child is readable");
    await assertNoProcessWith(mark);
  });
});

Deno.test("command executor kills background children a successful step left behind", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    const ctx = await attemptContext(ws);
    const result = await command.execute(
      { kind: "command", argv: ["sh", "-c", `sleep ${mark} & echo hi`] },
      ctx,
    );
    assertEquals(result.status, "succeeded");
    assertEquals(await readLog(ctx.stdoutPath), "hi\n");
    await assertNoProcessWith(mark);
  });
});

Deno.test("command executor abort signal cancels the attempt and kills its group", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    const controller = new AbortController();
    const ctx = await attemptContext(ws, { signal: controller.signal });
    const result = await command.execute(
      { kind: "command", argv: ["sh", "-c", `sleep ${mark} & sleep ${mark}`] },
      ctx,
      () => controller.abort(),
    );
    assertEquals(result.status, "cancelled");
    assertEquals(result.exitCode, null);
    await assertNoProcessWith(mark);
  });
});

Deno.test("command executor reports a program missing from PATH as failed", async () => {
  await withTempDir(async (ws) => {
    const ctx = await attemptContext(ws);
    const result = await command.execute(
      { kind: "command", argv: ["lily-no-such-program", "x"] },
      ctx,
    );
    assertEquals(result.status, "failed");
    assertEquals(result.exitCode, null);
    assertEquals(
      result.message,
      'Program "lily-no-such-program" not found on PATH; install it or give its path',
    );
    assertEquals(await readLog(ctx.stdoutPath), "");
  });
});

Deno.test("killStaleProcessGroup kills a recorded group and spares a pid with another start time", async () => {
  const mark = marker();
  // A child of an earlier runner: its own group, still running.
  const child = new Deno.Command("sh", {
    args: ["-c", `sleep ${mark} & sleep ${mark}`],
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const deadline = Date.now() + 10_000;
    while ((await processesWith(mark)).length === 0) {
      assert(Date.now() < deadline, "the child never started its sleeps");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const ticks = await processStartTicks(child.pid);
    assert(ticks !== undefined);
    assertEquals(await killStaleProcessGroup(child.pid, ticks + 1), false);
    assert((await processesWith(mark)).length > 0, "a mismatched start time kills nothing");
    assertEquals(await killStaleProcessGroup(child.pid, ticks), true);
    await assertNoProcessWith(mark);
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
  }
});

Deno.test("bubblewrapArgv unshares the PID namespace, drops capabilities and applies the mounts in order", () => {
  const mounts = [
    { mode: "read-only", path: "/ws" },
    { mode: "hidden", path: "/ws/.iris" },
    { mode: "writable", path: "/ws/.iris/runs/r/tmp/out" },
  ] as const;
  assertEquals(
    bubblewrapArgv(["make", "test"], { bwrap: "/usr/bin/bwrap", mounts, cwd: "/ws/sub" }),
    [
      "/usr/bin/bwrap",
      "--unshare-pid",
      "--die-with-parent",
      "--new-session",
      "--cap-drop",
      "ALL",
      "--ro-bind",
      "/ws",
      "/ws",
      "--tmpfs",
      "/ws/.iris",
      "--bind",
      "/ws/.iris/runs/r/tmp/out",
      "/ws/.iris/runs/r/tmp/out",
      "--chdir",
      "/ws/sub",
      "--",
      "make",
      "test",
    ],
  );
  assertEquals(
    bubblewrapArgv(["deno"], {
      bwrap: "bwrap",
      mounts: [{ mode: "symlink", path: "/bin", target: "usr/bin" }, ...mounts],
      cwd: "/ws",
      unshareNetwork: true,
      statusFd: 3,
    }).join(" "),
    "bwrap --unshare-pid --unshare-net --die-with-parent --new-session --cap-drop ALL " +
      "--json-status-fd 3 " +
      "--symlink usr/bin /bin --ro-bind /ws /ws --tmpfs /ws/.iris " +
      "--bind /ws/.iris/runs/r/tmp/out /ws/.iris/runs/r/tmp/out --chdir /ws -- deno",
  );
});

Deno.test("command executor without bubblewrap fails closed, and runs unconfined only under --no-sandbox", async () => {
  await withTempDir(async (ws) => {
    const mark = join(ws, "ran");
    const argv = ["sh", "-c", `touch ${mark}`];
    const ctx = await attemptContext(ws, { readOnlyWorkspace: true, sandbox: true, env: { PATH } });
    const refused = await command.execute({ kind: "command", argv }, ctx);
    assertEquals(refused.status, "failed");
    assertEquals(refused.exitCode, null);
    assertMatch(refused.message ?? "", /^sandbox_unavailable: bubblewrap/);
    assertEquals(refused.summary.sandbox, "unavailable");
    assertEquals(await Deno.lstat(mark).catch(() => "absent"), "absent");
    const unconfined = await command.execute(
      { kind: "command", argv },
      await attemptContext(ws, { readOnlyWorkspace: true, env: { PATH } }),
    );
    assertEquals(unconfined.status, "succeeded");
    assertEquals(unconfined.summary.sandbox, "none");
    assert((await Deno.lstat(mark)).isFile);
  });
});

bwrapTest(
  "command gate with a read-only workspace cannot write the workspace but can write its output dir",
  async () => {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(join(ws, "source.txt"), "original");
      const ctx = await attemptContext(ws, { readOnlyWorkspace: true, sandbox: true });
      const gate = new CommandExecutor();
      const env = { PATH, OUT: ctx.outputDir, SCRATCH: ctx.scratchDir };
      const write = async (script: string) =>
        await gate.execute({ kind: "command", argv: ["sh", "-c", script] }, { ...ctx, env });

      const allowed = await write('echo ok > "$OUT/report.txt" && echo tmp > "$SCRATCH/t"');
      assertEquals(allowed.status, "succeeded");
      assertEquals(allowed.summary.sandbox, "bubblewrap");
      assertEquals(await Deno.readTextFile(join(ctx.outputDir, "report.txt")), "ok\n");

      const denied = await write("echo changed > source.txt");
      assertEquals(denied.status, "failed");
      assertMatch(await readLog(ctx.stderrPath), /Read-only file system/);
      assertEquals(await Deno.readTextFile(join(ws, "source.txt")), "original");

      const store = await write("echo x > .iris/index.sqlite");
      assertEquals(store.status, "failed");
      const created = await write("touch new.txt");
      assertEquals(created.status, "failed");
      await assertEquals(await Deno.lstat(join(ws, "new.txt")).catch(() => "absent"), "absent");
    });
  },
);

bwrapTest(
  "command gate with a read-only workspace cannot remount it writable or reach it through /proc",
  async () => {
    await withTempDir(async (ws) => {
      const victim = join(ws, "victim.txt");
      await Deno.writeTextFile(victim, "original\n");
      const ctx = await attemptContext(ws, { readOnlyWorkspace: true, sandbox: true });
      const gate = new CommandExecutor();
      const attempt = async (script: string) =>
        await gate.execute(
          { kind: "command", argv: ["sh", "-c", script] },
          { ...ctx, env: { PATH, WS: ws } },
        );
      // As root, a bind mount made read-only can be remounted writable with CAP_SYS_ADMIN.
      const remount = await attempt('mount -o remount,rw,bind "$WS" && echo x >> "$WS/victim.txt"');
      assertEquals(remount.status, "failed");
      assertEquals(remount.summary.sandbox, "bubblewrap");
      // bwrap's own parent stays in the host's mount namespace, where the workspace is writable.
      const viaProc = await attempt(
        'for pid in $PPID 1 $(ls /proc | grep -E "^[0-9]+$"); do ' +
          'echo x >> "/proc/$pid/root$WS/victim.txt" && ok=1; done; test -z "$ok"',
      );
      assertEquals(viaProc.status, "succeeded", await readLog(ctx.stderrPath));
      const umount = await attempt('umount "$WS" && echo x >> "$WS/victim.txt"');
      assertEquals(umount.status, "failed");
      assertEquals(await Deno.readTextFile(victim), "original\n");
    });
  },
);

bwrapTest(
  "command gate whose sandbox cannot be set up fails with exitCode null, naming the sandbox",
  async (bwrap) => {
    await withTempDir(async (ws) => {
      // A mount whose source does not exist: bwrap itself fails.
      const ctx = await attemptContext(ws, { readOnlyWorkspace: true, sandbox: true });
      const result = await runInBubblewrap(["/usr/bin/true"], {
        bwrap,
        mounts: [{ mode: "read-only", path: join(ws, "missing") }],
        cwd: "/",
        env: {},
        stdoutPath: ctx.stdoutPath,
        stderrPath: ctx.stderrPath,
        signal: ctx.signal,
      });
      assertEquals(result.status, "failed");
      assertEquals(result.exitCode, null);
      assertMatch(
        result.message ?? "",
        /^The bubblewrap sandbox could not be set up: bwrap: Can't find source path .*missing/,
      );
      // A child that fails on its own, even one that prints like bwrap, keeps its exit code.
      const child = await new CommandExecutor({ bubblewrap: bwrap }).execute(
        { kind: "command", argv: ["sh", "-c", "echo 'bwrap: fake' >&2; exit 1"] },
        await attemptContext(ws, { readOnlyWorkspace: true, sandbox: true, env: { PATH } }),
      );
      assertEquals(child.status, "failed");
      assertEquals(child.exitCode, 1);
      assertEquals(child.message, "Exited with code 1");
    });
  },
);

bwrapTest(
  "command gate under bubblewrap leaves no process behind, even one in a new session",
  async () => {
    await withTempDir(async (ws) => {
      const mark = marker();
      const ctx = await attemptContext(ws, {
        readOnlyWorkspace: true,
        sandbox: true,
        env: { PATH },
      });
      // setsid leaves the process group a group kill reaches; the PID namespace still ends it.
      const result = await new CommandExecutor().execute(
        {
          kind: "command",
          // The pause lets the daemon reach its own session before the gate ends.
          argv: ["sh", "-c", `setsid sleep ${mark} > /dev/null 2>&1 & sleep 0.3; echo started`],
        },
        ctx,
      );
      assertEquals(result.status, "succeeded");
      assertEquals(await readLog(ctx.stdoutPath), "started\n");
      await assertNoProcessWith(mark);
    });
  },
);

bwrapTest("command gate under bubblewrap is killed as a whole tree on timeout", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    const ctx = await attemptContext(ws, {
      readOnlyWorkspace: true,
      sandbox: true,
      timeoutMs: 300,
      env: { PATH },
    });
    const result = await new CommandExecutor().execute(
      { kind: "command", argv: ["sh", "-c", `sleep ${mark} & sleep ${mark}`] },
      ctx,
    );
    assertEquals(result.status, "timeout");
    assertEquals(result.summary.sandbox, "bubblewrap");
    await assertNoProcessWith(mark);
  });
});

Deno.test("fn executor passes parsed inputs and writes returned values as declared outputs", async () => {
  await withTempDir(async (ws) => {
    const base = await attemptContext(ws);
    const inputs: Record<string, MaterializedInput> = {};
    for (
      const [name, file, content] of [
        ["order", "order.json", '{"n": 2}'],
        ["notes", "notes.md", "# notes"],
        ["blob", "blob.bin", "bytes"],
      ]
    ) {
      const path = join(base.inputDir, file);
      await Deno.writeTextFile(path, content);
      inputs[name] = {
        name,
        artifactId: crypto.randomUUID(),
        artifactType: "x.v1",
        path,
        sha256: "",
      };
    }
    const ctx = {
      ...base,
      inputs,
      env: { MINE: "1" },
      outputs: { summary: output("summary.json", "json"), text: output("out/text.txt", "text") },
    };
    let seen: unknown;
    const result = await new FnExecutor().execute({
      kind: "fn",
      name: "double",
      fn: (fctx) => {
        seen = { inputs: fctx.inputs, env: fctx.env, step: fctx.stepId, outputDir: fctx.outputDir };
        const order = fctx.inputs.order as { n: number };
        return { summary: { doubled: order.n * 2 }, text: "done" };
      },
    }, ctx);
    assertEquals(result, {
      status: "succeeded",
      exitCode: null,
      summary: { executor: "fn", name: "double" },
    });
    assertEquals(seen, {
      inputs: { order: { n: 2 }, notes: "# notes", blob: inputs.blob.path },
      env: { MINE: "1" },
      step: "step",
      outputDir: ctx.outputDir,
    });
    assertEquals(
      JSON.parse(await Deno.readTextFile(join(ctx.outputDir, "summary.json"))),
      { doubled: 4 },
    );
    assertEquals(await Deno.readTextFile(join(ctx.outputDir, "out", "text.txt")), "done");
    await assertRejects(() => Deno.stat(ctx.stdoutPath), Deno.errors.NotFound);
  });
});

Deno.test("fn executor resolves a named function from its functions option", async () => {
  await withTempDir(async (ws) => {
    const ctx = { ...(await attemptContext(ws)), outputs: { n: output("n.json", "json") } };
    const fn = new FnExecutor({ functions: { answer: () => ({ n: 42 }) } });
    const result = await fn.execute({ kind: "fn", name: "answer" }, ctx);
    assertEquals(result.status, "succeeded");
    assertEquals(await Deno.readTextFile(join(ctx.outputDir, "n.json")), "42");
  });
});

Deno.test("fn executor fails a step whose function is missing, naming the step", async () => {
  await withTempDir(async (ws) => {
    const result = await new FnExecutor({ functions: {} }).execute(
      { kind: "fn", name: "toString" },
      await attemptContext(ws),
    );
    assertEquals(result.status, "failed");
    assertMatch(
      result.message ?? "",
      /fn step "step" has no function; register one named "toString"/,
    );
  });
});

Deno.test("fn executor fails when the function returns an undeclared output", async () => {
  await withTempDir(async (ws) => {
    const ctx = { ...(await attemptContext(ws)), outputs: { report: output("r.json", "json") } };
    const result = await new FnExecutor().execute(
      { kind: "fn", name: "f", fn: () => ({ report: 1, extra: 2 }) },
      ctx,
    );
    assertEquals(result.status, "failed");
    assertMatch(result.message ?? "", /no declared output "extra"; declared outputs: "report"/);
    assertEquals(await Deno.lstat(join(ctx.outputDir, "r.json")).catch(() => "absent"), "absent");
  });
});

Deno.test("fn executor turns a thrown error into a failed attempt with its message and stack", async () => {
  await withTempDir(async (ws) => {
    const ctx = await attemptContext(ws);
    const result = await new FnExecutor().execute({
      kind: "fn",
      name: "boom",
      fn: () => {
        throw new Error("the disk is on fire");
      },
    }, ctx);
    assertEquals(result.status, "failed");
    assertEquals(result.message, "the disk is on fire");
    assertMatch(await readLog(ctx.stderrPath), /Error: the disk is on fire\n\s+at /);
  });
});

Deno.test("fn executor times out a function that ignores its signal, and aborts the signal", async () => {
  await withTempDir(async (ws) => {
    const ctx = { ...(await attemptContext(ws)), timeoutMs: 50 };
    let signal: AbortSignal | undefined;
    let release = () => {};
    const result = await new FnExecutor().execute({
      kind: "fn",
      name: "hang",
      fn: (fctx) => {
        signal = fctx.signal;
        return new Promise<void>((resolve) => release = resolve);
      },
    }, ctx);
    release();
    assertEquals(result.status, "timeout");
    assertEquals(signal?.aborted, true);
    assertEquals((signal?.reason as DOMException).name, "TimeoutError");
  });
});

Deno.test("fn executor cancels when the run is cancelled", async () => {
  await withTempDir(async (ws) => {
    const controller = new AbortController();
    const ctx = { ...(await attemptContext(ws)), signal: controller.signal };
    const result = await new FnExecutor().execute({
      kind: "fn",
      name: "wait",
      fn: (fctx) =>
        new Promise<void>((resolve) => {
          fctx.signal.addEventListener("abort", () => resolve());
          controller.abort();
        }),
    }, ctx);
    assertEquals(result.status, "cancelled");
  });
});

Deno.test("llm executor with the fake provider is deterministic, fills inputs and reports usage", async () => {
  await withTempDir(async (ws) => {
    const base = await attemptContext(ws);
    const path = join(base.inputDir, "task.txt");
    await Deno.writeTextFile(path, "add two numbers");
    const ctx = {
      ...base,
      inputs: { task: { name: "task", artifactId: "a", artifactType: "t.v1", path, sha256: "" } },
      outputs: { answer: output("answer.txt", "text") },
    };
    const spec = {
      kind: "llm" as const,
      model: "m1",
      messages: [
        { role: "system" as const, content: "You write code" },
        { role: "user" as const, content: "Task: {{inputs.task}}" },
      ],
      output: "answer",
      json: false,
    };
    const requests: unknown[] = [];
    const provider = new FakeLlmProvider({
      reply: (request) => {
        requests.push(request.messages);
        return "first";
      },
    });
    const seenBy = await new LlmExecutor({ provider }).execute(spec, ctx);
    assertEquals(seenBy.status, "succeeded");
    assertEquals(requests, [[
      { role: "system", content: "You write code" },
      { role: "user", content: "Task: add two numbers" },
    ]]);

    const clock = new ManualClock({ start: new Date("2026-01-01T00:00:00Z") });
    const llm = new LlmExecutor({ provider: new FakeLlmProvider(), clock });
    const first = await llm.execute(spec, ctx);
    const reply = await Deno.readTextFile(join(ctx.outputDir, "answer.txt"));
    const second = await llm.execute(spec, ctx);
    assertEquals(await Deno.readTextFile(join(ctx.outputDir, "answer.txt")), reply);
    assertMatch(reply, /^fake reply [0-9a-f]{12}$/);
    assertEquals(first, second);
    assertEquals(first.status, "succeeded");
    assertEquals(first.usage, { input_tokens: 7, output_tokens: 3 });
    assertEquals(first.summary, { executor: "llm", provider: "fake", model: "m1" });
    assertEquals(await readLog(ctx.stdoutPath), reply);
    const at = "2026-01-01T00:00:00.000Z";
    assertEquals(first.exchanges, [{
      request: {
        provider: "fake",
        url: null,
        model: "m1",
        body: { model: "m1", messages: requests[0], json: false },
        sent_at: at,
      },
      reply: {
        status: null,
        body: null,
        text: reply,
        usage: { input_tokens: 7, output_tokens: 3 },
        error: null,
        received_at: at,
        duration_ms: 0,
      },
    }], "a provider that reports no tries is recorded as one in-process exchange");
  });
});

Deno.test("llm executor asks for JSON and plays scripted replies by model in turn", async () => {
  await withTempDir(async (ws) => {
    const ctx = {
      ...(await attemptContext(ws)),
      outputs: { verdict: output("verdict.json", "json") },
    };
    const spec = {
      kind: "llm" as const,
      model: "judge",
      messages: [{ role: "user" as const, content: "judge it" }],
      output: "verdict",
      json: true,
    };
    const fake = await new LlmExecutor({ provider: new FakeLlmProvider() }).execute(spec, ctx);
    assertEquals(fake.status, "succeeded");
    const parsed = JSON.parse(await Deno.readTextFile(join(ctx.outputDir, "verdict.json")));
    assertMatch(parsed.reply, /^fake reply /);

    const scripted = new LlmExecutor({
      provider: new FakeLlmProvider({ replies: { judge: ['{"ok":false}', '{"ok":true}'] } }),
    });
    const texts = [];
    for (let i = 0; i < 3; i++) {
      assertEquals((await scripted.execute(spec, ctx)).status, "succeeded");
      texts.push(await Deno.readTextFile(join(ctx.outputDir, "verdict.json")));
    }
    assertEquals(texts, ['{"ok":false}', '{"ok":true}', '{"ok":true}']);

    const prose = new LlmExecutor({ provider: new FakeLlmProvider({ replies: { judge: "yes" } }) });
    const bad = await prose.execute(spec, ctx);
    assertEquals(bad.status, "failed");
    assertMatch(bad.message ?? "", /reply of model "judge" is not valid JSON/);
  });
});

Deno.test("llm executor fails on an unknown output or input before asking the provider", async () => {
  await withTempDir(async (ws) => {
    const ctx = { ...(await attemptContext(ws)), outputs: { answer: output("a.txt", "text") } };
    let asked = 0;
    const llm = new LlmExecutor({
      provider: new FakeLlmProvider({ reply: () => String(++asked) }),
    });
    const base = { kind: "llm" as const, model: "m", json: false };
    const noOutput = await llm.execute({
      ...base,
      messages: [{ role: "user", content: "hi" }],
      output: "reply",
    }, ctx);
    assertEquals(noOutput.status, "failed");
    assertMatch(noOutput.message ?? "", /no declared output "reply"; declared outputs: "answer"/);
    const noInput = await llm.execute({
      ...base,
      messages: [{ role: "user", content: "{{inputs.missing}}" }],
      output: "answer",
    }, ctx);
    assertEquals(noInput.status, "failed");
    assertMatch(noInput.message ?? "", /no input "missing"/);
    assertEquals(asked, 0);
  });
});

Deno.test("llm executor times out a provider that does not answer", async () => {
  await withTempDir(async (ws) => {
    const ctx = {
      ...(await attemptContext(ws)),
      outputs: { answer: output("a.txt", "text") },
      timeoutMs: 50,
    };
    let release = (_: string) => {};
    const llm = new LlmExecutor({
      provider: new FakeLlmProvider({ reply: () => new Promise((resolve) => release = resolve) }),
    });
    const result = await llm.execute({
      kind: "llm",
      model: "slow",
      messages: [{ role: "user", content: "hi" }],
      output: "answer",
      json: false,
    }, ctx);
    release("late");
    assertEquals(result.status, "timeout");
  });
});

Deno.test("defaultExecutors dispatches by kind and rejects an unknown kind", () => {
  const executors = defaultExecutors();
  for (const kind of ["command", "deno", "fn", "llm"]) {
    assertEquals(executorFor(executors, { kind }).kind, kind);
  }
  const custom = {
    kind: "custom",
    specSchema: executors.fn.specSchema,
    capabilities: executors.fn.capabilities,
    execute: executors.fn.execute,
  };
  const extended = { ...executors, custom };
  assertEquals(executorFor(extended, { kind: "custom" }).kind, "custom");
  assertThrows(
    () => executorFor(executors, { kind: "docker" }),
    (err: unknown) =>
      err instanceof UsageError &&
      err.message ===
        'No executor runs the kind "docker"; known kinds: "command", "deno", "fn", "llm"',
  );
});
