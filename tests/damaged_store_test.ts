import { assertEquals, assertMatch } from "./_assert.ts";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { assertCleanError, lily, lilyJson, withTempDir } from "./_helpers.ts";

interface Finding {
  kind: string;
  severity: string;
  run_id: string | null;
  path: string;
  detail: string;
}

interface Seeded {
  ws: string;
  runId: string;
  artifactId: string;
  payload: string;
  run: (name: string) => string;
}

/** A finished workflow run (journal, runner files, run state) plus a text artifact. */
async function seed(ws: string): Promise<Seeded> {
  await Deno.writeTextFile(
    join(ws, "flow.yaml"),
    "name: d\nsteps:\n  - { id: a, shell: 'true' }\n",
  );
  const { run_id } = await lilyJson<{ run_id: string }>(["run", "start", "flow.yaml"], ws);
  await Deno.writeTextFile(join(ws, "a.txt"), "payload");
  const ref = await lilyJson<{ artifact_id: string; rel_path: string }>(
    ["artifact", "put", run_id, "--type", "a.v1", "--text-file", "a.txt"],
    ws,
  );
  const run = (name: string) => join(ws, ".iris", "runs", run_id, name);
  return { ws, runId: run_id, artifactId: ref.artifact_id, payload: run(ref.rel_path), run };
}

/** Every file and directory under `.iris`, index files included, by content hash. */
async function rawFingerprint(ws: string): Promise<Record<string, string>> {
  const root = join(ws, ".iris");
  const out: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) {
        out[relative(root, path)] = "dir";
        await walk(path);
      } else {
        out[relative(root, path)] = createHash("sha256").update(await Deno.readFile(path))
          .digest("hex");
      }
    }
  }
  await walk(root);
  return out;
}

/** Writes three bytes over the start of a file, as a bad sector or a stray write would. */
async function clobber(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true });
  try {
    await file.write(new TextEncoder().encode("\x01\x02\x03"));
  } finally {
    file.close();
  }
}

async function verifyFindings(ws: string): Promise<{ code: number; findings: Finding[] }> {
  const result = await lily(["verify", "--json"], { workspace: ws });
  assertEquals(
    result.stderr,
    result.code === 0 ? "" : `lily: ${JSON.parse(result.stdout).error.message}\n`,
  );
  return { code: result.code, findings: JSON.parse(result.stdout).findings };
}

