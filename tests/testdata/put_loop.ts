/**
 * A child process for crash and concurrency tests: puts artifacts (and
 * rewrites the run manifest) in a loop, printing each acknowledged id.
 *
 * Usage: deno run -A put_loop.ts <workspace> <run_id> <count|forever> <tag>
 */

import { openStore } from "../../store.ts";
import { join } from "node:path";

const [workspace, runId, countArg, tag] = Deno.args;
const count = countArg === "forever" ? Infinity : Number(countArg);
const store = await openStore(workspace);
// Inside the test's workspace, which the test removes: a killed loop leaves
// nothing in the system temp dir.
const scratch = await Deno.makeTempDir({ dir: workspace, prefix: "put_loop_" });
const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));
say("ready");
try {
  for (let i = 0; i < count; i++) {
    const body = "x".repeat(1 + (i * 997) % 20_000);
    let ref;
    switch (i % 4) {
      case 0:
        ref = await store.artifacts.putJson(runId, { tag, i, body }, { type: "loop.v1" });
        break;
      case 1:
        ref = await store.artifacts.putText(runId, `${tag} ${i} ${body}`, { type: "loop.v1" });
        break;
      case 2: {
        const source = join(scratch, `f${i}.bin`);
        await Deno.writeTextFile(source, `${tag} ${i} ${body}`);
        ref = await store.artifacts.putFile(runId, source, { type: "loop.v1", move: i % 8 === 2 });
        break;
      }
      default:
        await store.runs.update(
          runId,
          (m) => ({ status: m.status === "created" ? "running" : "created" }),
        );
        continue;
    }
    say(`put ${ref.artifact_id} ${ref.sha256}`);
  }
} finally {
  store.close();
  await Deno.remove(scratch, { recursive: true });
}
