/**
 * A follower that looks at the lease of an ended run just before a rerun
 * takes it, and then reads the rerun's first event, follows the rerun
 * instead of saying that no runner runs the run. The follower is stopped
 * between the two looks (`LILY_TEST_PAUSE_AT=follow_lease_checked`) and the
 * rerun once it holds the lease and journaled its request
 * (`LILY_TEST_PAUSE_AT=replay_requested`), so the window is hit every time.
 */

import { assertEquals } from "./_assert.ts";
import { lilyInBackground, waitFor, waitForEvent, withTempDir } from "./_helpers.ts";
import { startDiamond } from "./_replay_fixtures.ts";

async function isStopped(pid: number): Promise<boolean> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  return / T /.test(stat.slice(stat.lastIndexOf(")")));
}

async function waitStopped(pid: number, what: string): Promise<void> {
  await waitFor(what, async () => (await isStopped(pid)) || undefined);
}

Deno.test("a follower that reads a rerun's first event after seeing no runner follows the rerun to its end", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const follower = lilyInBackground(["run", "show", runId, "--follow", "--json"], ws, {
      LILY_TEST_PAUSE_AT: "follow_lease_checked",
    });
    const rerun = lilyInBackground(["run", "rerun", runId, "--from", "d"], ws, {
      LILY_TEST_PAUSE_AT: "replay_requested",
    });
    let resumed = false;
    const keepGoing = async () => {
      while (!resumed) {
        if (await isStopped(follower.child.pid)) follower.child.kill("SIGCONT");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      await waitStopped(follower.child.pid, "the follower to look at the lease");
      await waitForEvent(ws, runId, "rerun_requested", "the rerun to be journaled");
      await waitStopped(rerun.child.pid, "the rerun to stop holding the lease");
      const pumping = keepGoing();
      // The follower reads rerun_requested with the lease held by the stopped rerun.
      await new Promise((resolve) => setTimeout(resolve, 500));
      rerun.child.kill("SIGCONT");
      const ran = await rerun.done;
      assertEquals(ran.code, 0, ran.stderr);
      const followed = await Promise.race([
        follower.done,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000)),
      ]);
      resumed = true;
      await pumping;
      if (followed === null) throw new Error("the follower did not end with the rerun");
      assertEquals(followed.code, 0, followed.stderr);
      const events = followed.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const last = events.at(-1);
      assertEquals([last.type, last.status], ["run_finished", "succeeded"]);
      assertEquals(
        events.some((e) => e.type === "attempt_started" && e.step === "d" && e.cause === "rerun"),
        true,
      );
    } finally {
      resumed = true;
      for (const bg of [follower, rerun]) {
        try {
          bg.child.kill("SIGKILL");
        } catch { /* already ended */ }
        await bg.done;
      }
    }
  });
});
