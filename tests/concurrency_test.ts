import { assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { openStore } from "../store.ts";
import { REPO, withTempDir } from "./_helpers.ts";

const LOOP = join(REPO, "tests", "testdata", "put_loop.ts");
const PUTS = 40;

Deno.test("ten processes putting into one shared run and their own runs lose nothing", async () => {
  await withTempDir(async (ws) => {
    const store = await openStore(ws);
    const shared = (await store.runs.create()).manifest.run_id;
    const own = [];
    for (let i = 0; i < 5; i++) own.push((await store.runs.create()).manifest.run_id);
    store.close();
    const targets = [shared, shared, shared, shared, shared, ...own];
    const children = targets.map((runId, i) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", LOOP, ws, runId, String(PUTS), `p${i}`],
        stdout: "piped",
        stderr: "piped",
      }).output()
    );
    const results = await Promise.all(children);
    const decoder = new TextDecoder();
    for (const result of results) {
      assertEquals(decoder.decode(result.stderr), "");
      assertEquals(result.code, 0);
    }
    const acknowledged = results.flatMap((r) =>
      decoder.decode(r.stdout).split("\n").filter((l) => l.startsWith("put ")).map((l) =>
        l.split(" ")[1]
      )
    );
    const putsPerChild = PUTS - PUTS / 4;
    assertEquals(acknowledged.length, targets.length * putsPerChild);
    const check = await openStore(ws, { create: false });
    try {
      assertEquals((await check.artifacts.list(shared)).length, 5 * putsPerChild);
      for (const runId of own) {
        assertEquals((await check.artifacts.list(runId)).length, putsPerChild);
      }
      for (const id of acknowledged) await check.artifacts.ref(id);
      const report = await check.verify();
      assertEquals(report.findings, []);
      assertEquals(report.artifacts_checked, acknowledged.length);
    } finally {
      check.close();
    }
  });
});

Deno.test("eight CLI processes creating runs in a fresh workspace all succeed", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "wo.txt"), "work\n");
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--quiet",
            join(REPO, "cli.ts"),
            "run",
            "new",
            "--work-order",
            "wo.txt",
          ],
          cwd: ws,
          stdout: "piped",
          stderr: "piped",
        }).output()),
    );
    for (const result of results) {
      assertEquals(new TextDecoder().decode(result.stderr), "");
      assertEquals(result.code, 0);
    }
    const check = await openStore(ws, { create: false });
    try {
      assertEquals((await check.runs.list()).length, 8);
      assertEquals((await check.artifacts.query({ type: "work_order.v1" })).length, 8);
      assertEquals((await check.verify()).findings, []);
    } finally {
      check.close();
    }
  });
});
