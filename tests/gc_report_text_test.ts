/**
 * `lily gc` without `--json` names every path it removes (or would remove),
 * the traces of interrupted puts included, so a dry run shows a person what
 * the real one will do.
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { lily, lilyJson, withTempDir } from "./_helpers.ts";

Deno.test("gc's text report names the artifact directory an interrupted put left", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "note.txt"), "half stored");
    const run = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const put = ["artifact", "put", run.run_id, "--type", "t.v1", "--file", "note.txt"];
    const killed = await lily(put, { workspace: ws, env: { LILY_TEST_CRASH_AT: "put.linked" } });
    assertEquals(killed.code, 137, killed.stderr);
    const [orphan] = (await lilyJson<{ keys: string[] }>(["gc", "--dry-run"], ws)).keys;
    assertMatch(orphan, new RegExp(`^${run.run_id}/artifacts/[0-9a-f-]{36}/note\\.txt$`));

    const dry = await lily(["gc", "--dry-run"], { workspace: ws });
    assertEquals(dry.code, 0, dry.stderr);
    assertMatch(dry.stdout, new RegExp(`path ${orphan}: would be removed \\(interrupted put\\)`));
    assertMatch(dry.stdout, /1 path of interrupted puts would be removed/);
    const done = await lily(["gc"], { workspace: ws });
    assertMatch(done.stdout, new RegExp(`path ${orphan}: removed \\(interrupted put\\)`));
    assertMatch(done.stdout, /1 path of interrupted puts removed/);
  });
});
