/**
 * The content store through the CLI: identical payloads stored once across
 * runs, `lily pin|unpin`, `lily gc` (selection, dry run, pins, shared
 * payloads, a concurrent writer), and `lily verify` over the content store.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import {
  assertCleanError,
  fingerprint,
  lily,
  lilyJson,
  REPO,
  SANDBOXED,
  waitFor,
  withTempDir,
} from "./_helpers.ts";

const FLOW = [
  "name: same",
  "steps:",
  "  - id: make",
  `    shell: printf 'the same bytes' > "$LILY_OUTPUT_DIR/note.txt"`,
  "    outputs:",
  "      note: { type: note.v1, kind: text, path: note.txt }",
  "",
].join("\n");

interface Ref {
  artifact_id: string;
  run_id: string;
  rel_path: string;
  sha256: string;
}

interface GcReport {
  dry_run: boolean;
  gc_id: string | null;
  runs: string[];
  artifacts: string[];
  pinned_kept: string[];
  payloads: { sha256: string; size: number }[];
  shared_kept: number;
  leftovers: string[];
  bytes_freed: number;
}

interface Finding {
  kind: string;
  severity: string;
  artifact_id: string | null;
  path: string;
}

/** Runs the flow to its end; returns the run and its note artifact. */
async function runFlow(ws: string): Promise<{ runId: string; note: Ref }> {
  const run = await lilyJson<{ run_id: string; status: string }>(["run", "start", "flow.yaml"], ws);
  assertEquals(run.status, "succeeded");
  const [note] = await lilyJson<Ref[]>(
    ["artifact", "list", "--run", run.run_id, "--type", "note.v1"],
    ws,
  );
  return { runId: run.run_id, note };
}

async function put(ws: string, runId: string, file: string): Promise<Ref> {
  return await lilyJson<Ref>(["artifact", "put", runId, "--type", "t.v1", "--file", file], ws);
}

const payloadPath = (ws: string, ref: Ref) => join(ws, ".iris", "runs", ref.run_id, ref.rel_path);
const casPath = (ws: string, sha: string) => join(ws, ".iris", "cas", sha.slice(0, 2), sha);

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("two runs whose steps write the same bytes share one content-store file", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const a = await runFlow(ws);
    const b = await runFlow(ws);
    assertEquals(a.note.sha256, b.note.sha256);
    const [first, second, stored] = await Promise.all([
      Deno.stat(payloadPath(ws, a.note)),
      Deno.stat(payloadPath(ws, b.note)),
      Deno.stat(casPath(ws, a.note.sha256)),
    ]);
    assertEquals([first.ino, second.ino], [stored.ino, stored.ino]);
    assert(stored.nlink! >= 3, `link count ${stored.nlink}`);
    assertEquals(await Deno.readTextFile(payloadPath(ws, b.note)), "the same bytes");
    const report = await lilyJson<{ ok: boolean; findings: Finding[] }>(["verify"], ws);
    assertEquals([report.ok, report.findings], [true, []]);
  });
});

