import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import {
  assertCleanError,
  fingerprint,
  lily,
  lilyJson,
  runEvents,
  withTempDir,
} from "./_helpers.ts";

const FLOW = [
  "name: two",
  "steps:",
  "  - id: a",
  "    shell: echo a >> a.log",
  "  - id: b",
  "    needs: [a]",
  "    shell: echo b >> b.log",
  "",
].join("\n");

function durabilities(events: { type: string; [key: string]: unknown }[], type: string) {
  return events.filter((e) => e.type === type).map((e) => e.durability);
}

Deno.test("run start records the durability in run_started and runner_started; fsync by default", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const plain = await lilyJson<{ run_id: string }>(["run", "start", "flow.yaml"], ws);
    const events = await runEvents(ws, plain.run_id);
    assertEquals(durabilities(events, "run_started"), ["fsync"]);
    assertEquals(durabilities(events, "runner_started"), ["fsync"]);

    const fast = await lilyJson<{ run_id: string; status: string }>(
      ["run", "start", "flow.yaml", "--durability", "process"],
      ws,
    );
    assertEquals(fast.status, "succeeded");
    const fastEvents = await runEvents(ws, fast.run_id);
    assertEquals(durabilities(fastEvents, "run_started"), ["process"]);
    assertEquals(durabilities(fastEvents, "runner_started"), ["process"]);
  });
});

Deno.test("an unknown --durability is refused in one line and creates nothing", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const before = await fingerprint(ws);
    const result = await lily(["run", "start", "flow.yaml", "--durability", "sometimes"], {
      workspace: ws,
    });
    assertCleanError(result, 2, /--durability "sometimes": expected "fsync" or "process"/);
    assertEquals(await fingerprint(ws), before);
    const json = await lily(["run", "start", "flow.yaml", "--durability", "never", "--json"], {
      workspace: ws,
    });
    assertEquals(json.code, 2);
    assert(JSON.parse(json.stdout).error.message.includes("--durability"), json.stdout);
  });
});

Deno.test("a run with --durability process survives kill -9 of Lily and resumes without re-running finished steps", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `${FLOW}gates:\n  - { id: ok, step: a, command: ["true"] }\n`,
    );
    // Killed once step a succeeded: its events were written, never fsynced.
    const killed = await lily(["run", "start", "flow.yaml", "--durability", "process"], {
      workspace: ws,
      env: { LILY_TEST_CRASH_AT: "gates_starting" },
    });
    assertEquals(killed.code, 137, killed.stderr);
    const runId = /Started run ([0-9a-f-]{36})/.exec(killed.stderr)![1];
    const resumed = await lilyJson<{ status: string }>(
      ["run", "resume", runId, "--durability", "process"],
      ws,
    );
    assertEquals(resumed.status, "succeeded");
    assertEquals(await Deno.readTextFile(join(ws, "a.log")), "a\n", "step a ran once");
    assertEquals(await Deno.readTextFile(join(ws, "b.log")), "b\n");
    const events = await runEvents(ws, runId);
    assertEquals(durabilities(events, "runner_started"), ["process", "process"]);
  });
});

Deno.test("run resume journals with the durability it is given, fsync by default", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const killed = await lily(["run", "start", "flow.yaml", "--durability", "process"], {
      workspace: ws,
      env: { LILY_TEST_CRASH_AT: "attempt_started" },
    });
    assertEquals(killed.code, 137, killed.stderr);
    const runId = /Started run ([0-9a-f-]{36})/.exec(killed.stderr)![1];
    const resumed = await lilyJson<{ status: string }>(["run", "resume", runId], ws);
    assertEquals(resumed.status, "succeeded");
    const events = await runEvents(ws, runId);
    assertEquals(durabilities(events, "run_started"), ["process"]);
    assertEquals(durabilities(events, "runner_started"), ["process", "fsync"]);
  });
});
