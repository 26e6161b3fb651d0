/**
 * A run made by `lily run new` has no workflow and no runner: the commands
 * that follow, resume or replay a workflow run say so, and never send the
 * person to a command that cannot help (`lily run resume` of such a run).
 */

import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { assertCleanError, fingerprint, lily, lilyJson, withTempDir } from "./_helpers.ts";

Deno.test("following a run made by run new ends at once, naming why, without suggesting run resume", async () => {
  await withTempDir(async (ws) => {
    const { run_id: runId } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    for (const args of [["logs", runId, "--follow"], ["run", "show", runId, "--follow"]]) {
      const result = await lily(args, { workspace: ws });
      assertCleanError(result, 2, /was not started from a workflow/);
      assert(!result.stderr.includes("run resume"), result.stderr);
      const json = await lily([...args, "--json"], { workspace: ws });
      const lines = json.stdout.trim().split("\n");
      assertEquals(lines.length, 1, json.stdout);
      assertEquals(JSON.parse(lines[0]).error.exit_code, 2);
    }
  });
});

Deno.test("rerun, gates-only, replace and resume of a run made by run new name the run's kind, not resume", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "a.json"), '{"a": 1}');
    const { run_id: runId } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const { artifact_id: id } = await lilyJson<{ artifact_id: string }>(
      ["artifact", "put", runId, "--type", "x.v1", "--json-file", "a.json"],
      ws,
    );
    const store = join(ws, ".iris");
    for (
      const args of [
        ["run", "rerun", runId, "--from", "a"],
        ["run", "rerun", runId, "--gates-only"],
        ["artifact", "replace", runId, id, "--json-file", "a.json", "--reason", "r"],
        ["run", "resume", runId],
      ]
    ) {
      const before = await fingerprint(store);
      const result = await lily(args, { workspace: ws });
      assertCleanError(result, 2, /was not started from a workflow/);
      assert(!/nothing to resume/.test(result.stderr), `${args.join(" ")}: ${result.stderr}`);
      assertEquals(await fingerprint(store), before, args.join(" "));
    }
  });
});

Deno.test("following a run whose start was killed before it journaled says so, and what to do", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      'name: f\nsteps:\n  - id: a\n    command: ["true"]\n',
    );
    const killed = await lily(["run", "start", "flow.yaml"], {
      workspace: ws,
      env: { LILY_TEST_CRASH_AT: "run_created" },
    });
    assertEquals(killed.code, 137, killed.stderr);
    const [{ run_id: runId }] = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
    for (const args of [["logs", runId, "--follow"], ["run", "show", runId, "--follow"]]) {
      const result = await lily(args, { workspace: ws });
      assertCleanError(
        result,
        1,
        /was interrupted while starting: nothing ran; start the workflow again/,
      );
    }
  });
});
