import { assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { lilyJson, runEvents, withTempDir } from "./_helpers.ts";

const FLOW = [
  "name: inputs",
  "steps:",
  "  - id: make",
  '    shell: printf hello > "$LILY_OUTPUT_DIR/note.txt"',
  "    outputs:",
  "      note: { type: note.v1, kind: text, path: note.txt }",
  "  - id: use",
  '    shell: cat "$LILY_INPUT_NOTE"',
  "    inputs: { note: steps.make.outputs.note }",
  "gates:",
  '  - { id: seen, step: use, shell: test -n "$LILY_INPUT_NOTE" || true }',
  '  - { id: checked, step: make, shell: test -s "$LILY_INPUT_NOTE" }',
  "",
].join("\n");

Deno.test("attempt_started records each input's artifact id and sha256; gate_finished the gate's", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const run = await lilyJson<{ run_id: string; status: string }>(
      ["run", "start", "flow.yaml"],
      ws,
    );
    assertEquals(run.status, "succeeded");
    const events = await runEvents(ws, run.run_id);
    const note = events.find((e) => e.type === "attempt_finished" && e.step === "make")!
      .outputs as Record<string, string>;
    const ref = await lilyJson<{ sha256: string }>(["artifact", "show", note.note], ws);
    const expected = { note: { artifact_id: note.note, sha256: ref.sha256 } };

    const started = Object.fromEntries(
      events.filter((e) => e.type === "attempt_started").map((e) => [e.step, e.inputs]),
    );
    assertEquals(started, { make: {}, use: expected });

    const gates = Object.fromEntries(
      events.filter((e) => e.type === "gate_finished").map((e) => [
        (e.gate as { gate_id: string }).gate_id,
        e.inputs,
      ]),
    );
    // A gate's inputs are, by default, its step's outputs.
    assertEquals(gates, { checked: expected, seen: {} });
  });
});
