/**
 * Files the executors create for an attempt (logs, bwrap's status) are never
 * written through a link planted at their path, and a sandbox that cannot be
 * set up is told apart from a child that failed.
 */

import { assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { dirname, join } from "node:path";
import { readLog, withTempDir } from "./_helpers.ts";
import { PathSecurityError } from "../src/core/errors.ts";
import { CommandExecutor } from "../src/runtime/executors/command_executor.ts";
import { DenoExecutor } from "../src/runtime/executors/deno_executor.ts";
import { FnExecutor } from "../src/runtime/executors/fn_executor.ts";
import { runInBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import { attemptContext, bwrapTest, HOST_ROOT_MOUNTS } from "./_executor_fixtures.ts";

/** A workspace, and a file outside it that a planted link points to. */
async function withVictim(fn: (ws: string, victim: string) => Promise<void>): Promise<void> {
  await withTempDir(async (ws) => {
    await withTempDir(async (outside) => {
      const victim = join(outside, "victim.txt");
      await Deno.writeTextFile(victim, "untouched");
      await fn(ws, victim);
      assertEquals(await Deno.readTextFile(victim), "untouched");
    });
  });
}

for (const stream of ["stdoutPath", "stderrPath"] as const) {
  Deno.test(`command executor refuses a symlink planted at its ${stream} and leaves the target unchanged`, async () => {
    await withVictim(async (ws, victim) => {
      const ctx = await attemptContext(ws);
      await Deno.symlink(victim, ctx[stream]);
      const result = await new CommandExecutor({ bubblewrap: false }).execute(
        { kind: "command", argv: ["sh", "-c", "echo out; echo err >&2"] },
        ctx,
      );
      assertEquals(result.status, "failed");
      assertEquals(result.exitCode, null);
      assertMatch(
        result.message ?? "",
        /^Refusing to write ".*": a symbolic link is already there/,
      );
      assertEquals(result.summary.executor, "command");
    });
  });
}

Deno.test("command executor does not create the target of a dangling symlink planted at its log path", async () => {
  await withVictim(async (ws, victim) => {
    const ctx = await attemptContext(ws);
    const target = `${victim}.new`;
    await Deno.symlink(target, ctx.stdoutPath);
    const result = await new CommandExecutor({ bubblewrap: false }).execute(
      { kind: "command", argv: ["echo", "hi"] },
      ctx,
    );
    assertEquals(result.status, "failed");
    assertEquals(await Deno.lstat(target).catch(() => "absent"), "absent");
  });
});

Deno.test("command executor replaces a hard link planted at its log path instead of writing through it", async () => {
  await withVictim(async (ws, victim) => {
    const ctx = await attemptContext(ws);
    try {
      await Deno.link(victim, ctx.stdoutPath);
    } catch {
      return; // Another filesystem: no hard link to plant.
    }
    const result = await new CommandExecutor({ bubblewrap: false }).execute(
      { kind: "command", argv: ["echo", "hi"] },
      ctx,
    );
    assertEquals(result.status, "succeeded");
    assertEquals(await readLog(ctx.stdoutPath), "hi\n");
  });
});

Deno.test("command executor refuses a log dir that is a symlink", async () => {
  await withVictim(async (ws, victim) => {
    const ctx = await attemptContext(ws);
    const logs = dirname(ctx.stdoutPath);
    await Deno.remove(logs, { recursive: true });
    await Deno.symlink(join(victim, ".."), logs);
    const result = await new CommandExecutor({ bubblewrap: false }).execute(
      { kind: "command", argv: ["echo", "hi"] },
      ctx,
    );
    assertEquals(result.status, "failed");
    assertMatch(result.message ?? "", /its directory is a symbolic link/);
    assertEquals(
      await Deno.lstat(join(victim, "..", "step.1.stdout.log")).catch(() => "absent"),
      "absent",
    );
  });
});

Deno.test("deno executor refuses a symlink planted at its stderr log", async () => {
  await withVictim(async (ws, victim) => {
    await Deno.writeTextFile(join(ws, "m.ts"), "console.error('err');\n");
    const ctx = await attemptContext(ws);
    await Deno.symlink(victim, ctx.stderrPath);
    const result = await new DenoExecutor({ bubblewrap: false }).execute(
      { kind: "deno", module: "m.ts", args: [] },
      ctx,
    );
    assertEquals(result.status, "failed");
    assertEquals(result.exitCode, null);
    assertMatch(result.message ?? "", /a symbolic link is already there/);
  });
});

Deno.test("fn executor refuses a symlink planted at its stderr log", async () => {
  await withVictim(async (ws, victim) => {
    const ctx = await attemptContext(ws);
    await Deno.symlink(victim, ctx.stderrPath);
    await assertRejects(
      () =>
        new FnExecutor().execute({
          kind: "fn",
          name: "boom",
          fn: () => {
            throw new Error("stack goes to stderr");
          },
        }, ctx),
      PathSecurityError,
      "a symbolic link is already there",
    );
  });
});

bwrapTest(
  "command gate under bubblewrap refuses a symlink planted at its log path",
  async (bwrap) => {
    await withVictim(async (ws, victim) => {
      const ctx = await attemptContext(ws, { readOnlyWorkspace: true, sandbox: true });
      await Deno.symlink(victim, ctx.stdoutPath);
      const result = await new CommandExecutor({ bubblewrap: bwrap }).execute(
        { kind: "command", argv: ["echo", "hi"] },
        ctx,
      );
      assertEquals(result.status, "failed");
      assertEquals(result.exitCode, null);
      assertMatch(result.message ?? "", /a symbolic link is already there/);
    });
  },
);

bwrapTest(
  "runInBubblewrap does not write its status through a symlink planted at its path",
  async (bwrap) => {
    await withVictim(async (ws, victim) => {
      const ctx = await attemptContext(ws);
      const status = join(dirname(ctx.stderrPath), ".step.1.stderr.log.bwrap-status.json");
      await Deno.symlink(victim, status);
      const result = await runInBubblewrap(["/bin/sh", "-c", "exit 4"], {
        bwrap,
        mounts: HOST_ROOT_MOUNTS,
        cwd: ws,
        env: {},
        stdoutPath: ctx.stdoutPath,
        stderrPath: ctx.stderrPath,
      });
      assertEquals(result.status, "failed");
      assertEquals(result.exitCode, 4);
    });
  },
);

bwrapTest(
  "deno step whose sandbox cannot be set up fails with exitCode null, naming the sandbox",
  async (bwrap) => {
    await withTempDir(async (ws) => {
      await withTempDir(async (outside) => {
        await Deno.writeTextFile(join(ws, "m.ts"), "console.log('ran');\n");
        // The cwd exists on the host but not in the sandbox's empty root.
        const ctx = await attemptContext(ws, { cwd: outside, sandbox: true });
        const result = await new DenoExecutor({ bubblewrap: bwrap }).execute(
          { kind: "deno", module: "m.ts", args: [] },
          ctx,
        );
        assertEquals(result.status, "failed");
        assertEquals(result.exitCode, null);
        assertEquals(
          result.message,
          `Working directory "${outside}" does not exist inside the bubblewrap sandbox; ` +
            "expected a directory the sandbox mounts",
        );
        assertEquals(result.summary.sandbox, "bubblewrap");
        assertEquals(await readLog(ctx.stdoutPath), "");
      });
    });
  },
);
