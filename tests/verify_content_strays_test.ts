/**
 * `lily verify` reports every entry under `.iris/cas/` the content store did
 * not write, inside its two-hex-digit directories too: a file whose name is
 * no sha256, or a payload name filed under another hash's directory.
 */

import { assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { lilyJson, withTempDir } from "./_helpers.ts";

interface Finding {
  kind: string;
  severity: string;
  path: string;
}

Deno.test("verify names strays inside the content store's hash directories", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "note.txt"), "kept");
    const run = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const put = ["artifact", "put", run.run_id, "--type", "t.v1", "--file", "note.txt"];
    const ref = await lilyJson<{ sha256: string }>(put, ws);
    const cas = join(ws, ".iris", "cas");
    const shard = ref.sha256.slice(0, 2);
    const other = shard === "00" ? "01" : "00";
    const notAHash = join(cas, shard, "notes-by-hand.txt");
    const misfiled = join(cas, other, `${shard}${"e".repeat(62)}`);
    await Deno.writeTextFile(notAHash, "mine");
    await Deno.writeTextFile(misfiled, "misfiled");

    const report = await lilyJson<{ ok: boolean; findings: Finding[] }>(["verify"], ws);
    const strays = report.findings.filter((f) => f.kind === "stray_entry");
    assertEquals(
      strays.map((f) => [f.path, f.severity]).sort(),
      [
        [misfiled, "warning"],
        [notAHash, "warning"],
      ].sort(),
    );
    assertEquals(report.ok, true);
    assertEquals(report.findings.length, 2, JSON.stringify(report.findings));
  });
});
