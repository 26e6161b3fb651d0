import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { assertCleanError, fingerprint, lily, lilyJson, withTempDir } from "./_helpers.ts";

interface Ref {
  artifact_id: string;
  run_id: string;
  artifact_type: string;
  storage_kind: string;
  artifact_name: string | null;
  rel_path: string;
  sha256: string;
  created_at: string;
  producer_id: string;
  producer_kind: string;
  input_artifact_refs: string[];
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

async function newRun(ws: string): Promise<string> {
  return (await lilyJson<{ run_id: string }>(["run", "new"], ws)).run_id;
}

Deno.test("artifact put --json-file stores canonical JSON with the SPEC's ref fields", async () => {
  await withTempDir(async (ws) => {
    const runId = await newRun(ws);
    await Deno.writeTextFile(join(ws, "doc.json"), '{ "b": 1, "a": [1.0, "x"] }');
    const ref = await lilyJson<Ref>([
      "artifact",
      "put",
      runId,
      "--type",
      "plan.v1",
      "--json-file",
      "doc.json",
      "--name",
      "plan",
      "--producer",
      "planner",
      "--producer-kind",
      "llm",
    ], ws);
    for (
      const field of [
        "artifact_id",
        "run_id",
        "artifact_type",
        "storage_kind",
        "artifact_name",
        "rel_path",
        "sha256",
        "created_at",
        "producer_id",
        "producer_kind",
        "input_artifact_refs",
      ]
    ) assert(field in ref, `missing ${field}`);
    assertEquals(ref.storage_kind, "json");
    assertEquals(ref.artifact_name, "plan");
    assertEquals(ref.producer_id, "planner");
    assertEquals(ref.producer_kind, "llm");
    assertEquals(ref.rel_path, `artifacts/${ref.artifact_id}/payload.json`);
    const stored = await Deno.readTextFile(join(ws, ".iris", "runs", runId, ref.rel_path));
    assertEquals(stored, '{"a":[1,"x"],"b":1}');
    assertEquals(ref.sha256, sha256(stored));
    const got = await lily(["artifact", "get", ref.artifact_id], { workspace: ws });
    assertEquals(got.stdout, stored);
    const gotJson = await lilyJson<{ value: unknown }>(["artifact", "get", ref.artifact_id], ws);
    assertEquals(gotJson.value, { a: [1, "x"], b: 1 });
  });
});

Deno.test("artifact put --text-file and --file store payloads byte for byte", async () => {
  await withTempDir(async (ws) => {
    const runId = await newRun(ws);
    await Deno.writeTextFile(join(ws, "notes.txt"), "héllo\n");
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7919) % 251);
    await Deno.writeFile(join(ws, "blob.bin"), bytes);
    const text = await lilyJson<Ref>(
      ["artifact", "put", runId, "--type", "notes.v1", "--text-file", "notes.txt"],
      ws,
    );
    assertEquals(text.rel_path, `artifacts/${text.artifact_id}/payload.txt`);
    assertEquals(
      (await lily(["artifact", "get", text.artifact_id], { workspace: ws })).stdout,
      "héllo\n",
    );
    const file = await lilyJson<Ref>(
      [
        "artifact",
        "put",
        runId,
        "--type",
        "blob.v1",
        "--file",
        "blob.bin",
        "--input",
        text.artifact_id,
      ],
      ws,
    );
    assertEquals(file.sha256, sha256(bytes));
    assertEquals(file.input_artifact_refs, [text.artifact_id]);
    const { path } = await lilyJson<{ path: string }>(["artifact", "path", file.artifact_id], ws);
    assertEquals(path, join(ws, ".iris", "runs", runId, "artifacts", file.artifact_id, "blob.bin"));
    assertEquals(await Deno.readFile(path), bytes);
    const human = await lily(["artifact", "path", file.artifact_id], { workspace: ws });
    assertEquals(human.stdout.trim(), path);
    assert((await Deno.stat(join(ws, "blob.bin"))).isFile, "copy keeps the source");
  });
});

