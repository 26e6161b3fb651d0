import { assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
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
