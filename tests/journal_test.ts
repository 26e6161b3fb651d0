import { assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { assertCleanError, fingerprint, lily, lilyJson, withTempDir } from "./_helpers.ts";

async function finishedRun(ws: string): Promise<{ runId: string; events: string }> {
  await Deno.writeTextFile(
    join(ws, "flow.yaml"),
    "name: j\nsteps:\n  - { id: a, shell: 'true' }\n  - { id: b, shell: 'true', needs: [a] }\n",
  );
  const doc = await lilyJson<{ run_id: string }>(["run", "start", "flow.yaml"], ws);
  return { runId: doc.run_id, events: join(ws, ".iris", "runs", doc.run_id, "events.jsonl") };
}

Deno.test("a torn last journal line is ignored by readers and cut off by the next runner", async () => {
  await withTempDir(async (ws) => {
    const { runId, events } = await finishedRun(ws);
    const lines = (await Deno.readTextFile(events)).split("\n").filter(Boolean);
    const cut = lines.slice(0, 5).join("\n") + "\n" + lines[5].slice(0, 17);
    await Deno.writeTextFile(events, cut);
    const shown = await lilyJson<{ run_state: { last_seq: number } }>(["run", "show", runId], ws);
    assertEquals(shown.run_state.last_seq, 5);
    const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    const text = await Deno.readTextFile(events);
    assertEquals(text.endsWith("\n"), true);
    text.split("\n").filter(Boolean).forEach((line, i) =>
      assertEquals(JSON.parse(line).seq, i + 1)
    );
    assertEquals((await lily(["verify"], { workspace: ws })).code, 0);
  });
});

Deno.test("a damaged journal line is reported with file and line, and verify fails", async () => {
  await withTempDir(async (ws) => {
    const { runId, events } = await finishedRun(ws);
    const lines = (await Deno.readTextFile(events)).split("\n");
    for (
      const [bad, why] of [
        ["null", /corrupt at line 3: \(event\)/],
        ["{not json", /corrupt at line 3: not JSON/],
        [
          JSON.stringify({ ...JSON.parse(lines[2]), step: "ghost" }),
          /names step "ghost" at event 3/,
        ],
      ] as const
    ) {
      await Deno.writeTextFile(events, [...lines.slice(0, 2), bad, ...lines.slice(3)].join("\n"));
      const before = await fingerprint(join(ws, ".iris"));
      assertCleanError(await lily(["run", "show", runId], { workspace: ws }), 1, why);
      assertCleanError(await lily(["run", "resume", runId], { workspace: ws }), 1, why);
      const verify = await lily(["verify", "--json"], { workspace: ws });
      assertEquals(verify.code, 1);
      const [finding] = JSON.parse(verify.stdout).findings;
      assertEquals([finding.kind, finding.run_id, finding.path], [
        "invalid_journal",
        runId,
        events,
      ]);
      assertMatch(finding.detail, why);
      assertEquals(await fingerprint(join(ws, ".iris")), before);
    }
  });
});