/** Asserts `verify` exits 1 with exactly the findings `[kind, path]` given, in human form too. */
async function assertVerifyFinds(ws: string, expected: [string, string][]): Promise<void> {
  const { code, findings } = await verifyFindings(ws);
  assertEquals(code, 1);
  assertEquals(findings.map((f) => [f.kind, f.path]), expected);
  for (const f of findings) assertEquals(f.detail.includes("\n"), false);
  const human = await lily(["verify"], { workspace: ws });
  assertEquals(human.code, 1);
  assertEquals(human.stderr, "");
  for (const [kind, path] of expected) {
    assertMatch(human.stdout, new RegExp(`^error ${kind}:.* ${escape(path)}: `, "m"));
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("a damaged index header is reported by every reader, and verify goes on", async () => {
  await withTempDir(async (ws) => {
    const s = await seed(ws);
    const index = join(ws, ".iris", "index.sqlite");
    await clobber(index);
    await clobber(s.run("run_manifest.json"));
    const before = await rawFingerprint(ws);
    const line = new RegExp(
      `Artifact index ${escape(index)} is damaged \\(file is not a database\\); restore it`,
    );
    assertCleanError(await lily(["run", "list"], { workspace: ws }), 1, line);
    assertCleanError(await lily(["run", "show", s.runId], { workspace: ws }), 1, line);
    assertCleanError(await lily(["artifact", "get", s.artifactId], { workspace: ws }), 1, line);
    assertCleanError(
      await lily(["artifact", "list", "--run", s.runId], { workspace: ws }),
      1,
      line,
    );
    await assertVerifyFinds(ws, [["damaged_index", index], [
      "invalid_manifest",
      s.run("run_manifest.json"),
    ]]);
    assertEquals(await rawFingerprint(ws), before);
  });
});

Deno.test("damage inside the index file is found by verify's SQLite check", async () => {
  await withTempDir(async (ws) => {
    await seed(ws);
    const index = join(ws, ".iris", "index.sqlite");
    const file = await Deno.open(index, { write: true });
    try {
      await file.seek(2 * 4096 + 8, Deno.SeekMode.Start);
      await file.write(new Uint8Array(40).fill(0xff));
    } finally {
      file.close();
    }
    const { findings } = await verifyFindings(ws);
    assertEquals(findings.map((f) => [f.kind, f.path]), [["damaged_index", index]]);
    assertMatch(findings[0].detail, /^SQLite quick_check: .*; restore it from a backup$/);
  });
});

Deno.test("a damaged index log (-wal) is refused by every reader instead of silently dropped", async () => {
  await withTempDir(async (ws) => {
    const s = await seed(ws);
    const wal = join(ws, ".iris", "index.sqlite-wal");
    await Deno.writeFile(wal, new Uint8Array(4096).fill(0xab));
    const before = await rawFingerprint(ws);
    const line = new RegExp(`Artifact index log ${escape(wal)} is damaged`);
    assertCleanError(await lily(["run", "list"], { workspace: ws }), 1, line);
    assertCleanError(await lily(["run", "show", s.runId], { workspace: ws }), 1, line);
    assertCleanError(await lily(["artifact", "get", s.artifactId], { workspace: ws }), 1, line);
    await assertVerifyFinds(ws, [["damaged_index", wal]]);
    assertEquals(await rawFingerprint(ws), before);
  });
});

Deno.test("a damaged index -shm is rebuilt by SQLite and harms nothing", async () => {
  await withTempDir(async (ws) => {
    const s = await seed(ws);
    await Deno.writeFile(join(ws, ".iris", "index.sqlite-shm"), new Uint8Array(32768).fill(0xab));
    assertEquals(
      (await lily(["artifact", "get", s.artifactId], { workspace: ws })).stdout.trim(),
      "payload",
    );
    assertEquals((await verifyFindings(ws)).findings, []);
  });
});

Deno.test("a damaged manifest is named by run show and verify; run list marks the run invalid", async () => {
  await withTempDir(async (ws) => {
    const s = await seed(ws);
    const manifest = s.run("run_manifest.json");
    await clobber(manifest);
    const before = await rawFingerprint(ws);
    assertCleanError(
      await lily(["run", "show", s.runId], { workspace: ws }),
      1,
      new RegExp(
        `Unreadable run manifest ${
          escape(manifest)
        }: not valid JSON .*; restore the file from a backup`,
      ),
    );
    const listed = await lilyJson<{ run_id: string; status: string; error: string }[]>([
      "run",
      "list",
    ], ws);
    assertEquals(listed.map((r) => r.status), ["invalid"]);
    assertEquals(listed[0].error.includes(manifest) && !listed[0].error.includes("\n"), true);
    await assertVerifyFinds(ws, [["invalid_manifest", manifest]]);
    assertEquals(await rawFingerprint(ws), before);
  });
});

Deno.test("a damaged or replaced journal is named by run show and verify", async () => {
  await withTempDir(async (ws) => {
    const s = await seed(ws);
    const events = s.run("events.jsonl");
    await clobber(events);
    const before = await rawFingerprint(ws);
    assertCleanError(
      await lily(["run", "show", s.runId], { workspace: ws }),
      1,
      new RegExp(`Run journal ${escape(events)} is corrupt at line 1`),
    );
    await assertVerifyFinds(ws, [["invalid_journal", events]]);
    assertEquals(await rawFingerprint(ws), before);

    await Deno.remove(events);
    await Deno.mkdir(events);
    assertCleanError(
      await lily(["run", "show", s.runId], { workspace: ws }),
      1,
      new RegExp(`${escape(events)} is not a regular file`),
    );
    await assertVerifyFinds(ws, [["invalid_journal", events]]);
  });
});

Deno.test("a damaged or unreadable payload is named by artifact get and verify", async () => {
  await withTempDir(async (ws) => {
    const s = await seed(ws);
    // The payload is a hard link into the content store: clobbering one clobbers both.
    const sha = (await lilyJson<{ sha256: string }>(["artifact", "show", s.artifactId], ws)).sha256;
    const stored = join(ws, ".iris", "cas", sha.slice(0, 2), sha);
    await Deno.chmod(s.payload, 0o644);
    await clobber(s.payload);
    const before = await rawFingerprint(ws);
    assertCleanError(
      await lily(["artifact", "get", s.artifactId], { workspace: ws }),
      1,
      new RegExp(
        `Payload of artifact ${s.artifactId} at ${escape(s.payload)} is corrupt: .*restore it`,
      ),
    );
    await assertVerifyFinds(ws, [["hash_mismatch", s.payload], ["hash_mismatch", stored]]);
    assertEquals(await rawFingerprint(ws), before);

    await Deno.remove(s.payload);
    await Deno.mkdir(s.payload);
    assertCleanError(
      await lily(["artifact", "get", s.artifactId], { workspace: ws }),
      1,
      new RegExp(
        `Payload of artifact ${s.artifactId} is missing or unreadable at ${escape(s.payload)} \\(`,
      ),
    );
    await assertVerifyFinds(ws, [["missing_payload", s.payload], ["hash_mismatch", stored]]);
  });
});

Deno.test("damaged runner files and run state are findings; a lease that is no file stops run show", async () => {
  await withTempDir(async (ws) => {
    const s = await seed(ws);
    await Deno.writeTextFile(s.run("runner.json"), "\x01\x02\x03");
    await Deno.writeTextFile(s.run("run_state.json"), '{"run_id": "someone else"}');
    const before = await rawFingerprint(ws);
    await assertVerifyFinds(ws, [
      ["damaged_file", s.run("runner.json")],
      ["damaged_file", s.run("run_state.json")],
    ]);
    assertEquals((await lily(["run", "show", s.runId], { workspace: ws })).code, 0);
    assertEquals(await rawFingerprint(ws), before);

    await Deno.remove(s.run("runner.lock"));
    await Deno.mkdir(s.run("runner.lock"));
    assertCleanError(
      await lily(["run", "show", s.runId], { workspace: ws }),
      1,
      new RegExp(`Cannot open ${escape(s.run("runner.lock"))}: Is a directory; .*remove it`),
    );
    const { findings } = await verifyFindings(ws);
    assertEquals(findings.map((f) => [f.kind, f.path])[0], ["damaged_file", s.run("runner.lock")]);
  });
});
