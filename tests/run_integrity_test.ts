import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { assertCleanError, lily, lilyInBackground, withTempDir } from "./_helpers.ts";

const FLOW = "name: w\nsteps:\n  - { id: a, shell: 'echo a >> a.log' }\n";

interface Finding {
  kind: string;
  severity: string;
  run_id: string | null;
  artifact_id: string | null;
  path: string;
  detail: string;
}

/** Runs `lily` with the test-only crash point set; it must die by SIGKILL. */
async function crashAt(point: string, args: string[], ws: string): Promise<string> {
  const out = await lilyInBackground(args, ws, { LILY_TEST_CRASH_AT: point }).done;
  assertEquals(out.signal, "SIGKILL", `not killed at ${point}`);
  return out.stderr;
}

async function onlyRun(ws: string): Promise<string> {
  const runs = JSON.parse((await lily(["run", "list", "--json"], { workspace: ws })).stdout);
  assertEquals(runs.length, 1);
  return runs[0].run_id;
}

async function verify(
  ws: string,
  args: string[] = [],
): Promise<{ code: number; findings: Finding[]; doc: Record<string, unknown> }> {
  const out = await lily(["verify", ...args, "--json"], { workspace: ws });
  const doc = JSON.parse(out.stdout);
  return { code: out.code, findings: doc.findings, doc };
}

async function succeededRun(ws: string): Promise<string> {
  await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
  const started = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
  assertEquals(started.code, 0, started.stderr);
  return JSON.parse(started.stdout).run_id;
}

function runDir(ws: string, runId: string): string {
  return join(ws, ".iris", "runs", runId);
}

Deno.test("a run start killed before run_started: verify warns, resume says so, --clean-partial marks it failed", async () => {
  for (const point of ["run_created", "lease_acquired"]) {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
      await crashAt(point, ["run", "start", "flow.yaml"], ws);
      const runId = await onlyRun(ws);

      const before = await verify(ws);
      assertEquals(before.code, 0, point);
      const trace = before.findings.find((f) => f.kind === "interrupted_start");
      assertEquals([trace?.severity, trace?.run_id], ["warning", runId], point);
      assertMatch(trace!.detail, /interrupted while starting: nothing ran/);

      const resumed = await lily(["run", "resume", runId], { workspace: ws });
      assertCleanError(resumed, 1, /interrupted while starting: nothing ran.*--clean-partial/);

      const cleaned = await verify(ws, ["--clean-partial"]);
      assertEquals([cleaned.code, cleaned.doc.interrupted_marked], [0, [runId]], point);
      assert(!cleaned.findings.some((f) => f.kind === "interrupted_start"), point);
      const shown = JSON.parse(
        (await lily(["run", "show", runId, "--json"], { workspace: ws })).stdout,
      );
      assertEquals(shown.manifest.status, "failed", point);
      const again = await lily(["run", "resume", runId], { workspace: ws });
      assertCleanError(again, 1, /marked failed: .*interrupted while starting: nothing ran/);
      assertEquals((await verify(ws)).findings, [], point);
    });
  }
});

Deno.test("a lost journal (emptied, deleted, NUL-filled) of a succeeded run is an error everywhere", async () => {
  const damages: [string, (path: string) => Promise<void>][] = [
    ["emptied", (path) => Deno.writeFile(path, new Uint8Array())],
    ["deleted", (path) => Deno.remove(path)],
    ["NUL-filled", async (path) => {
      await Deno.writeFile(path, new Uint8Array((await Deno.stat(path)).size));
    }],
  ];
  for (const [name, damage] of damages) {
    await withTempDir(async (ws) => {
      const runId = await succeededRun(ws);
      const journal = join(runDir(ws, runId), "events.jsonl");
      await damage(journal);
      const checked = await verify(ws);
      assertEquals(checked.code, 1, name);
      const finding = checked.findings.find((f) => f.path === journal);
      assertEquals([finding?.severity, finding?.run_id], ["error", runId], name);
      for (const reader of [["run", "show"], ["run", "resume"]]) {
        const out = await lily([...reader, runId], { workspace: ws });
        assertCleanError(out, 1, /events\.jsonl.*(lost|NUL).*restore the file from a backup/);
      }
    });
  }
});

Deno.test("an index truncated to 0 bytes: verify, show and resume name the run's artifacts the index lacks", async () => {
  await withTempDir(async (ws) => {
    const runId = await succeededRun(ws);
    await Deno.writeFile(join(ws, ".iris", "index.sqlite"), new Uint8Array());
    for (const suffix of ["-wal", "-shm"]) {
      await Deno.remove(join(ws, ".iris", `index.sqlite${suffix}`)).catch(() => {});
    }
    const checked = await verify(ws);
    assertEquals(checked.code, 1);
    const lost = checked.findings.filter((f) => f.kind === "dangling_ref");
    assert(lost.some((f) => /run_started\.workflow_ref/.test(f.detail)), JSON.stringify(lost));
    for (const f of lost) {
      assertEquals([f.severity, f.run_id], ["error", runId]);
      assertMatch(f.artifact_id ?? "", /^[0-9a-f-]{36}$/);
      assertMatch(f.detail, /not in the index; the index .* was lost or damaged/);
    }
    for (const reader of [["run", "show"], ["run", "resume"]]) {
      const out = await lily([...reader, runId], { workspace: ws });
      assertCleanError(out, 1, new RegExp(`Run ${runId}'s journal names artifacts .*index.*lost`));
    }
  });
});

