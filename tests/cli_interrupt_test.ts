/**
 * Ctrl-C before a run exists ends `lily run start` at once, as a command
 * without a handler would: the interrupt handler that cancels runs is armed
 * only once the workflow and its inputs are read and checked.
 */

import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { CLI, waitFor, withTempDir } from "./_helpers.ts";

/** Whether a thread of the process is blocked in read(2) on its stdin (or a copy of it). */
async function readingStdin(pid: number): Promise<true | undefined> {
  const stdin = await Deno.readLink(`/proc/${pid}/fd/0`);
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      const syscall = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/syscall`);
      const [nr, fd] = syscall.split(" ");
      if (nr !== "0" || fd === undefined) continue;
      if (await Deno.readLink(`/proc/${pid}/fd/${parseInt(fd, 16)}`) === stdin) return true;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return undefined;
}

Deno.test("Ctrl-C while run start reads the workflow from stdin ends the command and creates nothing", async () => {
  await withTempDir(async (ws) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", CLI, "run", "start", "-"],
      cwd: ws,
      env: { LILY_WORKSPACE: ws, NO_COLOR: "1" },
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const stdin = child.stdin.getWriter();
    try {
      await waitFor("lily to read stdin", () => readingStdin(child.pid), 15_000);
      child.kill("SIGINT");
      const ended = await Promise.race([
        child.status,
        new Promise<"still running">((resolve) =>
          setTimeout(() => resolve("still running"), 10_000)
        ),
      ]);
      assert(ended !== "still running", "lily kept waiting on stdin after Ctrl-C");
      assertEquals(ended.signal, "SIGINT");
      await assertGone(join(ws, ".iris"));
    } finally {
      await stdin.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch { /* it ended */ }
      await child.status;
    }
  });
});

async function assertGone(path: string): Promise<void> {
  const exists = await Deno.stat(path).then(() => true, () => false);
  assertEquals(exists, false, `${path} was created`);
}
