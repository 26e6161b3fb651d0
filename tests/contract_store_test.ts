import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { canonicalHash, kernelRegistry, SchemaRegistry } from "../contracts.ts";
import { NotFoundError, UsageError, ValidationError } from "../mod.ts";
import { type ContractStore, openContractStore, openStore } from "../store.ts";
import { BROKEN, broken, VALID } from "./_contract_samples.ts";
import { fingerprint, withTempDir } from "./_helpers.ts";

const KERNEL_IDS = Object.keys(VALID);

async function withContractStore(
  fn: (store: ContractStore, runId: string, workspace: string) => Promise<void>,
): Promise<void> {
  await withTempDir(async (workspace) => {
    const store = await openContractStore(workspace);
    try {
      const { manifest } = await store.runs.create();
      await fn(store, manifest.run_id, workspace);
    } finally {
      store.close();
    }
  });
}

async function fileSha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

Deno.test("put, get and validate round-trip a bare payload of every kernel type", async () => {
  await withContractStore(async (store, runId) => {
    for (const id of KERNEL_IDS) {
      const ref = await store.artifacts.putJson(runId, VALID[id], { type: id });
      assertEquals(ref.artifact_type, id);
      assertEquals(ref.storage_kind, "json");
      const { value } = await store.artifacts.get(ref);
      assertEquals(value, VALID[id]);
      assertEquals(store.registry.validate(id, value), { ok: true, value });
      const path = join(store.runs.location(runId), ref.rel_path);
      assertEquals(ref.sha256, canonicalHash(VALID[id]));
      assertEquals(await fileSha256(path), canonicalHash(VALID[id]));
    }
  });
});

Deno.test("envelopes of every kernel type round-trip with their meta, typed by schema id", async () => {
  await withContractStore(async (store, runId) => {
    for (const id of KERNEL_IDS) {
      const meta = { label: `sample ${id}`, tags: ["a", "b"] };
      const ref = await store.envelopes.put(runId, { schema_id: id, payload: VALID[id], meta }, {
        producer: { id: "tester", kind: "tool" },
      });
      assertEquals(ref.artifact_type, id);
      assertEquals(ref.producer_id, "tester");
      const { envelope, bare } = await store.envelopes.get(ref.artifact_id);
      assertEquals(bare, false);
      assertEquals(envelope, { schema_id: id, payload: VALID[id], meta });
      assert(store.registry.validate(id, envelope.payload).ok);
      const path = join(store.runs.location(runId), ref.rel_path);
      assertEquals(await fileSha256(path), canonicalHash(envelope));
      assertEquals(ref.sha256, canonicalHash(envelope));
    }
  });
});

Deno.test("envelopes.put() stores meta as {} when none is given", async () => {
  await withContractStore(async (store, runId) => {
    const ref = await store.envelopes.put(runId, {
      schema_id: "work_order.v1",
      payload: { goal: "x" },
    });
    assertEquals((await store.artifacts.get(ref)).value, {
      schema_id: "work_order.v1",
      payload: { goal: "x" },
      meta: {},
    });
  });
});

Deno.test("envelopes.get() presents a bare payload of a registered type with empty meta", async () => {
  await withContractStore(async (store, runId) => {
    const ref = await store.artifacts.putJson(runId, VALID["gate_result.v1"], {
      type: "gate_result.v1",
    });
    const { envelope, bare } = await store.envelopes.get(ref);
    assertEquals(bare, true);
    assertEquals(envelope, {
      schema_id: "gate_result.v1",
      payload: VALID["gate_result.v1"],
      meta: {},
    });
  });
});

Deno.test("a rejected put of every kernel type leaves no file and no index row", async () => {
  await withContractStore(async (store, runId, workspace) => {
    const before = await fingerprint(join(workspace, ".iris"));
    for (const id of KERNEL_IDS) {
      await assertRejects(
        () => store.artifacts.putJson(runId, broken(id), { type: id }),
        (e: unknown) => {
          assert(e instanceof ValidationError);
          assert(e.message.startsWith(`Artifact of type ${id} does not match schema ${id}`));
          assert(e.message.includes(BROKEN[id].path), e.message);
          return true;
        },
      );
      await assertRejects(
        () => store.envelopes.put(runId, { schema_id: id, payload: broken(id) }),
        (e: unknown) => {
          assert(e instanceof ValidationError);
          assert(e.message.includes(`$.payload${BROKEN[id].path.slice(1)}`), e.message);
          return true;
        },
      );
    }
    assertEquals(await fingerprint(join(workspace, ".iris")), before);
    assertEquals(await store.artifacts.list(runId), []);
  });
});

Deno.test("an envelope must name its artifact type and keep an object in meta", async () => {
  await withContractStore(async (store, runId, workspace) => {
    const before = await fingerprint(join(workspace, ".iris"));
    await assertRejects(
      () =>
        store.artifacts.putJson(runId, {
          schema_id: "gate_result.v1",
          payload: VALID["work_order.v1"],
          meta: [],
        }, { type: "work_order.v1" }),
      (e: unknown) => {
        assert(e instanceof ValidationError);
        assertEquals(e.issues.map((i) => i.path), ["$.schema_id", "$.meta"]);
        assert(e.message.includes('expected the artifact type "work_order.v1"'), e.message);
        return true;
      },
    );
    await assertRejects(
      () =>
        store.envelopes.put(runId, {
          schema_id: "work_order.v1",
          payload: { goal: "x" },
          meta: "note" as unknown as Record<string, never>,
        }),
      ValidationError,
      "$.meta: expected object",
    );
    assertEquals(await fingerprint(join(workspace, ".iris")), before);
  });
});