Deno.test("gc --keep-last collects the older ended run, keeps shared and pinned payloads, and a dry run changes nothing", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    await Deno.writeTextFile(join(ws, "unique.txt"), "only in the old run");
    await Deno.writeTextFile(join(ws, "kept.txt"), "pinned in the old run");
    const old = await runFlow(ws);
    const unique = await put(ws, old.runId, join(ws, "unique.txt"));
    const pinned = await put(ws, old.runId, join(ws, "kept.txt"));
    const recent = await runFlow(ws);
    const created = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const pin = await lilyJson<{ was_pinned: boolean; reason: string }>(
      ["pin", pinned.artifact_id, "--reason", "audit"],
      ws,
    );
    assertEquals([pin.was_pinned, pin.reason], [false, "audit"]);

    const before = await fingerprint(join(ws, ".iris"));
    const dry = await lilyJson<GcReport>(["gc", "--dry-run", "--keep-last", "1"], ws);
    assertEquals(await fingerprint(join(ws, ".iris")), before, "a dry run changed the store");
    assertEquals([dry.dry_run, dry.gc_id, dry.runs], [true, null, [old.runId]]);
    assertEquals(dry.pinned_kept, [pinned.artifact_id]);
    assert(
      dry.artifacts.includes(unique.artifact_id) && dry.artifacts.includes(old.note.artifact_id),
    );
    assert(!dry.artifacts.includes(pinned.artifact_id));
    assert(dry.payloads.some((p) => p.sha256 === unique.sha256));
    assert(!dry.payloads.some((p) => p.sha256 === old.note.sha256), "a shared payload would go");
    assert(dry.shared_kept >= 1);

    const done = await lilyJson<GcReport>(["gc", "--keep-last", "1"], ws);
    assertEquals([done.dry_run, done.runs, done.artifacts], [false, dry.runs, dry.artifacts]);
    assertEquals(done.payloads, dry.payloads);
    assertMatch(done.gc_id!, /^[0-9a-f-]{36}$/);
    assert(!(await exists(casPath(ws, unique.sha256))), "the unique payload stayed");
    assert(!(await exists(payloadPath(ws, unique))), "the collected path stayed");
    assert(await exists(casPath(ws, old.note.sha256)), "the shared payload went");
    assertEquals(await Deno.readTextFile(payloadPath(ws, recent.note)), "the same bytes");
    assertEquals(await Deno.readTextFile(payloadPath(ws, pinned)), "pinned in the old run");
    assert(!done.runs.includes(created.run_id) && !done.runs.includes(recent.runId));

    const show = await lilyJson<Ref>(["artifact", "show", unique.artifact_id], ws);
    assertEquals(show.sha256, unique.sha256, "the collected artifact's row is gone");
    assertCleanError(
      await lily(["artifact", "path", unique.artifact_id], { workspace: ws }),
      1,
      new RegExp(`removed by lily gc \\(gc ${done.gc_id}.*its sha256 was ${unique.sha256}`),
    );
    const verify = await lilyJson<{ ok: boolean; findings: Finding[] }>(["verify"], ws);
    assertEquals([verify.ok, verify.findings], [true, []]);
    const shown = await lily(["run", "show", old.runId], { workspace: ws });
    assertEquals(shown.code, 0, shown.stderr);
    const again = await lilyJson<GcReport>(["gc", "--keep-last", "1"], ws);
    assertEquals([again.artifacts, again.payloads], [[], []]);
  });
});

Deno.test("gc --older-than selects only runs ended that long ago; without a selection only garbage goes", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const run = await runFlow(ws);
    const stray = join(ws, ".iris", "cas", "tmp", "left-by-a-crash.tmp");
    await Deno.writeTextFile(stray, "half a payload");
    const verify = await lilyJson<{ ok: boolean; findings: Finding[] }>(["verify"], ws);
    assertEquals(verify.findings.map((f) => [f.kind, f.severity, f.path]), [
      ["orphan_content", "warning", stray],
    ]);
    const recent = await lilyJson<GcReport>(["gc", "--older-than", "1h"], ws);
    assertEquals([recent.runs, recent.leftovers], [[], [stray]]);
    assert(!(await exists(stray)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const aged = await lilyJson<GcReport>(["gc", "--older-than", "10ms", "--dry-run"], ws);
    assertEquals(aged.runs, [run.runId]);
    const both = await lilyJson<GcReport>(
      ["gc", "--older-than", "10ms", "--keep-last", "1", "--dry-run"],
      ws,
    );
    assertEquals(both.runs, []);
  });
});

Deno.test("gc under a concurrent writer putting the payload gc is collecting loses none of its puts, and spares pins", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    await Deno.writeTextFile(join(ws, "pinned.txt"), "pinned bytes");
    const old = await runFlow(ws);
    const pinned = await put(ws, old.runId, join(ws, "pinned.txt"));
    assertEquals((await lily(["pin", pinned.artifact_id], { workspace: ws })).code, 0);
    const stop = join(ws, "stop");
    // The writer puts the old run's payload into the old run itself, which
    // every gc selects: each gc decides about a payload a put may be linking.
    const writer = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(REPO, "tests/testdata/put_same.ts"),
        ws,
        old.runId,
        stop,
        "the same bytes",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = writer.output();
    const reports: GcReport[] = [];
    try {
      await waitFor(
        "the writer's first put",
        async () =>
          (await lilyJson<Ref[]>(["artifact", "list", "--run", old.runId, "--type", "same.v1"], ws))
              .length > 0 || undefined,
      );
      for (let i = 0; i < 6; i++) {
        reports.push(await lilyJson<GcReport>(["gc", "--keep-last", "0"], ws));
      }
    } finally {
      await Deno.writeTextFile(stop, "");
    }
    const result = await output;
    assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
    const ids = new TextDecoder().decode(result.stdout).split("\n")
      .filter((line) => line.startsWith("put ")).map((line) => line.slice(4));
    assert(ids.length > 6, `only ${ids.length} puts`);
    assert(reports.every((r) => r.pinned_kept.includes(pinned.artifact_id)));
    const collected = new Set(reports.flatMap((r) => r.artifacts));
    assert(reports.slice(1).some((r) => r.artifacts.length > 0), "no gc met a writer's put");
    const rows = await lilyJson<Ref[]>(["artifact", "list", "--run", old.runId], ws);
    const pinnedRow = (all: Ref[]) => all.find((r) => r.artifact_id === pinned.artifact_id);
    for (const id of ids) assert(rows.some((r) => r.artifact_id === id), `${id} lost its row`);
    const payloads = rows.filter((r) => ids.includes(r.artifact_id) || r === pinnedRow(rows));
    for (const ref of payloads.filter((r) => !collected.has(r.artifact_id))) {
      const text = await Deno.readTextFile(payloadPath(ws, ref));
      assertEquals(
        text,
        ref.artifact_id === pinned.artifact_id ? "pinned bytes" : "the same bytes",
      );
    }
    const verify = await lilyJson<{ ok: boolean; findings: Finding[] }>(["verify"], ws);
    assertEquals([verify.ok, verify.findings], [true, []]);
  });
});

