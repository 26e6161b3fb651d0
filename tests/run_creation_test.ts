import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { CLI, type CliResult, lily, lilyJson, waitFor, withTempDir } from "./_helpers.ts";

interface Report {
  ok: boolean;
  findings: { kind: string; severity: string; path: string; run_id: string | null }[];
  partial_removed?: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function runsDirEntries(ws: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(ws, ".iris", "runs"))) names.push(entry.name);
  return names.sort();
}

async function partials(ws: string): Promise<string[]> {
  return (await runsDirEntries(ws)).filter((name) => name.startsWith(".creating-"));
}

for (const point of ["run_create.before_manifest", "run_create.before_rename"]) {
  Deno.test(`a run creation killed at ${point} leaves a trace verify warns about and --clean-partial removes`, async () => {
    await withTempDir(async (ws) => {
      const kept = await lilyJson<{ run_id: string }>(["run", "new"], ws);
      const crashed = await lily(["run", "new"], {
        workspace: ws,
        env: { LILY_TEST_CRASH_AT: point },
      });
      assertEquals(crashed.code, 137, `expected a SIGKILL, got: ${crashed.stderr}`);
      const [trace] = await partials(ws);
      assert(trace !== undefined, "a .creating-<id> directory is left");
      const partialId = trace.slice(".creating-".length);
      assertMatch(partialId, UUID);

      const human = await lily(["verify"], { workspace: ws });
      assertEquals(human.code, 0, human.stdout + human.stderr);
      assertMatch(
        human.stdout,
        new RegExp(`^warning partial_run: run ${partialId} .*${trace}: `, "m"),
      );
      assertMatch(human.stdout, /lily verify --clean-partial/);
      assertMatch(human.stdout, /^OK: 1 runs, 0 artifacts checked, 0 errors, 1 warnings$/m);

      const listed = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
      assertEquals(listed.map((r) => r.run_id), [kept.run_id]);
      const shown = await lily(["run", "show", partialId], { workspace: ws });
      assertEquals(shown.code, 1);
      assertMatch(shown.stderr, /does not exist/);

      const cleaned = await lilyJson<Report>(["verify", "--clean-partial"], ws);
      assertEquals(cleaned.partial_removed, [join(ws, ".iris", "runs", trace)]);
      assertEquals(cleaned.findings, []);
      assertEquals(await partials(ws), []);
      assertEquals((await lilyJson<{ run_id: string }[]>(["run", "list"], ws)).length, 1);
    });
  });
}

Deno.test("a run creation killed while git answers the workspace snapshot leaves nothing", async () => {
  await withTempDir(async (ws) => {
    const bin = join(ws, "bin");
    const pidFile = join(ws, "git.pid");
    await Deno.mkdir(bin);
    await Deno.writeTextFile(
      join(bin, "git"),
      `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 60\n`,
      { mode: 0o755 },
    );
    await lilyJson(["run", "list"], ws);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", CLI, "run", "new"],
      cwd: ws,
      env: { LILY_WORKSPACE: ws, NO_COLOR: "1", PATH: `${bin}:${Deno.env.get("PATH")}` },
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    let gitPid: number | undefined;
    try {
      gitPid = await waitFor("the slow git to start", async () => {
        const text = await Deno.readTextFile(pidFile).catch(() => "");
        return text.endsWith("\n") ? Number(text) : undefined;
      });
      child.kill("SIGKILL");
      assertEquals((await child.status).signal, "SIGKILL");
    } finally {
      if (gitPid !== undefined) {
        try {
          Deno.kill(gitPid, "SIGKILL");
        } catch {
          // It already ended.
        }
      }
      await child.status;
    }
    assertEquals((await runsDirEntries(ws)).filter((n) => !n.startsWith(".create")), []);
    const report = await lilyJson<Report>(["verify"], ws);
    assertEquals(
      report,
      { ok: true, runs_checked: 0, artifacts_checked: 0, findings: [] } as Report,
    );
    assertEquals(await lilyJson(["run", "list"], ws), []);
  });
});

Deno.test("--clean-partial leaves a creation in progress alone", async () => {
  await withTempDir(async (ws) => {
    await lily(["run", "new"], {
      workspace: ws,
      env: { LILY_TEST_CRASH_AT: "run_create.before_rename" },
    });
    const [trace] = await partials(ws);
    assert(trace !== undefined);
    // A creator holds the creation lock shared from before its directory
    // exists until the run is renamed into place.
    const creator = await Deno.open(join(ws, ".iris", "runs", ".create.lock"), {
      read: true,
      write: true,
    });
    let busy: CliResult;
    try {
      await creator.lock(false);
      busy = await lily(["verify", "--clean-partial"], { workspace: ws });
    } finally {
      creator.close();
    }
    assertEquals(busy.code, 0, busy.stderr);
    assertMatch(busy.stdout, /a run is being created right now; nothing was removed/);
    assertEquals(await partials(ws), [trace]);
    assertEquals(
      (await lilyJson<Report>(["verify", "--clean-partial"], ws)).partial_removed?.length,
      1,
    );
    assertEquals(await partials(ws), []);
  });
});

Deno.test("a manifest-less run directory left by an earlier Lily is a warning, cleaned once old", async () => {
  await withTempDir(async (ws) => {
    await lilyJson(["run", "new"], ws);
    const id = crypto.randomUUID();
    const root = join(ws, ".iris", "runs", id);
    for (const dir of ["artifacts", "logs", "tmp"]) {
      await Deno.mkdir(join(root, dir), { recursive: true });
    }

    const report = await lily(["verify", "--json"], { workspace: ws });
    assertEquals(report.code, 0, report.stdout);
    const doc = JSON.parse(report.stdout) as Report;
    assertEquals(doc.findings.map((f) => [f.kind, f.severity, f.path]), [[
      "partial_run",
      "warning",
      root,
    ]]);
    assertEquals((await lilyJson<unknown[]>(["run", "list"], ws)).length, 1);

    const young = await lilyJson<Report>(["verify", "--clean-partial"], ws);
    assertEquals(young.partial_removed, [], "a young one may still be an old kernel's creation");
    const past = new Date(Date.now() - 120_000);
    await Deno.utime(root, past, past);
    const old = await lilyJson<Report>(["verify", "--clean-partial"], ws);
    assertEquals(old.partial_removed, [root]);
    assertEquals(old.findings, []);

    // A run directory with anything else in it stays an error: it may hold data.
    await Deno.mkdir(join(root, "artifacts"), { recursive: true });
    await Deno.writeTextFile(join(root, "events.jsonl"), "");
    const kept = await lily(["verify", "--clean-partial", "--json"], { workspace: ws });
    assertEquals(kept.code, 1);
    assertEquals((JSON.parse(kept.stdout) as Report).findings.map((f) => f.kind), [
      "invalid_manifest",
    ]);
  });
});
