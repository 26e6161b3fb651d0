import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import {
  defaultExecutors,
  defineWorkflow,
  DiskFullError,
  openContractStore,
  readJournal,
  readManifest,
  RunJournal,
  startRun,
} from "../mod.ts";
import { lily, withTempDir } from "./_helpers.ts";

/**
 * Runs `fn` with a fresh 4 MiB tmpfs mounted on a temp dir, or prints why
 * not (mounting needs root) and skips.
 */
async function withSmallDisk(fn: (dir: string) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir],
      stdout: "null",
      stderr: "piped",
    }).output().catch((err) => ({ success: false, stderr: new TextEncoder().encode(String(err)) }));
    if (!mount.success) {
      console.log(
        `skipped: cannot mount a tmpfs: ${new TextDecoder().decode(mount.stderr).trim()}`,
      );
      return;
    }
    try {
      await fn(dir);
    } finally {
      await new Deno.Command("umount", { args: [dir] }).output();
    }
  });
}

Deno.test("a full disk during a run: one clear line naming the file, the run marked failed, resumable once space is freed", async () => {
  await withSmallDisk(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: full",
        "steps:",
        "  - id: fill",
        "    shell: '[ -f filled ] && exit 0; touch filled; cat /dev/zero > fill 2>/dev/null; true'",
        "  - { id: after, shell: 'true', needs: [fill] }",
      ].join("\n") + "\n",
    );
    const full = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
    assertEquals(full.code, 1, full.stderr);
    assert(!/internal error/.test(full.stderr), full.stderr);
    assertMatch(full.stderr.trim().split("\n").at(-1)!, /^lily: No space left on device: \/\S+$/);
    const runId = /started run ([0-9a-f-]{36})/.exec(full.stderr)![1];

    await Deno.remove(join(ws, "fill"));
    const shown = await lily(["run", "show", runId, "--json"], { workspace: ws });
    assertEquals(shown.code, 0, shown.stderr);
    const { manifest, run_state } = JSON.parse(shown.stdout);
    assert(manifest.status !== "running", "the run was left running");
    assertEquals(manifest.status, run_state.status, "the manifest disagrees with the journal");
    const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    assertEquals(JSON.parse(resumed.stdout).status, "succeeded");
    assertEquals((await lily(["verify"], { workspace: ws })).code, 0);
  });
});

Deno.test("a journal append that meets a full disk names the file, leaves no torn line, and the next append continues the sequence", async () => {
  await withSmallDisk(async (dir) => {
    const path = join(dir, "events.jsonl");
    const { journal } = await RunJournal.open(path);
    try {
      const fill = await Deno.open(join(dir, "fill"), { write: true, create: true });
      try {
        const chunk = new Uint8Array(64 * 1024);
        while (true) await fill.write(chunk);
      } catch (err) {
        assertEquals((err as { code?: string }).code, "ENOSPC");
      } finally {
        fill.close();
      }
      const err = await journal.append({ type: "runner_started", pid: 1, resumed: false }).then(
        () => undefined,
        (e) => e,
      );
      assert(err instanceof DiskFullError, String(err));
      assertEquals(err.message, `No space left on device: ${path}`);
      assertEquals((await readJournal(path)).events, []);
      await Deno.remove(join(dir, "fill"));
      const next = await journal.append({ type: "runner_started", pid: 2, resumed: true });
      assertEquals(next.seq, 1);
    } finally {
      journal.close();
    }
    const { events, tornTail } = await readJournal(path);
    assertEquals([events.length, tornTail], [1, false]);
  });
});

Deno.test("an error the runner cannot record stops the run as failed, with the reason, not left running", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    try {
      const graph = defineWorkflow({
        name: "nogates",
        steps: [{ id: "a", fn: () => {} }],
        gates: [{ id: "g", step: "a", fn: () => {} }],
      });
      let runId = "";
      const err = await startRun(store, graph, {
        executors: defaultExecutors(),
        onCreated: (id) => runId = id,
      }).then(() => undefined, (e) => e);
      assertMatch(String(err), /has gates but the runner was given no gate evaluator/);
      const manifest = await readManifest(store.runs.paths(runId).manifest);
      assertEquals(manifest.status, "failed");
      const { events } = await readJournal(store.runs.paths(runId).events);
      const last = events.at(-1)!;
      assertEquals(last.type, "run_finished");
      assertMatch(last.type === "run_finished" ? last.reason ?? "" : "", /no gate evaluator/);
    } finally {
      store.close();
    }
  });
});
