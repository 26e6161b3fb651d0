import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createKernel, defineWorkflow, StorageError } from "../mod.ts";
import { openContractStore, openStore } from "../store.ts";
import { defaultExecutors } from "../src/runtime/executors/executor_registry.ts";
import { readJournal, RunJournal } from "../src/runtime/run_journal.ts";
import { startRun } from "../src/runtime/run_starter.ts";
import { readManifest } from "../src/store/run_manifest.ts";
import { assertCleanError, lily, lilyJson, withTempDir } from "./_helpers.ts";

async function sh(cmd: string, args: string[]): Promise<{ ok: boolean; message: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return { ok: out.success, message: new TextDecoder().decode(out.stderr).trim() };
}

/**
 * Runs `fn` with a directory on a tmpfs of `size` (mount options syntax), or
 * prints why it cannot and returns without running it.
 */
async function withSmallDisk(size: string, fn: (disk: string) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const disk = join(dir, "disk");
    await Deno.mkdir(disk);
    const mounted = await sh("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", disk]);
    if (!mounted.ok) {
      console.log(`skipped: cannot mount a tmpfs to fill (${mounted.message || "mount failed"})`);
      return;
    }
    let failure: { error: unknown } | undefined;
    try {
      await fn(disk);
    } catch (error) {
      failure = { error };
    }
    const unmounted = await sh("umount", [disk]);
    if (failure) throw failure.error;
    if (!unmounted.ok) throw new Error(`umount ${disk}: ${unmounted.message}`);
  });
}

/** Fills the file system holding `dir` to the last byte. */
async function fill(dir: string): Promise<void> {
  const file = await Deno.open(join(dir, "filler"), { write: true, createNew: true });
  try {
    const chunk = new Uint8Array(4096);
    while (true) {
      try {
        await file.write(chunk);
      } catch {
        break;
      }
    }
    for (let size = 2048; size >= 1; size /= 2) {
      await file.write(chunk.subarray(0, size)).catch(() => {});
    }
  } finally {
    file.close();
  }
}

const FULL = /^lily: No space left on device: .+; free some space and try again$/;

Deno.test("a full disk names the file that did not fit and leaves no run or payload behind", async () => {
  await withSmallDisk("1m", async (disk) => {
    const ws = join(disk, "ws");
    await Deno.mkdir(ws);
    const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const big = join(disk, "..", "big.bin");
    await Deno.writeFile(big, new Uint8Array(2 * 1024 * 1024));

    const put = await lily(["artifact", "put", run_id, "--type", "x.v1", "--file", big], {
      workspace: ws,
    });
    assertCleanError(put, 1, FULL);
    const artifacts = join(ws, ".iris", "runs", run_id, "artifacts");
    assertCleanError(put, 1, new RegExp(`: ${artifacts}/[0-9a-f-]{36}/big\\.bin;`));

    const order = join(disk, "..", "order.json");
    await Deno.writeTextFile(order, JSON.stringify({ goal: "x".repeat(2 * 1024 * 1024) }));
    assertCleanError(await lily(["run", "new", "--work-order", order], { workspace: ws }), 1, FULL);
    assertEquals((await lilyJson<{ run_id: string }[]>(["run", "list"], ws)).map((r) => r.run_id), [
      run_id,
    ]);
    assertEquals(await lilyJson(["verify"], ws), {
      ok: true,
      runs_checked: 1,
      artifacts_checked: 0,
      findings: [],
    });

    // With a connection held open, the index's shared memory exists already,
    // so the index opens on the full disk and the manifest is what does not fit.
    const held = new DatabaseSync(join(ws, ".iris", "index.sqlite"));
    try {
      held.exec("PRAGMA journal_mode = WAL");
      held.prepare("SELECT COUNT(*) FROM artifacts").get();
      await fill(disk);
      assertCleanError(
        await lily(["run", "new"], { workspace: ws }),
        1,
        /^lily: No space left on device: .*\/runs\/\.creating-[0-9a-f-]{36}\/run_manifest\.json;/,
      );
    } finally {
      held.close();
    }
    assertCleanError(await lily(["run", "new"], { workspace: ws }), 1, FULL);
    await Deno.remove(join(disk, "filler"));
    const runs = (await Array.fromAsync(Deno.readDir(join(ws, ".iris", "runs"))))
      .map((e) => e.name).filter((name) => name !== ".create.lock");
    assertEquals(runs, [run_id]);
  });
});

