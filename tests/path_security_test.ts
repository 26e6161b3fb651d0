import { assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { join } from "node:path";
import { IntegrityError, PathSecurityError, UsageError } from "../mod.ts";
import { openStore } from "../store.ts";
import { checkFileName, resolveInside } from "../src/store/safe_path.ts";
import { assertCleanError, fingerprint, lily, withRunStore, withTempDir } from "./_helpers.ts";

Deno.test("traversal and non-UUID ids are rejected by every CLI command before touching a path", async () => {
  await withTempDir(async (ws) => {
    await lily(["run", "new"], { workspace: ws });
    await Deno.writeTextFile(join(ws, "a.txt"), "a");
    const before = await fingerprint(join(ws, ".iris"));
    for (const id of ["../../etc/passwd", "/etc/passwd", "..", "x".repeat(36), "ABC"]) {
      for (
        const args of [
          ["run", "show", id],
          ["artifact", "show", id],
          ["artifact", "get", id],
          ["artifact", "path", id],
          ["artifact", "put", id, "--type", "a.v1", "--text-file", "a.txt"],
          ["artifact", "list", "--run", id],
          ["verify", "--run", id],
        ]
      ) {
        assertCleanError(await lily(args, { workspace: ws }), 2, /expected a UUID/);
      }
    }
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test("file names that are absolute, relative, NUL-bearing or over-long are rejected", async () => {
  await withRunStore(async (ws, store, runId) => {
    await Deno.writeTextFile(join(ws, "a.txt"), "a");
    const before = await fingerprint(join(ws, ".iris"));
    for (
      const [name, why] of [
        ["/etc/passwd", /path separator/],
        ["../escape", /path separator/],
        ["..", /relative directory reference/],
        ["a\0b", /NUL byte/],
        ["x".repeat(256), /longer than 255 bytes/],
        ["", /empty/],
        ["tab\there", /control character/],
      ] as const
    ) {
      await assertRejects(
        () => store.artifacts.putFile(runId, join(ws, "a.txt"), { type: "a.v1", fileName: name }),
        UsageError,
      );
      assertThrows(() => checkFileName(name), (e: Error) => why.test(e.message));
    }
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test("stored relative paths may not be absolute or contain '..'", async () => {
  await withTempDir((dir) => {
    for (const rel of ["/etc/passwd", "../x", "a/../../x", "a//b", "", "a/./b"]) {
      assertThrows(() => resolveInside(dir, rel), PathSecurityError);
    }
    assertEquals(resolveInside(dir, "a/b.txt"), join(dir, "a", "b.txt"));
    return Promise.resolve();
  });
});

Deno.test("a symlinked artifacts dir pointing outside the run makes puts fail and writes nothing outside", async () => {
  await withRunStore(async (ws, store, runId) => {
    const outside = join(ws, "outside");
    await Deno.mkdir(outside);
    const artifacts = join(store.runs.location(runId), "artifacts");
    await Deno.remove(artifacts);
    await Deno.symlink(outside, artifacts);
    await assertRejects(
      () => store.artifacts.putText(runId, "escape", { type: "a.v1" }),
      PathSecurityError,
    );
    assertEquals([...Deno.readDirSync(outside)], []);
    assertEquals(await store.artifacts.list(runId), []);
    await Deno.remove(artifacts);
    await Deno.symlink(join(ws, "missing"), artifacts);
    await assertRejects(
      () => store.artifacts.putText(runId, "escape", { type: "a.v1" }),
      PathSecurityError,
    );
  });
});

Deno.test("a payload swapped for a symlink to a file outside cannot be read or opened", async () => {
  await withRunStore(async (ws, store, runId) => {
    await Deno.writeTextFile(join(ws, "a.txt"), "a");
    const file = await store.artifacts.putFile(runId, join(ws, "a.txt"), { type: "f.v1" });
    const json = await store.artifacts.putJson(runId, { a: 1 }, { type: "j.v1" });
    const root = store.runs.location(runId);
    await Deno.writeTextFile(join(ws, "secret"), '{"a":1}');
    for (const ref of [file, json]) {
      await Deno.remove(join(root, ref.rel_path));
      await Deno.symlink(join(ws, "secret"), join(root, ref.rel_path));
    }
    await assertRejects(
      () => store.artifacts.openPath(runId, file.artifact_id),
      IntegrityError,
    );
    await assertRejects(() => store.artifacts.get(json.artifact_id), IntegrityError);
    const result = await lily(["artifact", "path", file.artifact_id], { workspace: ws });
    assertEquals(result.code, 1);
    assertMatch(result.stderr, /resolves outside/);
  });
});

Deno.test("a work order path that is a directory is rejected and nothing is created", async () => {
  await withTempDir(async (ws) => {
    const store = await openStore(ws);
    try {
      await assertRejects(() => store.runs.create({ workOrderPath: ws }), UsageError);
      assertEquals(await store.runs.list(), []);
    } finally {
      store.close();
    }
  });
});

Deno.test("a moved file with another hard link is copied, so the link cannot change the artifact", async () => {
  await withRunStore(async (ws, store, runId) => {
    await Deno.writeTextFile(join(ws, "h1"), "original");
    await Deno.link(join(ws, "h1"), join(ws, "h2"));
    const ref = await store.artifacts.putFile(runId, join(ws, "h1"), { type: "f.v1", move: true });
    await Deno.writeTextFile(join(ws, "h2"), "changed", { append: true });
    const path = await store.artifacts.openPath(runId, ref.artifact_id);
    assertEquals(await Deno.readTextFile(path), "original");
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o444);
    await assertRejects(() => Deno.stat(join(ws, "h1")), Deno.errors.NotFound);
  });
});

Deno.test("a run journal or lease replaced by a symlink is refused, not written through", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: s\nsteps:\n  - { id: a, shell: 'true' }\n",
    );
    const started = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
    const runId = JSON.parse(started.stdout).run_id;
    const victim = join(ws, "victim.txt");
    await Deno.writeTextFile(victim, "keep");
    const events = join(ws, ".iris", "runs", runId, "events.jsonl");
    await Deno.rename(events, join(ws, "events.saved"));
    await Deno.symlink(victim, events);
    assertCleanError(
      await lily(["run", "resume", runId], { workspace: ws }),
      1,
      /events\.jsonl is a symlink/,
    );
    assertCleanError(await lily(["run", "show", runId], { workspace: ws }), 1, /is a symlink/);
    assertEquals(await Deno.readTextFile(victim), "keep");
  });
});
