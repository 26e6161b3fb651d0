import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { join } from "node:path";
import { readLog, withTempDir } from "./_helpers.ts";
import { UsageError } from "../src/core/errors.ts";
import type { ExecutionContext, ExecutionResult } from "../src/runtime/executors/executor.ts";
import { DenoExecutor } from "../src/runtime/executors/deno_executor.ts";
import { denoPermissionFlags } from "../src/policy/deno_flags.ts";
import { findProgram } from "../src/runtime/executors/find_program.ts";
import { confinementFor, DEFAULT_POLICY, effectivePolicy } from "../src/policy/policy_model.ts";
import { attemptContext, bwrapTest } from "./_executor_fixtures.ts";

function bwrapDenoTest(name: string, fn: (sandboxed: DenoExecutor) => Promise<void>): void {
  bwrapTest(name, (bwrap) => fn(new DenoExecutor({ bubblewrap: bwrap })));
}

/** One escape attempt (or allowed action) per run; an uncaught error exits 1. */
const PROBE = `
const [action, target] = Deno.args;
switch (action) {
  case "read": console.log(await Deno.readTextFile(target)); break;
  case "readdir": for await (const e of Deno.readDir(target)) console.log(e.name); break;
  case "write": await Deno.writeTextFile(target, "written"); break;
  case "import": console.log(JSON.stringify((await import(target, { with: { type: "json" } })).default)); break;
  case "fetch": await fetch(target); break;
  case "run": await new Deno.Command(target).output(); break;
  case "env": console.log(JSON.stringify(Deno.env.get(target) ?? null)); break;
  case "sleep": await new Promise((resolve) => setTimeout(resolve, 100_000)); break;
  default: throw new Error("unknown action " + action);
}
`;

/** A workspace with the probe module and a store that has an index and another run. */
async function withWorkspace(fn: (ws: string, otherRun: string) => Promise<void>): Promise<void> {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "probe.ts"), PROBE);
    await Deno.writeTextFile(join(ws, "data.txt"), "workspace data");
    await Deno.mkdir(join(ws, ".iris", "runs"), { recursive: true });
    await Deno.writeTextFile(join(ws, ".iris", "index.sqlite"), "not for steps");
    const otherRun = join(ws, ".iris", "runs", crypto.randomUUID());
    await Deno.mkdir(otherRun);
    await Deno.writeTextFile(join(otherRun, "run_manifest.json"), '{"secret": true}');
    await fn(ws, otherRun);
  });
}

/** The permission flags alone, whatever this machine has. */
const flagsOnly = new DenoExecutor({ bubblewrap: false });

async function probe(
  ctx: ExecutionContext,
  action: string,
  target: string,
  deno: DenoExecutor = flagsOnly,
): Promise<{ result: ExecutionResult; stdout: string; stderr: string }> {
  const result = await deno.execute(
    { kind: "deno", module: "probe.ts", args: [action, target] },
    ctx,
  );
  return {
    result,
    stdout: await readLog(ctx.stdoutPath),
    stderr: await readLog(ctx.stderrPath),
  };
}

async function assertAllowed(
  ctx: ExecutionContext,
  action: string,
  target: string,
  deno: DenoExecutor = flagsOnly,
) {
  const { result, stderr } = await probe(ctx, action, target, deno);
  assertEquals(result.status, "succeeded", `${action} ${target} should work: ${stderr}`);
}

async function assertDenied(ctx: ExecutionContext, action: string, target: string) {
  const { result, stderr } = await probe(ctx, action, target);
  assertEquals(result.status, "failed", `${action} ${target} should have been denied`);
  assertEquals(result.exitCode, 1);
  // The kernel, as Deno's permission broker, refuses it and records a violation.
  assertMatch(stderr, /(NotCapable|TypeError): Lily policy: /, `${action} ${target}: ${stderr}`);
  assert(
    result.violations?.some((v) => v.decidedBy === "broker"),
    `${action} ${target}: a violation decided by the broker`,
  );
}