Deno.test("verify reports a damaged content-store payload and every artifact linked to it", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const a = await runFlow(ws);
    const b = await runFlow(ws);
    const cas = casPath(ws, a.note.sha256);
    await Deno.chmod(cas, 0o644);
    await Deno.writeTextFile(cas, "the SAME bytes");
    const result = await lily(["verify", "--json"], { workspace: ws });
    assertEquals(result.code, 1);
    const findings = (JSON.parse(result.stdout).findings as Finding[])
      .filter((f) => f.kind === "hash_mismatch");
    assertEquals(
      findings.map((f) => f.artifact_id ?? f.path).sort(),
      [a.note.artifact_id, b.note.artifact_id, cas].sort(),
    );
  });
});

Deno.test("pin, unpin and gc refuse bad input with one clear line and change nothing", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "note.txt"), "a note");
    const run = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const ref = await put(ws, run.run_id, join(ws, "note.txt"));
    const before = await fingerprint(join(ws, ".iris"));
    const unknown = crypto.randomUUID();
    assertCleanError(await lily(["unpin", ref.artifact_id], { workspace: ws }), 1, /is not pinned/);
    assertCleanError(await lily(["pin", unknown], { workspace: ws }), 1, /does not exist/);
    assertCleanError(await lily(["unpin", unknown], { workspace: ws }), 1, /does not exist/);
    assertCleanError(await lily(["pin", "nope"], { workspace: ws }), 2, /artifact id/);
    assertCleanError(await lily(["gc", "--keep-last", "-1"], { workspace: ws }), 2, /keep-last/);
    assertCleanError(await lily(["gc", "--older-than", "5x"], { workspace: ws }), 2, /duration/);
    const json = await lily(["unpin", ref.artifact_id, "--json"], { workspace: ws });
    assertEquals(JSON.parse(json.stdout).error.code, "not_found");
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test({
  name: "a content store on another file system is reached by reference, read back and verified",
  ignore: !SANDBOXED,
  fn: async () => {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(join(ws, "note.txt"), "across devices");
      const run = await lilyJson<{ run_id: string }>(["run", "new"], ws);
      await Deno.mkdir(join(ws, ".iris", "cas"), { recursive: true });
      const cli = [Deno.execPath(), "run", "-A", "--quiet", join(REPO, "cli.ts")].join(" ");
      // The content store on a tmpfs: a hard link from the run to it fails with EXDEV.
      const script = `set -e; id=$(${cli} artifact put ${run.run_id} --type t.v1 ` +
        `--text-file note.txt --json | sed -n 's/.*"artifact_id": "\\(.*\\)".*/\\1/p'); ` +
        `ls .iris/runs/${run.run_id}/artifacts/$id; ${cli} artifact get $id; echo; ` +
        `${cli} verify`;
      const out = await new Deno.Command("bwrap", {
        args: ["--bind", "/", "/", "--tmpfs", join(ws, ".iris", "cas"), "sh", "-c", script],
        cwd: ws,
        env: { LILY_WORKSPACE: ws, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertMatch(text, /payload\.txt\.cas_ref\nacross devices\nOK: /);
    });
  },
});
