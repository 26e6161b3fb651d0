/**
 * Words a person gives Lily are redacted like everything else a run stores:
 * a secret typed into `lily approve --reason`, `lily artifact replace
 * --reason` or `lily pin --reason` (the value of a variable the run's steps
 * pass, or of a kernel variable named like a secret) appears nowhere under
 * `.iris/`, while the rest of the reason stays readable.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { lily, lilyJson, withTempDir } from "./_helpers.ts";

const PASSED = "passed-through-value-7391";
const NAMED = "named-like-a-key-4417";
const ENV = { DEPLOY_CREDENTIAL: PASSED, SERVICE_API_KEY: NAMED };

const FLOW = [
  "name: reasons",
  "steps:",
  "  - id: make",
  `    shell: printf 'draft' > "$LILY_OUTPUT_DIR/note.txt"`,
  "    env_pass: [DEPLOY_CREDENTIAL]",
  "    outputs:",
  "      note: { type: note.v1, kind: text, path: note.txt }",
  "  - id: use",
  `    shell: cat "$LILY_INPUT_NOTE"`,
  "    inputs: { note: steps.make.outputs.note }",
  "gates:",
  "  - { id: review, step: make, human: { prompt: 'Ship it?' } }",
  "",
].join("\n");

/** Every file under `dir` whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const bytes = new TextEncoder().encode(needle);
  const out: string[] = [];
  const walk = async (at: string) => {
    for await (const entry of Deno.readDir(at)) {
      const path = join(at, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && contains(await Deno.readFile(path), bytes)) out.push(path);
    }
  };
  await walk(dir);
  return out;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("a secret in an approve, replace or pin reason is redacted in the store", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    const run = (extra: string[]) => lily(extra, { workspace: ws, env: ENV });
    const paused = await run(["run", "start", "flow.yaml", "--json"]);
    assertEquals(paused.code, 3, paused.stderr);
    const runId = (JSON.parse(paused.stdout) as { run_id: string }).run_id;

    const approved = await run([
      "approve",
      runId,
      "review",
      "--reason",
      `checked with ${PASSED} and ${NAMED}`,
    ]);
    assertEquals(approved.code, 0, approved.stderr);
    const resumed = await run(["run", "resume", runId, "--json"]);
    assertEquals(resumed.code, 0, resumed.stderr);
    const state = JSON.parse(resumed.stdout) as {
      run_state: { steps: Record<string, { attempts: { outputs: Record<string, string> }[] }> };
    };
    const note = state.run_state.steps.make.attempts[0].outputs.note;

    await Deno.writeTextFile(join(ws, "better.txt"), "final");
    const replaced = await run([
      "artifact",
      "replace",
      runId,
      note,
      "--text-file",
      "better.txt",
      "--reason",
      `token ${PASSED} leaked`,
    ]);
    assertEquals(replaced.code, 0, replaced.stderr);
    const pinned = await run(["pin", note, "--reason", `keep: ${NAMED}`, "--json"]);
    assertEquals(pinned.code, 0, pinned.stderr);
    assertMatch(pinned.stdout, /keep: \[REDACTED:SERVICE_API_KEY\]/);

    for (const secret of [PASSED, NAMED]) {
      assertEquals(await filesContaining(join(ws, ".iris"), secret), [], secret);
    }
    const show = await lilyJson<{ human_gates: { reason: string | null }[] }>(
      ["run", "show", runId],
      ws,
    );
    assert(
      show.human_gates.some((g) =>
        g.reason ===
          "checked with [REDACTED:DEPLOY_CREDENTIAL] and [REDACTED:SERVICE_API_KEY]"
      ),
      JSON.stringify(show.human_gates),
    );
  });
});