Deno.test("artifact put --file --move moves the file into the store", async () => {
  await withTempDir(async (ws) => {
    const runId = await newRun(ws);
    await Deno.writeTextFile(join(ws, "out.log"), "build ok\n");
    const ref = await lilyJson<Ref>(
      ["artifact", "put", runId, "--type", "log.v1", "--file", "out.log", "--move"],
      ws,
    );
    assertEquals(ref.sha256, sha256("build ok\n"));
    let gone = false;
    await Deno.stat(join(ws, "out.log")).catch(() => gone = true);
    assert(gone, "the source was moved");
    const verify = await lily(["verify"], { workspace: ws });
    assertEquals(verify.code, 0, verify.stdout);
  });
});

Deno.test("artifact show and human put output name every field", async () => {
  await withTempDir(async (ws) => {
    const runId = await newRun(ws);
    await Deno.writeTextFile(join(ws, "a.txt"), "a");
    const put = await lily(["artifact", "put", runId, "--type", "a.v1", "--text-file", "a.txt"], {
      workspace: ws,
    });
    assertEquals(put.code, 0, put.stderr);
    const id = put.stdout.split("\n")[0].replace("Stored artifact ", "");
    const show = await lily(["artifact", "show", id], { workspace: ws });
    for (
      const field of ["artifact_id", "run_id", "artifact_type", "sha256", "producer", "inputs"]
    ) {
      assertMatch(show.stdout, new RegExp(`^${field}: `, "m"));
    }
  });
});

Deno.test("artifact list filters by run, type, name, producer, sha256 and time", async () => {
  await withTempDir(async (ws) => {
    const runA = await newRun(ws);
    const runB = await newRun(ws);
    await Deno.writeTextFile(join(ws, "x.txt"), "same");
    const put = (run: string, ...extra: string[]) =>
      lilyJson<Ref>(["artifact", "put", run, "--text-file", "x.txt", ...extra], ws);
    const a1 = await put(runA, "--type", "t.v1", "--name", "first", "--producer", "p1");
    const a2 = await put(runA, "--type", "u.v1", "--producer", "p2");
    const b1 = await put(runB, "--type", "t.v1", "--name", "first", "--producer", "p1");
    const ids = async (...args: string[]) =>
      (await lilyJson<Ref[]>(["artifact", "list", ...args], ws)).map((r) => r.artifact_id).sort();
    assertEquals(await ids("--run", runA), [a1.artifact_id, a2.artifact_id].sort());
    assertEquals(await ids("--type", "t.v1"), [a1.artifact_id, b1.artifact_id].sort());
    assertEquals(await ids("--name", "first", "--run", runB), [b1.artifact_id]);
    assertEquals(await ids("--producer", "p2"), [a2.artifact_id]);
    assertEquals((await ids("--sha256", sha256("same"))).length, 3);
    assertEquals(await ids("--since", b1.created_at), [b1.artifact_id]);
    const newest = await lilyJson<Ref[]>(["artifact", "list", "--limit", "1"], ws);
    assertEquals(newest.map((r) => r.artifact_id), [b1.artifact_id]);
    const human = await lily(["artifact", "list", "--run", runB], { workspace: ws });
    assertMatch(human.stdout, /^ARTIFACT\s+TYPE\s+KIND\s+NAME\s+SIZE\s+CREATED/);
  });
});