Deno.test("envelopes.put() of an unregistered schema id writes nothing", async () => {
  await withContractStore(async (store, runId, workspace) => {
    const before = await fingerprint(join(workspace, ".iris"));
    await assertRejects(
      () => store.envelopes.put(runId, { schema_id: "unknown.v1", payload: {} }),
      NotFoundError,
      'Unknown schema "unknown.v1"',
    );
    assertEquals(await fingerprint(join(workspace, ".iris")), before);
  });
});

Deno.test("puts of unregistered types pass through unvalidated", async () => {
  await withContractStore(async (store, runId) => {
    const ref = await store.artifacts.putJson(runId, { anything: [1, 2] }, { type: "notes.v1" });
    assertEquals((await store.artifacts.get(ref)).value, { anything: [1, 2] });
    await assertRejects(
      () => store.envelopes.get(ref),
      NotFoundError,
      "which no registered schema describes",
    );
  });
});

Deno.test("envelopes.get() validates what it reads, even if it was stored unchecked", async () => {
  await withTempDir(async (workspace) => {
    const plain = await openStore(workspace);
    let artifactId: string;
    let textId: string;
    try {
      const { manifest } = await plain.runs.create();
      artifactId = (await plain.artifacts.putJson(manifest.run_id, broken("gate_result.v1"), {
        type: "gate_result.v1",
      })).artifact_id;
      textId = (await plain.artifacts.putText(manifest.run_id, "hi", { type: "work_order.v1" }))
        .artifact_id;
    } finally {
      plain.close();
    }
    const store = await openContractStore(workspace);
    try {
      await assertRejects(
        () => store.envelopes.get(artifactId),
        ValidationError,
        `Stored artifact ${artifactId} does not match schema gate_result.v1 (origin kernel): $.status`,
      );
      await assertRejects(() => store.envelopes.get(textId), UsageError, "text artifact");
    } finally {
      store.close();
    }
  });
});

Deno.test("an artifact records the exact versioned id it was validated against", async () => {
  await withTempDir(async (workspace) => {
    const registry = await kernelRegistry();
    await registry.register({
      id: "agent/report.v1",
      schema: z.object({ passed: z.int() }),
      description: "Test counts",
      origin: "agent",
    });
    await registry.register({
      id: "agent/report.v2",
      schema: z.object({ passed: z.int(), failed: z.int() }),
      description: "Test counts with failures",
      origin: "agent",
    });
    const store = await openContractStore(workspace, { registry });
    try {
      const { manifest } = await store.runs.create();
      const v1 = await store.envelopes.put(manifest.run_id, {
        schema_id: "agent/report.v1",
        payload: { passed: 3 },
      });
      const v2 = await store.envelopes.put(manifest.run_id, {
        schema_id: "agent/report.v2",
        payload: { passed: 3, failed: 0 },
      });
      assertEquals([v1.artifact_type, v2.artifact_type], ["agent/report.v1", "agent/report.v2"]);
      await assertRejects(
        () =>
          store.envelopes.put(manifest.run_id, {
            schema_id: "agent/report.v2",
            payload: { passed: 3 },
          }),
        ValidationError,
        "$.payload.failed",
      );
      assertEquals(
        (await store.artifacts.query({ type: "agent/report.v2" })).map((r) => r.artifact_id),
        [v2.artifact_id],
      );
    } finally {
      store.close();
    }
  });
});

Deno.test("runs.create() validates a JSON work order before creating anything", async () => {
  await withContractStore(async (store, _runId, workspace) => {
    const before = await fingerprint(join(workspace, ".iris"));
    const cases: [string, string, string][] = [
      ["bad.json", '{"goal": 3}', "$.goal: expected string, got number 3"],
      ["bad.txt", '{"title": "no goal"}', "$.goal: missing required field"],
      ["broken.json", '{"goal": "x",', "$: not valid JSON"],
    ];
    for (const [name, text, reason] of cases) {
      const path = join(workspace, name);
      await Deno.writeTextFile(path, text);
      await assertRejects(
        () => store.runs.create({ workOrderPath: path }),
        (e: unknown) => {
          assert(e instanceof ValidationError);
          assert(e.message.startsWith(`Work order ${path} does not match schema work_order.v1`));
          assert(e.message.includes(reason), e.message);
          return true;
        },
      );
    }
    assertEquals(await fingerprint(join(workspace, ".iris")), before);
    for (const [name, text] of [["ok.json", '{"goal": "Ship"}'], ["ok.md", "# Ship it\n"]]) {
      await Deno.writeTextFile(join(workspace, name), text);
      const created = await store.runs.create({ workOrderPath: join(workspace, name) });
      assertEquals(created.workOrderRef?.artifact_type, "work_order.v1");
    }
  });
});

Deno.test("openContractStore() runs caller checks before the registry's", async () => {
  await withTempDir(async (workspace) => {
    const seen: string[] = [];
    const registry = new SchemaRegistry();
    const store = await openContractStore(workspace, {
      registry,
      checks: [(type) => void seen.push(type)],
    });
    try {
      const { manifest } = await store.runs.create();
      await store.artifacts.putJson(manifest.run_id, { a: 1 }, { type: "x.v1" });
      assertEquals(seen, ["x.v1"]);
      assertEquals(store.registry, registry);
    } finally {
      store.close();
    }
  });
});
