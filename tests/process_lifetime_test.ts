/**
 * A step's whole process tree lives and dies with its attempt and with its
 * runner: a `setsid` daemon is gone when the step ends or times out, and a
 * runner killed by SIGKILL takes its step's processes with it at once, so
 * the step's side effect never happens and resume runs the step once more.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { CommandExecutor } from "../src/runtime/executors/command_executor.ts";
import { attemptContext, bwrapTest, PATH } from "./_executor_fixtures.ts";
import {
  assertNoProcessWith,
  firstRunId,
  lily,
  lilyInBackground,
  marker,
  processesWith,
  readLog,
  waitFor,
  waitForEvent,
  withTempDir,
} from "./_helpers.ts";

async function startFlow(ws: string, flow: string) {
  await Deno.writeTextFile(join(ws, "flow.yaml"), flow);
  const result = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
  return { ...result, doc: JSON.parse(result.stdout) };
}

bwrapTest("command step under bubblewrap leaves no setsid daemon behind", async (bwrap) => {
  await withTempDir(async (ws) => {
    const mark = marker();
    const ctx = await attemptContext(ws, { env: { PATH }, sandbox: true });
    const result = await new CommandExecutor({ bubblewrap: bwrap }).execute(
      {
        kind: "command",
        // The pause lets the daemon reach its own session before the step ends.
        argv: [
          "sh",
          "-c",
          `setsid sleep ${mark} > /dev/null 2>&1 & sleep 0.3; echo started > step.txt`,
        ],
      },
      ctx,
    );
    assertEquals(result.status, "succeeded");
    assertEquals(result.summary.sandbox, "bubblewrap");
    // A step keeps its access: it wrote the workspace.
    assertEquals(await Deno.readTextFile(join(ws, "step.txt")), "started\n");
    await assertNoProcessWith(mark);
  });
});

bwrapTest(
  "command step under bubblewrap gets SIGTERM and its grace on timeout, then the tree dies",
  async (bwrap) => {
    await withTempDir(async (ws) => {
      const mark = marker();
      const ctx = await attemptContext(ws, { env: { PATH }, timeoutMs: 500, sandbox: true });
      const result = await new CommandExecutor({ bubblewrap: bwrap, killGraceMs: 5000 }).execute(
        {
          kind: "command",
          argv: [
            "sh",
            "-c",
            `trap 'echo terminated; exit 0' TERM; setsid sleep ${mark} > /dev/null 2>&1 & ` +
            `sleep ${mark} & wait`,
          ],
        },
        ctx,
      );
      assertEquals(result.status, "timeout");
      assertEquals(await readLog(ctx.stdoutPath), "terminated\n");
      await assertNoProcessWith(mark);
    });
  },
);

Deno.test("without bubblewrap a setsid daemon escapes the group kill (the documented limit)", async () => {
  await withTempDir(async (ws) => {
    const mark = marker();
    const ctx = await attemptContext(ws, { env: { PATH } });
    try {
      const result = await new CommandExecutor({ bubblewrap: false }).execute(
        {
          kind: "command",
          argv: ["sh", "-c", `setsid sleep ${mark} > /dev/null 2>&1 & sleep 0.3`],
        },
        ctx,
      );
      assertEquals(result.status, "succeeded");
      assertEquals(result.summary.sandbox, "none");
      const escaped = await waitFor("the daemon", async () => {
        const pids = await processesWith(mark);
        return pids.length > 0 ? pids : undefined;
      });
      assertEquals(escaped.length, 1);
    } finally {
      for (const pid of await processesWith(mark)) Deno.kill(pid, "SIGKILL");
      await assertNoProcessWith(mark);
    }
  });
});

bwrapTest("a step's setsid daemon is gone once the step ends, and once it times out", async () => {
  await withTempDir(async (ws) => {
    const done = marker();
    const hung = marker();
    const { doc } = await startFlow(
      ws,
      [
        "name: daemons",
        "steps:",
        `  - { id: leaves, shell: 'setsid sleep ${done} > /dev/null 2>&1 & sleep 0.3' }`,
        "  - id: hangs",
        `    shell: 'setsid sleep ${hung} > /dev/null 2>&1 & sleep ${hung}'`,
        "    timeout: 500ms",
      ].join("\n") + "\n",
    );
    assertEquals(doc.run_state.steps.leaves.attempts[0].status, "succeeded");
    assertEquals(doc.run_state.steps.hangs.attempts[0].status, "timeout");
    await assertNoProcessWith(done);
    await assertNoProcessWith(hung);
  });
});

bwrapTest(
  "a runner killed by SIGKILL takes its step's processes with it; resume runs the step once more",
  async () => {
    await withTempDir(async (ws) => {
      const mark = marker();
      // Unique to this test, so the shell running it can be found by its argv.
      const script = `setsid sleep ${mark} > /dev/null 2>&1 & sleep 2; echo ${mark} >> effect.txt`;
      await Deno.writeTextFile(
        join(ws, "flow.yaml"),
        `name: crash\nsteps:\n  - { id: effect, shell: '${script}' }\n`,
      );
      const runner = lilyInBackground(["run", "start", "flow.yaml"], ws);
      const runId = await firstRunId(ws);
      await waitForEvent(ws, runId, "attempt_spawned", "the step to spawn");
      await waitFor("the daemon", async () => (await processesWith(mark)).length > 0 || undefined);
      assert((await processesWith(script)).length > 0, "the step's shell runs");
      runner.child.kill("SIGKILL");
      await runner.done;
      // At once, not after the step's 2 s.
      await assertNoProcessWith(mark, 1000);
      await assertNoProcessWith(script, 1000);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assertEquals(await Deno.readTextFile(join(ws, "effect.txt")).catch(() => ""), "");

      const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
      assertEquals(resumed.code, 0, resumed.stderr);
      const attempts = JSON.parse(resumed.stdout).run_state.steps.effect.attempts;
      assertEquals(attempts.map((a: { status: string }) => a.status), ["interrupted", "succeeded"]);
      assertEquals(await Deno.readTextFile(join(ws, "effect.txt")), `${mark}\n`);
      await assertNoProcessWith(mark);
    });
  },
);

bwrapTest(
  "a runner killed by SIGKILL while a gate runs takes the gate's processes with it",
  async () => {
    await withTempDir(async (ws) => {
      const mark = marker();
      await Deno.writeTextFile(
        join(ws, "flow.yaml"),
        [
          "name: gated",
          "steps:",
          "  - { id: build, shell: 'true' }",
          "gates:",
          `  - { id: slow, step: build, shell: 'setsid sleep ${mark} > /dev/null 2>&1 & sleep ${mark}' }`,
        ].join("\n") + "\n",
      );
      const runner = lilyInBackground(["run", "start", "flow.yaml"], ws);
      await waitFor(
        "the gate's sleeps",
        async () => (await processesWith(mark)).length > 1 || undefined,
      );
      runner.child.kill("SIGKILL");
      await runner.done;
      await assertNoProcessWith(mark, 1000);
      const show = await lily(["run", "list"], { workspace: ws });
      assertMatch(show.stdout, /running \(runner gone/);
    });
  },
);
