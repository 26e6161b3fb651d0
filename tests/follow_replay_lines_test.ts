/**
 * `lily run show --follow` as text names what a rerun and a replacement did
 * (not just the event's type), and `--history`, which a follower cannot
 * show, is refused with it.
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { assertCleanError, lily } from "./_helpers.ts";
import { show, startDiamond } from "./_replay_fixtures.ts";
import { withTempDir } from "./_helpers.ts";

Deno.test("run show --follow lines of a rerun and a replacement name the step, the artifacts and the steps reset", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const rerun = await lily(["run", "rerun", runId, "--from", "b"], { workspace: ws });
    assertEquals(rerun.code, 0, rerun.stderr);
    const original = (await show(ws, runId)).run_state.steps.c.outputs.v;
    await Deno.writeTextFile(join(ws, "c.txt"), "c by hand\n");
    const replaced = await lily(
      ["artifact", "replace", runId, original, "--text-file", "c.txt", "--reason", "by hand"],
      { workspace: ws },
    );
    assertEquals(replaced.code, 0, replaced.stderr);
    const followed = await lily(["run", "show", runId, "--follow"], { workspace: ws });
    const lines = followed.stdout.split("\n");
    const rerunLine = lines.find((l) => l.includes(" rerun_requested"));
    assertMatch(rerunLine ?? "", / rerun_requested from="b" reset=b,d by="[^"]+"$/);
    const replacedLine = lines.find((l) => l.includes(" artifact_replaced"));
    assertMatch(
      replacedLine ?? "",
      new RegExp(
        ` artifact_replaced original="${original}" replacement="[0-9a-f-]{36}" reset=d by="`,
      ),
    );
  });
});

Deno.test("run show --follow --history is a usage error: a follower prints events, not the history", async () => {
  await withTempDir(async (ws) => {
    const runId = await startDiamond(ws);
    const result = await lily(["run", "show", runId, "--follow", "--history"], { workspace: ws });
    assertCleanError(result, 2, /--history.*--follow|--follow.*--history/);
  });
});
