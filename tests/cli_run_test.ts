import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { assertCleanError, fingerprint, lily, lilyJson, withTempDir } from "./_helpers.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

Deno.test("lily run new creates a run with status created and prints its id and path", async () => {
  await withTempDir(async (ws) => {
    const result = await lily(["run", "new"], { workspace: ws });
    assertEquals(result.code, 0, result.stderr);
    const [created, path] = result.stdout.trim().split("\n");
    const runId = created.replace("Created run ", "");
    assertMatch(runId, UUID);
    assertEquals(path, `Path: ${join(ws, ".iris", "runs", runId)}`);
    const manifest = JSON.parse(
      await Deno.readTextFile(join(ws, ".iris", "runs", runId, "run_manifest.json")),
    );
    assertEquals(manifest.status, "created");
    assertEquals(manifest.work_order_ref, null);
    assertEquals(Object.keys(manifest).sort(), [
      "created_at",
      "kernel_version",
      "run_id",
      "status",
      "updated_at",
      "work_order_ref",
    ]);
    for (const dir of ["artifacts", "logs", "tmp"]) {
      assert((await Deno.stat(join(ws, ".iris", "runs", runId, dir))).isDirectory);
    }
  });
});

Deno.test("lily run new --work-order stores the work order as a work_order.v1 file artifact", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "wo.md"), "# Fix the flaky test\n");
    const result = await lily(["run", "new", "--work-order", "wo.md"], { workspace: ws });
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assertEquals(lines.length, 3);
    const artifactId = lines[2].replace("Attached work order: ", "");
    assertMatch(artifactId, UUID);
    const ref = await lilyJson<Record<string, unknown>>(["artifact", "show", artifactId], ws);
    assertEquals(ref.artifact_type, "work_order.v1");
    assertEquals(ref.storage_kind, "file");
    assertEquals(ref.producer_kind, "human");
    assertEquals(ref.rel_path, `artifacts/${artifactId}/wo.md`);
    const runId = lines[0].replace("Created run ", "");
    const shown = await lilyJson<{ manifest: { work_order_ref: { artifact_id: string } } }>(
      ["run", "show", runId],
      ws,
    );
    assertEquals(shown.manifest.work_order_ref.artifact_id, artifactId);
  });
});

Deno.test("lily run new --json prints run_id, path and work_order_ref", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "wo.txt"), "do it\n");
    const doc = await lilyJson<
      { run_id: string; path: string; work_order_ref: { sha256: string } }
    >(
      ["run", "new", "--work-order", "wo.txt"],
      ws,
    );
    assertMatch(doc.run_id, UUID);
    assertEquals(doc.path, join(ws, ".iris", "runs", doc.run_id));
    assertEquals(doc.work_order_ref.sha256, createHash("sha256").update("do it\n").digest("hex"));
  });
});

