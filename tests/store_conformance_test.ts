import { join } from "node:path";
import { openStore } from "../store.ts";
import { REPO } from "./_helpers.ts";
import { runStoreSpec } from "./store_conformance.ts";

runStoreSpec({
  name: "filesystem + SQLite store",
  newStore: async () => {
    const workspace = await Deno.makeTempDir({ prefix: "lily_store_spec_" });
    const store = await openStore(workspace);
    const children: Deno.ChildProcess[] = [];
    return {
      store,
      holdLeaseElsewhere: async (runId) => {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", join(REPO, "tests/testdata/hold_lease.ts"), workspace, runId],
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        children.push(child);
        const reader = child.stdout.getReader();
        let said = "";
        while (!said.includes("held\n")) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`Failed to hold the lease: the child exited, saying ${said}`);
          said += new TextDecoder().decode(value);
        }
        reader.releaseLock();
        await child.stdout.cancel();
        return child;
      },
      tearLogTail: async (runId) => {
        const events = join(store.runs.location(runId), "events.jsonl");
        await Deno.writeTextFile(events, '{"n": 99, "torn', { append: true });
      },
      zeroLog: async (runId) => {
        await Deno.writeFile(join(store.runs.location(runId), "events.jsonl"), new Uint8Array(64));
      },
      dispose: async () => {
        for (const child of children) {
          try {
            child.kill("SIGKILL");
          } catch {
            // Already gone.
          }
          await child.status;
        }
        store.close();
        await Deno.remove(workspace, { recursive: true });
      },
    };
  },
});
