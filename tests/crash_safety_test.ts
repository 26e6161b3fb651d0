import { assert, assertEquals } from "./_assert.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { openStore } from "../store.ts";
import { readManifest } from "../src/store/run_manifest.ts";
import { REPO, withTempDir } from "./_helpers.ts";

const LOOP = join(REPO, "tests", "testdata", "put_loop.ts");
const ROUNDS = 24;

/** Reads lines from a child's stdout until `want` lines have arrived. */
async function readLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  want: number,
  into: string[],
): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  while (into.length < want) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    into.push(...parts);
  }
}

Deno.test("SIGKILL during puts and manifest writes never leaves corruption or torn manifests", async () => {
  await withTempDir(async (ws) => {
    const store = await openStore(ws);
    const { manifest } = await store.runs.create();
    store.close();
    const acknowledged = new Map<string, string>();
    const seed = Date.now();
    let rand = seed;
    const random = () => (rand = (rand * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < ROUNDS; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", LOOP, ws, manifest.run_id, "forever", `r${round}`],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.getReader();
      const lines: string[] = [];
      await readLines(reader, 1 + Math.floor(random() * 40), lines);
      child.kill("SIGKILL");
      await readLines(reader, Infinity, lines);
      const status = await child.status;
      assertEquals(status.signal, "SIGKILL", `round ${round} (seed ${seed}) child was not killed`);
      for (const line of lines.filter((l) => l.startsWith("put "))) {
        const [, id, sha] = line.split(" ");
        acknowledged.set(id, sha);
      }
    }
    const check = await openStore(ws, { create: false });
    try {
      const report = await check.verify();
      const errors = report.findings.filter((f) => f.severity === "error");
      assertEquals(errors, [], `seed ${seed}`);
      assert(acknowledged.size >= ROUNDS, `only ${acknowledged.size} puts acknowledged`);
      for (const [id, sha] of acknowledged) {
        const ref = await check.artifacts.ref(id);
        assertEquals(ref.sha256, sha, `acknowledged artifact ${id} lost or changed`);
      }
      for (const ref of await check.artifacts.list(manifest.run_id)) {
        const bytes = await Deno.readFile(join(check.runs.location(ref.run_id), ref.rel_path));
        assertEquals(createHash("sha256").update(bytes).digest("hex"), ref.sha256);
      }
      const read = await readManifest(
        join(check.runs.location(manifest.run_id), "run_manifest.json"),
      );
      assertEquals(read.run_id, manifest.run_id);
    } finally {
      check.close();
    }
  });
});