Deno.test("lily run new rejects a missing or directory work order before creating anything", async () => {
  await withTempDir(async (ws) => {
    await lily(["run", "new"], { workspace: ws });
    const before = await fingerprint(join(ws, ".iris"));
    assertCleanError(
      await lily(["run", "new", "--work-order", "nope.json"], { workspace: ws }),
      1,
      /Work order .*nope\.json does not exist/,
    );
    await Deno.mkdir(join(ws, "adir"));
    assertCleanError(
      await lily(["run", "new", "--work-order", "adir"], { workspace: ws }),
      2,
      /adir is a directory; expected a file/,
    );
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test("lily run list shows every run in human and JSON form", async () => {
  await withTempDir(async (ws) => {
    const a = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const b = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const listed = await lilyJson<{ run_id: string; status: string }[]>(["run", "list"], ws);
    assertEquals(listed.map((r) => r.run_id).sort(), [a.run_id, b.run_id].sort());
    assert(listed.every((r) => r.status === "created"));
    const human = await lily(["run", "list"], { workspace: ws });
    assertEquals(human.code, 0);
    assertMatch(human.stdout, new RegExp(a.run_id));
    assertMatch(human.stdout, /^RUN\s+STATUS\s+CREATED/);
  });
});

Deno.test("lily run show prints the manifest and artifact counts", async () => {
  await withTempDir(async (ws) => {
    const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    await Deno.writeTextFile(join(ws, "a.txt"), "x");
    await lilyJson(["artifact", "put", run_id, "--type", "note.v1", "--text-file", "a.txt"], ws);
    await lilyJson(["artifact", "put", run_id, "--type", "note.v1", "--text-file", "a.txt"], ws);
    const shown = await lilyJson<
      { manifest: { run_id: string }; artifact_counts: Record<string, number> }
    >(["run", "show", run_id], ws);
    assertEquals(shown.manifest.run_id, run_id);
    assertEquals(shown.artifact_counts, { "note.v1": 2 });
    const human = await lily(["run", "show", run_id], { workspace: ws });
    assertMatch(human.stdout, /Status: created/);
    assertMatch(human.stdout, /note\.v1: 2/);
  });
});

Deno.test("lily run show reports unknown, malformed and corrupt runs clearly", async () => {
  await withTempDir(async (ws) => {
    const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    assertCleanError(
      await lily(["run", "show", crypto.randomUUID()], { workspace: ws }),
      1,
      /does not exist/,
    );
    assertCleanError(
      await lily(["run", "show", "../../etc/passwd"], { workspace: ws }),
      2,
      /Invalid run id: expected a UUID/,
    );
    const manifest = join(ws, ".iris", "runs", run_id, "run_manifest.json");
    const text = await Deno.readTextFile(manifest);
    await Deno.writeTextFile(manifest, text.slice(0, text.length / 2));
    const before = await fingerprint(join(ws, ".iris"));
    assertCleanError(
      await lily(["run", "show", run_id], { workspace: ws }),
      1,
      new RegExp(`Unreadable run manifest .*${run_id}/run_manifest\\.json`),
    );
    const listed = await lilyJson<{ run_id: string; status: string }[]>(["run", "list"], ws);
    assertEquals(listed[0].status, "invalid");
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test("unknown options and commands exit 2 with one line; --debug adds a stack", async () => {
  await withTempDir(async (ws) => {
    assertCleanError(await lily(["run", "new", "--bogus"], { workspace: ws }), 2, /unknown option/);
    assertCleanError(await lily(["frobnicate"], { workspace: ws }), 2, /unknown command/);
    const debug = await lily(["run", "show", crypto.randomUUID(), "--debug"], { workspace: ws });
    assertEquals(debug.code, 1);
    assertMatch(debug.stderr, /\n\s+at /);
  });
});

Deno.test("--workspace overrides LILY_WORKSPACE and the cwd", async () => {
  await withTempDir(async (ws) => {
    await Deno.mkdir(join(ws, "other"));
    const result = await lily(["run", "new", "--workspace", join(ws, "other"), "--json"], {
      workspace: ws,
    });
    assertEquals(result.code, 0, result.stderr);
    const { path } = JSON.parse(result.stdout);
    assert(path.startsWith(join(ws, "other", ".iris")));
  });
});

Deno.test("a run in a git checkout records the commit and the dirty flag", async () => {
  await withTempDir(async (ws) => {
    const git = (...args: string[]) =>
      new Deno.Command("git", {
        args: ["-C", ws, "-c", "user.email=t@t", "-c", "user.name=t", ...args],
        stdout: "null",
        stderr: "null",
      }).output();
    if (!(await git("init", "-q")).success) {
      console.log("skipped: git is not available");
      return;
    }
    await Deno.writeTextFile(join(ws, "a.txt"), "a");
    await git("add", "a.txt");
    await git("commit", "-qm", "init");
    const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const shown = await lilyJson<
      { manifest: { workspace_snapshot: { git_commit: string; dirty: boolean; path: string } } }
    >(["run", "show", run_id], ws);
    assertMatch(shown.manifest.workspace_snapshot.git_commit, /^[0-9a-f]{40}$/);
    assertEquals(shown.manifest.workspace_snapshot.dirty, false);
    await Deno.writeTextFile(join(ws, "a.txt"), "changed");
    const second = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const dirty = await lilyJson<{ manifest: { workspace_snapshot: { dirty: boolean } } }>(
      ["run", "show", second.run_id],
      ws,
    );
    assertEquals(dirty.manifest.workspace_snapshot.dirty, true);
  });
});