Deno.test("denoPermissionFlags grants the policy's paths and staging dirs and denies the store", () => {
  const staging = {
    inputDir: "/ws/.iris/runs/r/tmp/a/in",
    outputDir: "/ws/.iris/runs/r/tmp/a/out",
    scratchDir: "/ws/.iris/runs/r/tmp/a/scratch",
  };
  const paths = {
    read: ["/ws"],
    write: ["/ws"],
    deny: [],
    readOnly: ["/ws/.git"],
    hidden: ["/ws/.iris"],
  };
  const step = confinementFor(DEFAULT_POLICY, { workspace: "/ws", mode: "sandbox" });
  assertEquals(denoPermissionFlags(step, { paths, staging, envNames: ["B", "A", "B"] }), [
    "--no-prompt",
    "--allow-read=/ws,/ws/.iris/runs/r/tmp/a/in,/ws/.iris/runs/r/tmp/a/out,/ws/.iris/runs/r/tmp/a/scratch",
    "--allow-write=/ws,/ws/.iris/runs/r/tmp/a/out,/ws/.iris/runs/r/tmp/a/scratch",
    "--deny-read=/ws/.iris",
    "--deny-write=/ws/.iris,/ws/.git",
    "--allow-env=A,B",
    "--deny-net",
    "--deny-run",
    "--deny-ffi",
    "--deny-sys",
    "--no-remote",
    "--no-config",
    "--no-lock",
  ]);
  const gate = confinementFor(effectivePolicy(undefined, undefined, { gate: true }), {
    workspace: "/ws",
    mode: "sandbox",
  });
  const readOnly = denoPermissionFlags(gate, {
    paths: { ...paths, write: [] },
    staging,
    envNames: [],
  });
  assert(
    readOnly.includes("--allow-write=/ws/.iris/runs/r/tmp/a/out,/ws/.iris/runs/r/tmp/a/scratch"),
  );
  assert(!readOnly.some((flag) => flag.startsWith("--allow-env")));
  assert(!readOnly.some((flag) => flag.includes("allow-all") || flag.includes("allow-ffi")));
  const open = confinementFor({ ...DEFAULT_POLICY, net: ["example.com:443"], tools: ["git"] }, {
    workspace: "/ws",
    mode: "sandbox",
  });
  const flags = denoPermissionFlags(open, {
    paths,
    staging,
    envNames: [],
    tools: ["/usr/bin/git"],
  });
  assert(flags.includes("--allow-net=example.com:443"));
  assert(flags.includes("--allow-run=/usr/bin/git"));
  assertThrows(
    () => denoPermissionFlags(step, { paths: { ...paths, read: ["/a,b"] }, staging, envNames: [] }),
    (err: unknown) => err instanceof UsageError && /without commas/.test(err.message),
  );
  assertThrows(() => denoPermissionFlags(step, { paths, staging, envNames: ["A,B"] }), UsageError);
});

Deno.test("deno step reads the workspace and its inputs and writes its output and scratch dirs", async () => {
  await withWorkspace(async (ws) => {
    const ctx = await attemptContext(ws);
    await Deno.writeTextFile(join(ctx.inputDir, "in.txt"), "input");
    const read = await probe(ctx, "read", join(ws, "data.txt"));
    assertEquals(read.result.status, "succeeded");
    assertEquals(read.stdout, "workspace data\n");
    assertEquals(read.result.summary.executor, "deno");
    assertEquals(read.result.summary.module, "probe.ts");
    assertEquals(read.result.summary.args, ["read", join(ws, "data.txt")]);
    assert((read.result.summary.flags as string[]).includes("--deny-net"));
    await assertAllowed(ctx, "read", join(ctx.inputDir, "in.txt"));
    await assertAllowed(ctx, "write", join(ctx.outputDir, "result.txt"));
    await assertAllowed(ctx, "write", join(ctx.scratchDir, "tmp.txt"));
    await assertAllowed(ctx, "write", join(ws, "generated.txt"));
    assertEquals(await Deno.readTextFile(join(ctx.outputDir, "result.txt")), "written");
  });
});

Deno.test("deno step cannot read a file outside the workspace", async () => {
  await withWorkspace(async (ws) => {
    await withTempDir(async (elsewhere) => {
      const secret = join(elsewhere, "secret.txt");
      await Deno.writeTextFile(secret, "top secret");
      const ctx = await attemptContext(ws);
      await assertDenied(ctx, "read", secret);
      await assertDenied(ctx, "read", join(ws, "..", "..", "etc", "hostname"));
      await assertDenied(ctx, "write", join(elsewhere, "planted.txt"));
    });
  });
});

Deno.test("deno step cannot read or write the store: index, manifests, other runs, logs", async () => {
  await withWorkspace(async (ws, otherRun) => {
    const ctx = await attemptContext(ws);
    const store = join(ws, ".iris");
    await assertDenied(ctx, "read", join(store, "index.sqlite"));
    await assertDenied(ctx, "write", join(store, "index.sqlite"));
    await assertDenied(ctx, "readdir", store);
    await assertDenied(ctx, "read", join(otherRun, "run_manifest.json"));
    await assertDenied(ctx, "import", join(otherRun, "run_manifest.json"));
    await assertDenied(ctx, "write", join(otherRun, "run_manifest.json"));
    await assertDenied(ctx, "read", ctx.stderrPath);
    await assertDenied(ctx, "write", join(ctx.outputDir, "..", "other-attempt.txt"));
    await assertDenied(ctx, "write", join(ctx.inputDir, "tampered.txt"));
    assertEquals(await Deno.readTextFile(join(store, "index.sqlite")), "not for steps");
  });
});

