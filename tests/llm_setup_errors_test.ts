/**
 * What a person sees when an `llm` step's provider is set up wrong or fails:
 * a base URL that is not one is refused before a run is created, and a
 * provider's failure is its message, never a stack of Lily's internals.
 */

import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { assertCleanError, fingerprint, lily, withTempDir } from "./_helpers.ts";

const ONE = `name: one
steps:
  - id: ask
    llm:
      model: m
      prompt: hi
      output: answer
    outputs: { answer: { type: answer.v1, path: answer.txt } }
`;

const STACK_LINE = /^\s+at .*(file:|\.ts:\d)/m;

Deno.test("a base URL in the environment that is not an http(s) URL is refused with exit 2, nothing created", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "one.yaml"), ONE);
    const cases: [Record<string, string>, string][] = [
      [{ LILY_LLM: "openai", OPENAI_API_KEY: "k", OPENAI_BASE_URL: "notaurl" }, "OPENAI_BASE_URL"],
      [{ LILY_LLM: "anthropic", ANTHROPIC_BASE_URL: "ftp://example.com" }, "ANTHROPIC_BASE_URL"],
    ];
    for (const [env, name] of cases) {
      for (const command of [["run", "start", "one.yaml"], ["check", "one.yaml"]]) {
        const before = await fingerprint(ws);
        const result = await lily(command, { workspace: ws, env });
        assertCleanError(result, 2, new RegExp(`${name}=".*" is not an http\\(s\\) URL`));
        assertEquals(await fingerprint(ws), before, command.join(" "));
      }
    }
  });
});

Deno.test("a provider's failure is logged as its message, with no stack trace in run show or lily logs", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "one.yaml"), ONE);
    await Deno.writeTextFile(join(ws, "script.json"), '{"ask": []}');
    const env = { LILY_LLM: "fake", LILY_LLM_SCRIPT: "script.json" };
    const ran = await lily(["run", "start", "one.yaml", "--json"], { workspace: ws, env });
    assertEquals(ran.code, 1, ran.stderr);
    assert(!STACK_LINE.test(ran.stderr), ran.stderr);
    const runId = JSON.parse(ran.stdout).run_id;
    const shown = await lily(["run", "show", runId], { workspace: ws });
    assert(/none for its attempt 1/.test(shown.stdout), shown.stdout);
    assert(!STACK_LINE.test(shown.stdout), shown.stdout);
    const logs = await lily(["logs", runId, "--step", "ask"], { workspace: ws });
    assertEquals(logs.code, 0, logs.stderr);
    assert(/none for its attempt 1/.test(logs.stdout), logs.stdout);
    assert(!STACK_LINE.test(logs.stdout), logs.stdout);
  });
});
