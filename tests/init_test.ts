/**
 * `lily init [--pack NAME]`: what it writes runs as written, and it never
 * overwrites a file.
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { assertCleanError, lily, lilyJson, SANDBOX_ENV, withTempDir } from "./_helpers.ts";

Deno.test("lily init writes lily.json and workflow.yaml, and the workflow runs as written", async () => {
  await withTempDir(async (ws) => {
    const init = await lily(["init"], { workspace: ws });
    assertEquals(init.code, 0, init.stderr);
    assertEquals(init.stdout.split("\n").slice(0, 2), ["wrote lily.json", "wrote workflow.yaml"]);
    const config = JSON.parse(await Deno.readTextFile(join(ws, "lily.json")));
    assertEquals(config.packs, {});
    const run = await lily(["run", "start", "workflow.yaml"], { workspace: ws, env: SANDBOX_ENV });
    assertEquals(run.code, 0, run.stderr);
    const greetings = await lilyJson<unknown[]>(["artifact", "list", "--type", "greeting.v1"], ws);
    assertEquals(greetings.length, 1);
  });
});

Deno.test("lily init --pack deno writes the deno pack's example, which runs green in an empty workspace", async () => {
  await withTempDir(async (ws) => {
    const init = await lilyJson<{ files: string[]; pack: string }>(["init", "--pack", "deno"], ws);
    assertEquals(init, { workspace: ws, files: ["lily.json", "workflow.yaml"], pack: "deno" });
    assertMatch(await Deno.readTextFile(join(ws, "workflow.yaml")), /uses: deno\/test/);
    const check = await lily(["check", "workflow.yaml"], { workspace: ws });
    assertEquals(check.code, 0, check.stderr);
    assertMatch(check.stdout, /1\. test {2}uses deno\/test → deno test --reporter=dot/);
    const run = await lily(["run", "start", "workflow.yaml"], { workspace: ws, env: SANDBOX_ENV });
    assertEquals(run.code, 0, run.stderr);
    assertMatch(run.stderr, /gate fmt on test#1: pass/);
  });
});

Deno.test("lily init refuses to overwrite, naming the files, and writes nothing for an unknown pack", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "workflow.yaml"), "mine\n");
    const refused = await lily(["init"], { workspace: ws });
    assertCleanError(refused, 2, /lily init writes no file that exists; workflow\.yaml exists in /);
    assertEquals(await Deno.readTextFile(join(ws, "workflow.yaml")), "mine\n");
    await Deno.remove(join(ws, "workflow.yaml"));
    const unknown = await lily(["init", "--pack", "nope"], { workspace: ws });
    assertCleanError(unknown, 1, /No pack named "nope"; known: deno/);
    assertEquals([...Deno.readDirSync(ws)], []);
    assertEquals((await lily(["init"], { workspace: ws })).code, 0);
    const again = await lily(["init", "--json"], { workspace: ws });
    assertEquals(again.code, 2);
    assertMatch(
      JSON.parse(again.stdout).error.message,
      /lily\.json and workflow\.yaml exist in .*: move them away or init another workspace/,
    );
  });
});