Deno.test("deno step cannot use the network", async () => {
  await withWorkspace(async (ws) => {
    await assertDenied(await attemptContext(ws), "fetch", "http://127.0.0.1:8080/");
  });
});

Deno.test("deno step cannot run subprocesses", async () => {
  await withWorkspace(async (ws) => {
    const sh = await findProgram("sh", { cwd: "/", path: Deno.env.get("PATH") });
    assert(sh, "sh is on PATH");
    await assertDenied(
      await attemptContext(ws, { env: { PATH: Deno.env.get("PATH") ?? "" } }),
      "run",
      sh,
    );
  });
});

Deno.test("deno step reads only the env variables of its subset", async () => {
  const parentOnly = `LILY_TEST_PARENT_${crypto.randomUUID().slice(0, 8).toUpperCase()}`;
  Deno.env.set(parentOnly, "leaked");
  try {
    await withWorkspace(async (ws) => {
      const ctx = await attemptContext(ws, { env: { MINE: "mine" } });
      const mine = await probe(ctx, "env", "MINE");
      assertEquals(mine.result.status, "succeeded");
      assertEquals(mine.stdout, '"mine"\n');
      await assertDenied(ctx, "env", parentOnly);
      // HOME and DENO_DIR reach the child for its module cache, not the step.
      await assertDenied(ctx, "env", "HOME");
      await assertDenied(ctx, "read", "/proc/self/environ");
    });
  } finally {
    Deno.env.delete(parentOnly);
  }
});

Deno.test("deno step with a read-only workspace writes only its output and scratch dirs", async () => {
  await withWorkspace(async (ws) => {
    const ctx = await attemptContext(ws, { readOnlyWorkspace: true });
    await assertDenied(ctx, "write", join(ws, "data.txt"));
    await assertAllowed(ctx, "write", join(ctx.outputDir, "report.txt"));
    await assertAllowed(ctx, "read", join(ws, "data.txt"));
    assertEquals(await Deno.readTextFile(join(ws, "data.txt")), "workspace data");
  });
});

Deno.test("deno step is killed on timeout", async () => {
  await withWorkspace(async (ws) => {
    const ctx = await attemptContext(ws, { timeoutMs: 500 });
    const { result } = await probe(ctx, "sleep", "");
    assertEquals(result.status, "timeout");
  });
});

Deno.test("deno step with a module outside the workspace fails without running", async () => {
  await withWorkspace(async (ws) => {
    const result = await flagsOnly.execute(
      { kind: "deno", module: "../probe.ts", args: [] },
      await attemptContext(ws),
    );
    assertEquals(result.status, "failed");
    assertMatch(result.message ?? "", /Unsafe stored path "\.\.\/probe\.ts"/);
  });
});

bwrapDenoTest(
  "deno step under bubblewrap still reads its inputs and writes its output and scratch dirs",
  async (sandboxed) => {
    await withWorkspace(async (ws) => {
      for (const readOnlyWorkspace of [false, true]) {
        const ctx = await attemptContext(ws, { readOnlyWorkspace, sandbox: true });
        await Deno.writeTextFile(join(ctx.inputDir, "in.txt"), "input");
        const read = await probe(ctx, "read", join(ctx.inputDir, "in.txt"), sandboxed);
        assertEquals(read.result.status, "succeeded", read.stderr);
        assertEquals(read.result.summary.sandbox, "bubblewrap");
        assertEquals(read.stdout, "input\n");
        await assertAllowed(ctx, "read", join(ws, "data.txt"), sandboxed);
        await assertAllowed(ctx, "write", join(ctx.outputDir, "result.txt"), sandboxed);
        await assertAllowed(ctx, "write", join(ctx.scratchDir, "tmp.txt"), sandboxed);
        assertEquals(await Deno.readTextFile(join(ctx.outputDir, "result.txt")), "written");
      }
    });
  },
);

bwrapDenoTest(
  "deno step under bubblewrap cannot import a store file, which the flags alone cannot stop",
  async (sandboxed) => {
    await withWorkspace(async (ws, otherRun) => {
      // Deno does not check static imports against --allow-read / --deny-read.
      await Deno.writeTextFile(
        join(ws, "steal.ts"),
        `import m from ${
          JSON.stringify(join(otherRun, "run_manifest.json"))
        } with { type: "json" };\n` +
          "console.log(JSON.stringify(m));\n",
      );
      const ctx = await attemptContext(ws, { sandbox: true });
      const result = await sandboxed.execute({ kind: "deno", module: "steal.ts", args: [] }, ctx);
      assertEquals(result.status, "failed");
      assertEquals(await readLog(ctx.stdoutPath), "");
      assertMatch(await readLog(ctx.stderrPath), /Module not found/);
    });
  },
);
