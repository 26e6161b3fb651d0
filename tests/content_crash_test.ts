/**
 * A put killed at each point between its durable writes leaves at most a
 * payload or temp file nothing references (and the key it reserved), which
 * `lily verify` reports as warnings and `lily gc` removes.
 */

import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { lily, lilyJson, withTempDir } from "./_helpers.ts";

interface Finding {
  kind: string;
  severity: string;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...(await files(path)).map((p) => join(entry.name, p)));
    else out.push(entry.name);
  }
  return out.sort();
}

for (const point of ["put.staged", "put.stored", "put.linked"]) {
  Deno.test(`a put killed at ${point} leaves only what verify reports and gc removes`, async () => {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(join(ws, "note.txt"), `crashed at ${point}`);
      const run = await lilyJson<{ run_id: string }>(["run", "new"], ws);
      const cas = join(ws, ".iris", "cas");
      const artifacts = join(ws, ".iris", "runs", run.run_id, "artifacts");
      const killed = await lily([
        "artifact",
        "put",
        run.run_id,
        "--type",
        "t.v1",
        "--file",
        "note.txt",
      ], {
        workspace: ws,
        env: { LILY_TEST_CRASH_AT: point },
      });
      assertEquals(killed.code, 137, killed.stderr);
      assertEquals(await lilyJson<unknown[]>(["artifact", "list", "--run", run.run_id], ws), []);
      const verify = await lilyJson<{ ok: boolean; findings: Finding[] }>(["verify"], ws);
      assert(verify.ok && verify.findings.length > 0, JSON.stringify(verify.findings));
      assert(
        verify.findings.every((f) => f.severity === "warning"),
        JSON.stringify(verify.findings),
      );
      await lilyJson(["gc"], ws);
      const clean = await lilyJson<{ ok: boolean; findings: Finding[] }>(["verify"], ws);
      assertEquals([clean.ok, clean.findings], [true, []]);
      assertEquals(await files(cas), [".lock"]);
      assertEquals(await files(artifacts), []);
    });
  });
}