Deno.test("artifact put rejects conflicting or missing sources and bad options, storing nothing", async () => {
  await withTempDir(async (ws) => {
    const runId = await newRun(ws);
    await Deno.writeTextFile(join(ws, "a.txt"), "a");
    await Deno.writeTextFile(join(ws, "bad.json"), "{ nope");
    const before = await fingerprint(join(ws, ".iris"));
    const put = (...args: string[]) => lily(["artifact", "put", ...args], { workspace: ws });
    assertCleanError(
      await put(runId, "--type", "a.v1", "--text-file", "a.txt", "--file", "a.txt"),
      2,
      /exactly one of --json-file, --text-file or --file/,
    );
    assertCleanError(await put(runId, "--type", "a.v1"), 2, /exactly one of/);
    assertCleanError(
      await put(runId, "--type", "a.v1", "--text-file", "a.txt", "--move"),
      2,
      /--move goes with --file only/,
    );
    assertCleanError(await put(runId, "--text-file", "a.txt"), 2, /--type/);
    assertCleanError(
      await put(runId, "--type", "a.v1", "--text-file", "a.txt", "--producer-kind", "robot"),
      2,
      /producer-kind/,
    );
    assertCleanError(
      await put(runId, "--type", "a.v1", "--json-file", "bad.json"),
      2,
      /bad\.json is not valid JSON/,
    );
    assertCleanError(
      await put(runId, "--type", "../evil", "--text-file", "a.txt"),
      2,
      /Invalid artifact type/,
    );
    assertCleanError(
      await put(runId, "--type", "a.v1", "--text-file", "a.txt", "--input", crypto.randomUUID()),
      1,
      /does not exist in the index/,
    );
    assertCleanError(
      await put(crypto.randomUUID(), "--type", "a.v1", "--text-file", "a.txt"),
      1,
      /Run .* does not exist/,
    );
    assertCleanError(
      await put(runId, "--type", "a.v1", "--file", "missing.bin"),
      1,
      /missing\.bin does not exist/,
    );
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test("artifact get, show and path reject wrong kinds and unknown ids clearly", async () => {
  await withTempDir(async (ws) => {
    const runId = await newRun(ws);
    await Deno.writeTextFile(join(ws, "a.txt"), "a");
    const file = await lilyJson<Ref>(
      ["artifact", "put", runId, "--type", "f.v1", "--file", "a.txt"],
      ws,
    );
    const text = await lilyJson<Ref>(
      ["artifact", "put", runId, "--type", "t.v1", "--text-file", "a.txt"],
      ws,
    );
    assertCleanError(
      await lily(["artifact", "get", file.artifact_id], { workspace: ws }),
      2,
      /file artifact; use `lily artifact path/,
    );
    assertCleanError(
      await lily(["artifact", "path", text.artifact_id], { workspace: ws }),
      2,
      /is a text artifact, not a file; print it with `lily artifact get /,
    );
    assertCleanError(
      await lily(["artifact", "show", crypto.randomUUID()], { workspace: ws }),
      1,
      /does not exist/,
    );
    assertCleanError(
      await lily(["artifact", "get", "not-a-uuid"], { workspace: ws }),
      2,
      /Invalid artifact id/,
    );
  });
});

Deno.test("commands that read the store fail clearly when the workspace has none", async () => {
  await withTempDir(async (ws) => {
    assertCleanError(
      await lily(["artifact", "show", crypto.randomUUID()], { workspace: ws }),
      1,
      /No Lily store in .*; create a run with `lily run new` first/,
    );
    assertCleanError(await lily(["verify"], { workspace: ws }), 1, /No Lily store/);
  });
});

Deno.test("artifact put --file of a registered type validates a JSON file first", async () => {
  await withTempDir(async (ws) => {
    const runId = await newRun(ws);
    await Deno.writeTextFile(join(ws, "bad.json"), JSON.stringify({ title: "no goal" }));
    await Deno.writeTextFile(join(ws, "good.json"), JSON.stringify({ goal: "ship" }));
    const before = await fingerprint(join(ws, ".iris"));
    assertCleanError(
      await lily(["artifact", "put", runId, "--type", "work_order.v1", "--file", "bad.json"], {
        workspace: ws,
      }),
      1,
      /does not match schema work_order\.v1.*\$\.goal/,
    );
    assertEquals(await fingerprint(join(ws, ".iris")), before);
    const ok = await lilyJson<Ref>(
      ["artifact", "put", runId, "--type", "work_order.v1", "--file", "good.json"],
      ws,
    );
    assertEquals(ok.storage_kind, "file");
  });
});
