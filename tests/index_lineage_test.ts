/**
 * The SQLite index's lineage table (`artifact_inputs`, schema version 3):
 * an index written by a kernel before it (version 2) gets the table filled
 * from every row's inputs when it is opened, and rows inserted afterwards
 * are added by the trigger.
 */

import { assertEquals } from "./_assert.ts";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { openStore } from "../src/store/store.ts";
import { withTempDir } from "./_helpers.ts";

Deno.test("an index of schema version 2 gets its lineage table on open; new rows keep it", async () => {
  await withTempDir(async (ws) => {
    const ids: string[] = [];
    let store = await openStore(ws);
    const run = (await store.runs.create()).manifest.run_id;
    const other = (await store.runs.create()).manifest.run_id;
    try {
      const source = await store.artifacts.putJson(run, { n: 1 }, { type: "t.v1" });
      const made = await store.artifacts.putJson(run, { n: 2 }, {
        type: "t.v1",
        inputs: [source.artifact_id],
      });
      const later = await store.artifacts.putJson(other, { n: 3 }, {
        type: "t.v1",
        inputs: [made.artifact_id, source.artifact_id],
      });
      ids.push(source.artifact_id, made.artifact_id, later.artifact_id);
    } finally {
      store.close();
    }
    const db = new DatabaseSync(join(ws, ".iris", "index.sqlite"));
    try {
      db.exec(
        "DROP TRIGGER artifacts_lineage; DROP TABLE artifact_inputs; PRAGMA user_version = 2",
      );
    } finally {
      db.close();
    }
    store = await openStore(ws, { create: false });
    try {
      const [source, made, later] = ids;
      const outputs = async (id: string) =>
        (await store.index.lineage(id)).outputs.map((r) => r.artifact_id);
      assertEquals(await outputs(source), [made, later]);
      assertEquals(await outputs(made), [later]);
      const newer = await store.artifacts.putJson(run, { n: 4 }, { type: "t.v1", inputs: [later] });
      assertEquals(await outputs(later), [newer.artifact_id]);
    } finally {
      store.close();
    }
  });
});