Deno.test("a full disk during a run: one clear line naming the file, the run marked failed, resumable once space is freed", async () => {
  await withSmallDisk("4m", async (ws) => {
    // The filler takes the last page; the filling step's record (its payload
    // and index row) or the next step's log then needs a page of its own, so
    // that write meets the full disk (the journal's small appends could still
    // land in its last page's slack).
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: full",
        "steps:",
        "  - id: fill",
        "    shell: '[ -f filled ] && exit 0; touch filled; cat /dev/zero > filler 2>/dev/null; true'",
        "  - { id: after, shell: 'echo noisy >&2', needs: [fill] }",
      ].join("\n") + "\n",
    );
    const full = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
    assertEquals(full.code, 1, full.stderr);
    assert(!/internal error/.test(full.stderr), full.stderr);
    const runId = /started run ([0-9a-f-]{36})/.exec(full.stderr)![1];
    const lines = full.stderr.trim().split("\n").filter((line) => line.startsWith("lily:"));
    assertEquals(lines.length, 1, full.stderr);
    assertMatch(
      lines[0],
      new RegExp(
        `^lily: No space left on device: ${ws}/\\.iris/(runs/${runId}/\\S+|index\\.sqlite); ` +
          "free some space and try again$",
      ),
    );

    await Deno.remove(join(ws, "filler"));
    const shown = await lily(["run", "show", runId, "--json"], { workspace: ws });
    assertEquals(shown.code, 0, shown.stderr);
    const { manifest, run_state } = JSON.parse(shown.stdout);
    assertEquals(run_state.status, "failed");
    assertEquals(manifest.status, run_state.status, "the manifest disagrees with the journal");
    const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    assertEquals(JSON.parse(resumed.stdout).status, "succeeded");
    assertEquals((await lily(["verify"], { workspace: ws })).code, 0);
  });
});

Deno.test("a journal append that meets a full disk names the file, leaves no torn line, and the next append continues the sequence", async () => {
  await withSmallDisk("1m", async (dir) => {
    const store = await openStore(dir);
    try {
      const runId = (await store.runs.create()).manifest.run_id;
      const path = join(dir, ".iris", "runs", runId, "events.jsonl");
      const { journal } = await RunJournal.open(store.events, runId);
      try {
        await fill(dir);
        const err = await journal.append({ type: "runner_started", pid: 1, resumed: false }).then(
          () => undefined,
          (e) => e,
        );
        assert(err instanceof StorageError, String(err));
        assertEquals([err.code, err.path], ["ENOSPC", path]);
        assertEquals(
          err.message,
          `No space left on device: ${path}; free some space and try again`,
        );
        assertEquals((await readJournal(store.events, runId)).events, []);
        await Deno.remove(join(dir, "filler"));
        const next = await journal.append({ type: "runner_started", pid: 2, resumed: true });
        assertEquals(next.seq, 1);
      } finally {
        journal.close();
      }
      const { events, tornTail } = await readJournal(store.events, runId);
      assertEquals([events.length, tornTail], [1, false]);
    } finally {
      store.close();
    }
  });
});

Deno.test("a step's staged output that meets a full disk names the file and stops the run instead of failing the attempt", async () => {
  await withSmallDisk("1m", async (ws) => {
    const store = await openContractStore(ws);
    try {
      let calls = 0;
      const graph = defineWorkflow({
        name: "staged",
        steps: [{
          id: "plan",
          fn: async () => {
            calls++;
            await fill(ws);
            return { plan: "x".repeat(8192) };
          },
          outputs: { plan: { type: "plan.v1", path: "plan.txt" } },
        }],
      });
      const err = await createKernel({ workspace: ws, store }).runs.start(graph).then(
        () => undefined,
        (e) => e,
      );
      assert(err instanceof StorageError, String(err));
      assertEquals(err.code, "ENOSPC");
      assertMatch(err.path, /\/\.iris\/runs\/[0-9a-f-]{36}\/tmp\/plan\.1\/out\/plan\.txt$/);
      assertEquals(
        err.message,
        `No space left on device: ${err.path}; free some space and try again`,
      );
      assertEquals(calls, 1);
    } finally {
      store.close();
    }
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
        kernelEnv: {},
        onCreated: (id) => runId = id,
      }).then(() => undefined, (e) => e);
      assertMatch(String(err), /has gates but the runner was given no gate evaluator/);
      const manifest = await readManifest(join(store.runs.location(runId), "run_manifest.json"));
      assertEquals(manifest.status, "failed");
      const { events } = await readJournal(store.events, runId);
      const last = events.at(-1)!;
      assertEquals(last.type, "run_finished");
      assertMatch(last.type === "run_finished" ? last.reason ?? "" : "", /no gate evaluator/);
    } finally {
      store.close();
    }
  });
});