Deno.test("a kill after run_finished: run list shows the journal's status and verify re-derives run_state.json", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const stderr = await crashAt("run_finished", ["run", "start", "flow.yaml"], ws);
    const runId = /Started run ([0-9a-f-]{36})/.exec(stderr)![1];
    const state = join(runDir(ws, runId), "run_state.json");
    const listed = await lily(["run", "list"], { workspace: ws });
    assertMatch(listed.stdout, new RegExp(`${runId} +succeeded`));
    assert(!/runner gone/.test(listed.stdout), listed.stdout);

    await crashAt("run_finished", ["run", "start", "flow.yaml"], ws);
    const second = JSON.parse((await lily(["run", "list", "--json"], { workspace: ws })).stdout)
      .map((r: { run_id: string }) => r.run_id).find((id: string) => id !== runId);
    const secondState = join(runDir(ws, second), "run_state.json");
    await Deno.remove(state).catch(() => {});
    assertEquals((await verify(ws)).code, 0);
    for (const path of [state, secondState]) {
      assertEquals(JSON.parse(await Deno.readTextFile(path)).status, "succeeded", path);
    }
  });
});

Deno.test("a deleted manifest: show and resume say it is missing and what to do", async () => {
  await withTempDir(async (ws) => {
    const runId = await succeededRun(ws);
    await Deno.remove(join(runDir(ws, runId), "run_manifest.json"));
    for (const reader of [["run", "show"], ["run", "resume"]]) {
      const out = await lily([...reader, runId], { workspace: ws });
      assertCleanError(out, 1, /lost its manifest: .*run_manifest\.json is missing.*backup/);
    }
    assertEquals((await verify(ws)).code, 1);
  });
});

Deno.test("a manifest naming another run is an integrity error naming the file", async () => {
  await withTempDir(async (ws) => {
    const a = await succeededRun(ws);
    const b = await succeededRun(ws);
    const manifest = join(runDir(ws, a), "run_manifest.json");
    await Deno.copyFile(join(runDir(ws, b), "run_manifest.json"), manifest);
    const checked = await verify(ws);
    assertEquals(checked.code, 1);
    const finding = checked.findings.find((f) => f.kind === "invalid_manifest");
    assertEquals(finding?.path, manifest);
    assertMatch(finding!.detail, new RegExp(`names run ${b}, not ${a}`));
    const shown = await lily(["run", "show", a], { workspace: ws });
    assertCleanError(shown, 1, new RegExp(`run_manifest\\.json names run ${b}, not ${a}`));
  });
});

Deno.test("a lock file replaced by a directory: verify reports it and the error says to remove it", async () => {
  await withTempDir(async (ws) => {
    const runId = await succeededRun(ws);
    const creation = join(ws, ".iris", "runs", ".create.lock");
    const lock = join(runDir(ws, runId), ".lock");
    await Deno.remove(creation);
    await Deno.mkdir(creation);
    await Deno.remove(lock).catch(() => {});
    await Deno.mkdir(lock);
    const checked = await verify(ws);
    assertEquals(checked.code, 1);
    for (const path of [creation, lock]) {
      const finding = checked.findings.find((f) => f.path === path);
      assertMatch(finding?.detail ?? "(none)", /is not a regular file.*remove it/, path);
    }
    assertCleanError(
      await lily(["run", "new"], { workspace: ws }),
      1,
      /\.create\.lock.*lock file.*remove it/,
    );
  });
});

Deno.test("a manifest full of NUL bytes is described, never echoed", async () => {
  await withTempDir(async (ws) => {
    const runId = await succeededRun(ws);
    await Deno.writeFile(join(runDir(ws, runId), "run_manifest.json"), new Uint8Array(300));
    for (const args of [["run", "show", runId], ["verify"], ["run", "list"]]) {
      const out = await lily(args, { workspace: ws });
      const controls = [...out.stdout + out.stderr].filter((c) => c < " " && c !== "\n");
      assertEquals(controls, [], args.join(" "));
      assertMatch(out.stdout + out.stderr, /holds NUL bytes/, args.join(" "));
    }
  });
});

Deno.test("cancel and approve never write over a lost journal", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: w\nsteps:\n  - { id: a, shell: 'exit 1' }\n",
    );
    const started = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
    assertEquals(started.code, 1, started.stderr);
    const runId = JSON.parse(started.stdout).run_id;
    const journal = join(runDir(ws, runId), "events.jsonl");
    await Deno.remove(journal);
    for (const args of [["run", "cancel", runId], ["approve", runId, "review"]]) {
      const out = await lily(args, { workspace: ws });
      assertCleanError(out, 1, /events\.jsonl is missing.*restore the file from a backup/);
      assert(!(await Deno.lstat(journal).then(() => true, () => false)), args.join(" "));
    }
  });
});
