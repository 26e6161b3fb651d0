import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { lily, lilyJson, withTempDir } from "./_helpers.ts";

interface Finding {
  kind: string;
  severity: string;
  run_id: string;
  artifact_id: string | null;
  path: string;
  detail: string;
}

async function seed(ws: string): Promise<{ runId: string; artifactId: string; payload: string }> {
  const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
  await Deno.writeTextFile(join(ws, "a.txt"), "payload");
  const ref = await lilyJson<{ artifact_id: string; rel_path: string }>(
    ["artifact", "put", run_id, "--type", "a.v1", "--text-file", "a.txt"],
    ws,
  );
  return {
    runId: run_id,
    artifactId: ref.artifact_id,
    payload: join(ws, ".iris", "runs", run_id, ref.rel_path),
  };
}

Deno.test("verify passes a clean store in human and JSON form", async () => {
  await withTempDir(async (ws) => {
    await seed(ws);
    const human = await lily(["verify"], { workspace: ws });
    assertEquals(human.code, 0);
    assertMatch(human.stdout, /^OK: 1 runs, 1 artifacts checked, 0 errors, 0 warnings$/m);
    const json = await lilyJson<{ ok: boolean; findings: Finding[] }>(["verify"], ws);
    assertEquals(json.ok, true);
    assertEquals(json.findings, []);
  });
});

Deno.test("verify fails on a corrupted payload and names run, artifact and file", async () => {
  await withTempDir(async (ws) => {
    const { runId, artifactId, payload } = await seed(ws);
    await Deno.writeTextFile(payload, "tampered");
    const result = await lily(["verify", "--json"], { workspace: ws });
    assertEquals(result.code, 1);
    const report = JSON.parse(result.stdout);
    assertEquals(report.ok, false);
    // The artifact's path is a hard link to its content-store payload: both are damaged.
    assertEquals(report.findings.length, 2);
    const [finding, content] = report.findings as Finding[];
    assertEquals(content.kind, "hash_mismatch");
    assertMatch(content.path, /\.iris\/cas\//);
    assertEquals(finding.kind, "hash_mismatch");
    assertEquals(finding.run_id, runId);
    assertEquals(finding.artifact_id, artifactId);
    assertEquals(finding.path, payload);
    const human = await lily(["verify"], { workspace: ws });
    assertEquals(human.code, 1);
    assertMatch(
      human.stdout,
      new RegExp(`error hash_mismatch: run ${runId} artifact ${artifactId}`),
    );
    assertCleanGet(await lily(["artifact", "get", artifactId], { workspace: ws }));
  });
});

function assertCleanGet(result: { code: number; stderr: string }): void {
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /is corrupt: expected sha256/);
}

Deno.test("verify reports a missing payload and an invalid manifest as errors", async () => {
  await withTempDir(async (ws) => {
    const { runId, payload } = await seed(ws);
    await Deno.remove(payload);
    await Deno.writeTextFile(join(ws, ".iris", "runs", runId, "run_manifest.json"), '{"run_id":');
    const report = await lily(["verify", "--json", "--run", runId], { workspace: ws });
    assertEquals(report.code, 1);
    const kinds = (JSON.parse(report.stdout).findings as Finding[]).map((f) => f.kind).sort();
    assertEquals(kinds, ["invalid_manifest", "missing_payload"]);
  });
});

Deno.test("verify lists payload dirs without an index row as warnings and still passes", async () => {
  await withTempDir(async (ws) => {
    const { runId } = await seed(ws);
    const orphan = join(ws, ".iris", "runs", runId, "artifacts", crypto.randomUUID());
    await Deno.mkdir(orphan);
    await Deno.writeTextFile(join(orphan, "payload.json"), "{}");
    const result = await lily(["verify", "--json"], { workspace: ws });
    assertEquals(result.code, 0);
    const report = JSON.parse(result.stdout);
    assert(report.ok);
    assertEquals(report.findings.map((f: Finding) => [f.kind, f.severity]), [[
      "orphan_payload",
      "warning",
    ]]);
  });
});

Deno.test("verify flags a payload replaced by a symlink that leaves the run", async () => {
  await withTempDir(async (ws) => {
    const { artifactId, payload } = await seed(ws);
    await Deno.writeTextFile(join(ws, "outside.txt"), "payload");
    await Deno.remove(payload);
    await Deno.symlink(join(ws, "outside.txt"), payload);
    const result = await lily(["verify", "--json"], { workspace: ws });
    assertEquals(result.code, 1);
    const [finding] = JSON.parse(result.stdout).findings as Finding[];
    assertEquals([finding.kind, finding.artifact_id], ["bad_path", artifactId]);
    const get = await lily(["artifact", "get", artifactId], { workspace: ws });
    assertEquals(get.code, 1);
    assertMatch(get.stderr, /resolves outside/);
  });
});
