import { assert, assertEquals, assertNotEquals, assertRejects } from "./_assert.ts";
import { join } from "node:path";
import { canonicalHash } from "../contracts.ts";
import { IntegrityError, NotFoundError, UsageError } from "../mod.ts";
import { openStore } from "../store.ts";
import { SqliteArtifactIndex } from "../src/store/sqlite/sqlite_artifact_index.ts";
import { withRunStore, withTempDir } from "./_helpers.ts";

Deno.test("a second put of the same content gets a new id and keeps the first", async () => {
  await withRunStore(async (_ws, store, runId) => {
    const a = await store.artifacts.putJson(runId, { v: 1 }, { type: "x.v1" });
    const b = await store.artifacts.putJson(runId, { v: 1 }, { type: "x.v1" });
    assertNotEquals(a.artifact_id, b.artifact_id);
    assertEquals(a.sha256, b.sha256);
    assertEquals((await store.artifacts.list(runId)).length, 2);
    assertEquals((await store.artifacts.query({ sha256: a.sha256 })).length, 2);
  });
});

Deno.test("an artifact directory is created exclusively, so a reused id cannot overwrite", async () => {
  await withTempDir(async (ws) => {
    const fixed = "11111111-1111-4111-8111-111111111111";
    const store = await openStore(ws, { newArtifactId: () => fixed });
    try {
      const { manifest } = await store.runs.create();
      const first = await store.artifacts.putText(manifest.run_id, "original", { type: "x.v1" });
      await assertRejects(
        () => store.artifacts.putText(manifest.run_id, "replacement", { type: "x.v1" }),
        Deno.errors.AlreadyExists,
      );
      assertEquals((await store.artifacts.get(first.artifact_id)).value, "original");
      assertEquals((await store.artifacts.list(manifest.run_id)).length, 1);
    } finally {
      store.close();
    }
  });
});

Deno.test("putJson stores canonical bytes whose file hash is the canonical hash", async () => {
  await withRunStore(async (ws, store, runId) => {
    const value = { z: [3, 1e21, 0.1], a: "é", m: { y: null, b: true } };
    const ref = await store.artifacts.putJson(runId, value, { type: "x.v1" });
    assertEquals(ref.sha256, canonicalHash(value));
    const text = await Deno.readTextFile(join(ws, ".iris", "runs", runId, ref.rel_path));
    assertEquals(text, '{"a":"é","m":{"b":true,"y":null},"z":[3,1e+21,0.1]}');
    assertEquals((await store.artifacts.get(ref)).value, value);
  });
});

Deno.test("putJson rejects values JSON cannot represent and writes nothing", async () => {
  await withRunStore(async (_ws, store, runId) => {
    for (const bad of [{ a: NaN }, { a: undefined }, { a: 1n }, [() => 1]]) {
      await assertRejects(() => store.artifacts.putJson(runId, bad, { type: "x.v1" }));
    }
    assertEquals(await store.artifacts.list(runId), []);
    assertEquals([...Deno.readDirSync(join(store.runs.location(runId), "artifacts"))], []);
  });
});

Deno.test("get checks that a reference belongs to its run and matches the index", async () => {
  await withRunStore(async (_ws, store, runId) => {
    const ref = await store.artifacts.putText(runId, "hi", { type: "x.v1" });
    const other = (await store.runs.create()).manifest.run_id;
    await assertRejects(() => store.artifacts.get({ ...ref, run_id: other }), IntegrityError);
    await assertRejects(
      () => store.artifacts.get({ ...ref, sha256: "0".repeat(64) }),
      IntegrityError,
    );
    await assertRejects(() => store.artifacts.openPath(other, ref.artifact_id), NotFoundError);
    await assertRejects(() => store.artifacts.get(crypto.randomUUID()), NotFoundError);
    assertEquals((await store.artifacts.get(ref)).value, "hi");
  });
});

Deno.test("every put records its producer and inputs", async () => {
  await withRunStore(async (ws, store, runId) => {
    const a = await store.artifacts.putText(runId, "a", { type: "x.v1" });
    assertEquals([a.producer_id, a.producer_kind], ["lily", "system"]);
    await Deno.writeTextFile(join(ws, "f.txt"), "f");
    const b = await store.artifacts.putFile(runId, join(ws, "f.txt"), {
      type: "y.v1",
      producer: { id: "step:build", kind: "tool" },
      inputs: [a.artifact_id],
      name: "built",
    });
    assertEquals(await store.artifacts.ref(b.artifact_id), b);
    assertEquals(b.input_artifact_refs, [a.artifact_id]);
    await assertRejects(
      () =>
        store.artifacts.putText(runId, "c", {
          type: "x.v1",
          producer: { id: "x", kind: "robot" as "tool" },
        }),
      UsageError,
    );
  });
});

Deno.test("cross-run queries filter by type, name, producer, sha256 and time window", async () => {
  let tick = Date.parse("2026-01-01T00:00:00Z");
  await withTempDir(async (ws) => {
    const store = await openStore(ws, { now: () => new Date(tick += 1000) });
    try {
      const r1 = (await store.runs.create()).manifest.run_id;
      const r2 = (await store.runs.create()).manifest.run_id;
      const a = await store.artifacts.putText(r1, "a", { type: "t.v1", name: "n" });
      const b = await store.artifacts.putText(r2, "b", {
        type: "t.v1",
        producer: { id: "p", kind: "tool" },
      });
      const c = await store.artifacts.putText(r2, "a", { type: "u.v1", name: "n" });
      const ids = (refs: { artifact_id: string }[]) => refs.map((r) => r.artifact_id);
      assertEquals(ids(await store.artifacts.query({ type: "t.v1" })), [
        b.artifact_id,
        a.artifact_id,
      ]);
      assertEquals(ids(await store.artifacts.query({ name: "n" })), [c.artifact_id, a.artifact_id]);
      assertEquals(ids(await store.artifacts.query({ producer: "p" })), [b.artifact_id]);
      assertEquals(ids(await store.artifacts.query({ sha256: a.sha256 })), [
        c.artifact_id,
        a.artifact_id,
      ]);
      assertEquals(
        ids(await store.artifacts.query({ since: b.created_at, until: c.created_at })),
        [b.artifact_id],
      );
      assertEquals(ids(await store.artifacts.list(r2, { limit: 1 })), [c.artifact_id]);
    } finally {
      store.close();
    }
    const index = new SqliteArtifactIndex(join(ws, ".iris", "index.sqlite"));
    try {
      assert(index.schemaVersion >= 1);
    } finally {
      index.close();
    }
  });
});

Deno.test("manifest updates are atomic rewrites that keep identity fields", async () => {
  await withRunStore(async (_ws, store, runId) => {
    const before = await store.runs.get(runId);
    const after = await store.runs.update(runId, () => ({ status: "running" }));
    assertEquals(after.status, "running");
    assertEquals(after.created_at, before.created_at);
    assertEquals((await store.runs.get(runId)).status, "running");
    const dir = [...Deno.readDirSync(store.runs.location(runId))].map((e) => e.name).sort();
    assertEquals(dir, [".lock", "artifacts", "logs", "run_manifest.json", "tmp"]);
  });
});
