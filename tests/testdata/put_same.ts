/**
 * A child process for the gc concurrency test: puts the same payload again
 * and again (as text, and as a copied file), printing each acknowledged id,
 * until the file `stop` appears (after at least one put).
 *
 * Usage: deno run -A put_same.ts <workspace> <run_id> <stop> <text>
 */

import { join } from "node:path";
import { openStore } from "../../store.ts";

const [workspace, runId, stop, text] = Deno.args;
const store = await openStore(workspace, { create: false });
const scratch = await Deno.makeTempDir({ dir: workspace, prefix: "put_same_" });
const source = join(scratch, "same.txt");
await Deno.writeTextFile(source, text);
const say = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
say("ready");
try {
  for (let i = 0; i === 0 || !(await Deno.stat(stop).then(() => true, () => false)); i++) {
    const ref = i % 2 === 0
      ? await store.artifacts.putText(runId, text, { type: "same.v1" })
      : await store.artifacts.putFile(runId, source, { type: "same.v1" });
    say(`put ${ref.artifact_id}`);
  }
} finally {
  store.close();
  await Deno.remove(scratch, { recursive: true });
}
