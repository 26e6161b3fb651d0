/**
 * gc keeps what a kept run still names: an artifact of a collected run that
 * another run takes as an input (`@ARTIFACT_ID` in its workflow, a run
 * input, an attempt's input) keeps its payload, so that run can go on (or be
 * resumed, rerun) after a gc.
 */

import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { lily, lilyJson, withTempDir } from "./_helpers.ts";

const PRODUCER = [
  "name: producer",
  "steps:",
  "  - id: make",
  `    shell: printf 'made once' > "$LILY_OUTPUT_DIR/note.txt"`,
  "    outputs:",
  "      note: { type: note.v1, kind: text, path: note.txt }",
  "",
].join("\n");

function consumer(noteId: string): string {
  return [
    "name: consumer",
    "inputs:",
    "  given: { type: note.v1 }",
    "steps:",
    "  - id: wait",
    "    shell: 'true'",
    "  - id: use",
    "    needs: [wait]",
    `    shell: cat "$LILY_INPUT_NOTE" "$LILY_INPUT_GIVEN"`,
    `    inputs: { note: "@${noteId}", given: inputs.given }`,
    "gates:",
    "  - { id: ok, step: wait, human: { prompt: 'Go on?' } }",
    "",
  ].join("\n");
}

interface Started {
  run_id: string;
  status: string;
  run_state: { steps: Record<string, { attempts: { outputs: Record<string, string> }[] }> };
}

interface GcReport {
  runs: string[];
  artifacts: string[];
  referenced_kept: string[];
  payloads: { sha256: string }[];
}

Deno.test("gc keeps an artifact of a collected run that a waiting run names as an input", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "producer.yaml"), PRODUCER);
    const made = await lilyJson<Started>(["run", "start", "producer.yaml"], ws);
    const noteId = made.run_state.steps.make.attempts[0].outputs.note;
    const given = await lilyJson<Started>(["run", "start", "producer.yaml"], ws);
    const givenId = given.run_state.steps.make.attempts[0].outputs.note;
    await Deno.writeTextFile(join(ws, "consumer.yaml"), consumer(noteId));
    const paused = await lily(
      ["run", "start", "consumer.yaml", "--input", `given=@${givenId}`, "--json"],
      { workspace: ws },
    );
    assertEquals(paused.code, 3, paused.stderr);
    const runId = (JSON.parse(paused.stdout) as Started).run_id;

    const dry = await lilyJson<GcReport>(["gc", "--keep-last", "0", "--dry-run"], ws);
    const report = await lilyJson<GcReport>(["gc", "--keep-last", "0"], ws);
    for (const r of [dry, report]) {
      assertEquals(r.runs.sort(), [made.run_id, given.run_id].sort());
      assertEquals(r.artifacts, []);
      assertEquals(r.referenced_kept.sort(), [noteId, givenId].sort());
      assertEquals(r.payloads, []);
    }
    const text = await lily(["artifact", "get", noteId], { workspace: ws });
    assertEquals([text.code, text.stdout], [0, "made once"], text.stderr);

    await lilyJson(["approve", runId, "ok"], ws);
    const resumed = await lily(["run", "resume", runId], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    const verify = await lily(["verify"], { workspace: ws });
    assertEquals(verify.code, 0, verify.stdout + verify.stderr);
  });
});

Deno.test("gc keeps an input of a kept ended run, and collects it once that run is collected", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "producer.yaml"), PRODUCER);
    const made = await lilyJson<Started>(["run", "start", "producer.yaml"], ws);
    const noteId = made.run_state.steps.make.attempts[0].outputs.note;
    await Deno.writeTextFile(
      join(ws, "reader.yaml"),
      [
        "name: reader",
        "steps:",
        "  - id: use",
        `    shell: cat "$LILY_INPUT_NOTE"`,
        `    inputs: { note: "@${noteId}" }`,
        "",
      ].join("\n"),
    );
    const read = await lilyJson<Started>(["run", "start", "reader.yaml"], ws);
    assertEquals(read.status, "succeeded");

    const keepReader = await lilyJson<GcReport>(["gc", "--keep-last", "1"], ws);
    assertEquals(keepReader.runs, [made.run_id]);
    assertEquals(keepReader.referenced_kept, [noteId]);
    assertEquals(keepReader.artifacts, []);
    const rerun = await lily(["run", "rerun", read.run_id, "--from", "use"], { workspace: ws });
    assertEquals(rerun.code, 0, rerun.stderr);

    const all = await lilyJson<GcReport>(["gc", "--keep-last", "0"], ws);
    assert(all.artifacts.includes(noteId), JSON.stringify(all));
    assertEquals(all.referenced_kept, []);
  });
});
