/**
 * `llm` steps through the CLI: against an OpenAI-compatible and an
 * Anthropic server on 127.0.0.1 (each request and reply stored as
 * `llm_request.v1` / `llm_reply.v1` artifacts, the key nowhere under
 * `.iris/`), and with the fake scripted by step and attempt.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { openAiOk, startLlmServer } from "./_llm_server.ts";
import { kernelRegistry } from "../src/contracts/kernel_schemas.ts";
import { assertCleanError, lily, lilyJson, withTempDir } from "./_helpers.ts";

const KEY = "sk-cli-9d2e4b7c1a-do-not-store";

const ASK = `name: ask
inputs:
  topic: { type: topic.v1 }
steps:
  - id: ask
    inputs: { topic: inputs.topic }
    llm:
      model: planner
      system: Answer in one word.
      prompt: "Name a colour for {{inputs.topic}}"
      output: answer
    outputs: { answer: { type: answer.v1, path: answer.txt } }
`;

interface Ref {
  artifact_id: string;
  artifact_type: string;
  artifact_name?: string;
}

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const bytes = new TextEncoder().encode(needle);
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for await (const entry of Deno.readDir(d)) {
      const path = join(d, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) {
        const data = await Deno.readFile(path);
        const text = new TextDecoder("latin1").decode(data);
        if (text.includes(new TextDecoder("latin1").decode(bytes))) found.push(path);
      }
    }
  };
  await walk(dir);
  return found;
}

interface Attempt {
  status: string;
  message: string | null;
  exchanges?: { request: string; reply: string | null }[];
}

async function runState(ws: string): Promise<{ steps: Record<string, { attempts: Attempt[] }> }> {
  const [run] = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
  const shown = await lilyJson<{ run_state: { steps: Record<string, { attempts: Attempt[] }> } }>(
    ["run", "show", run.run_id],
    ws,
  );
  return shown.run_state;
}

async function artifactJson<T>(ws: string, id: string): Promise<T> {
  const got = await lily(["artifact", "get", id], { workspace: ws });
  assertEquals(got.code, 0, got.stderr);
  return JSON.parse(got.stdout) as T;
}

Deno.test("an llm step against a local OpenAI-compatible server: a 500 is retried, both exchanges are stored, the key is nowhere under .iris", async () => {
  const server = startLlmServer([
    { status: 500, json: { error: { message: "try later" } } },
    openAiOk("teal"),
  ]);
  try {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(join(ws, "ask.yaml"), ASK);
      await Deno.writeTextFile(join(ws, "topic.txt"), "the sea");
      const env = { LILY_LLM: "openai", OPENAI_BASE_URL: `${server.url}/v1`, OPENAI_API_KEY: KEY };
      const ran = await lily(["run", "start", "ask.yaml", "--input", "topic=topic.txt"], {
        workspace: ws,
        env: { ...env, LILY_LLM_MODEL: "gpt-test" },
      });
      assertEquals(ran.code, 0, ran.stderr);
      assertEquals(server.seen.length, 2);
      assertEquals(server.seen[1].headers.authorization, `Bearer ${KEY}`);
      assertEquals(server.seen[1].body, {
        model: "gpt-test",
        messages: [
          { role: "system", content: "Answer in one word." },
          { role: "user", content: "Name a colour for the sea" },
        ],
      });
      const refs = await lilyJson<Ref[]>(["artifact", "list"], ws);
      const answer = refs.find((r) => r.artifact_type === "answer.v1")!;
      assertEquals(
        (await lily(["artifact", "get", answer.artifact_id], { workspace: ws })).stdout,
        "teal",
      );
      const requests = refs.filter((r) => r.artifact_type === "llm_request.v1");
      const replies = refs.filter((r) => r.artifact_type === "llm_reply.v1");
      assertEquals(requests.map((r) => r.artifact_name).sort(), [
        "llm.ask.1.1.request",
        "llm.ask.1.2.request",
      ]);
      assertEquals(replies.map((r) => r.artifact_name).sort(), [
        "llm.ask.1.1.reply",
        "llm.ask.1.2.reply",
      ]);
      const first = await artifactJson<Record<string, unknown>>(
        ws,
        replies.find((r) => r.artifact_name === "llm.ask.1.1.reply")!.artifact_id,
      );
      assertEquals([first.status, first.text, first.provider], [500, null, "openai"]);
      assertMatch(String(first.error), /answered 500 .*try later/);
      const second = await artifactJson<Record<string, unknown>>(
        ws,
        replies.find((r) => r.artifact_name === "llm.ask.1.2.reply")!.artifact_id,
      );
      assertEquals([second.status, second.text], [200, "teal"]);
      const request = await artifactJson<Record<string, unknown>>(
        ws,
        requests.find((r) => r.artifact_name === "llm.ask.1.2.request")!.artifact_id,
      );
      assertEquals(request.url, `${server.url}/v1/chat/completions`);
      assertEquals(request.body, server.seen[1].body);
      const [attempt] = (await runState(ws)).steps.ask.attempts;
      assertEquals(attempt.exchanges, [
        {
          request: requests.find((r) => r.artifact_name === "llm.ask.1.1.request")!.artifact_id,
          reply: replies.find((r) => r.artifact_name === "llm.ask.1.1.reply")!.artifact_id,
        },
        {
          request: requests.find((r) => r.artifact_name === "llm.ask.1.2.request")!.artifact_id,
          reply: replies.find((r) => r.artifact_name === "llm.ask.1.2.reply")!.artifact_id,
        },
      ]);
      assertEquals(second.request_id, attempt.exchanges?.[1].request);
      const registry = await kernelRegistry();
      for (const ref of [...requests, ...replies]) {
        const checked = registry.validate(
          ref.artifact_type,
          await artifactJson(ws, ref.artifact_id),
        );
        assert(checked.ok, JSON.stringify(checked));
      }
      assert((await filesContaining(join(ws, ".iris"), "a colour for the sea")).length > 0);
      assertEquals(await filesContaining(join(ws, ".iris"), KEY), []);
    });
  } finally {
    await server.close();
  }
});

Deno.test("the step's timeout still ends an llm attempt whose request hangs; the request is stored, with no reply", async () => {
  const server = startLlmServer(["hang"]);
  try {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(
        join(ws, "ask.yaml"),
        ASK.replace("    llm:\n", "    timeout: 300ms\n    llm:\n"),
      );
      await Deno.writeTextFile(join(ws, "topic.txt"), "rain");
      const ran = await lily(["run", "start", "ask.yaml", "--input", "topic=topic.txt"], {
        workspace: ws,
        env: { LILY_LLM: "openai", OPENAI_BASE_URL: server.url, OPENAI_API_KEY: KEY },
      });
      assertEquals(ran.code, 1, ran.stderr);
      const [attempt] = (await runState(ws)).steps.ask.attempts;
      assertEquals([attempt.status, attempt.message], ["timeout", "Timed out after 300 ms"]);
      assertEquals(attempt.exchanges?.length, 1);
      assertEquals(attempt.exchanges?.[0].reply, null);
      const request = await artifactJson<{ url: string }>(ws, attempt.exchanges![0].request);
      assertEquals(request.url, `${server.url}/chat/completions`);
    });
  } finally {
    await server.close();
  }
});

Deno.test("an llm step against a local Anthropic server that answers 401 fails at once with its message; the key is nowhere under .iris", async () => {
  const server = startLlmServer([{
    status: 401,
    json: {
      type: "error",
      error: { type: "authentication_error", message: `invalid x-api-key ${KEY}` },
    },
  }]);
  try {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(join(ws, "ask.yaml"), ASK);
      await Deno.writeTextFile(join(ws, "topic.txt"), "the sky");
      const ran = await lily(["run", "start", "ask.yaml", "--input", "topic=topic.txt"], {
        workspace: ws,
        env: { LILY_LLM: "anthropic", ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: KEY },
      });
      assertEquals(ran.code, 1, ran.stderr);
      assert(!ran.stdout.includes(KEY) && !ran.stderr.includes(KEY));
      assertEquals(server.seen.length, 1);
      assertEquals(server.seen[0].headers["x-api-key"], KEY);
      const [attempt] = (await runState(ws)).steps.ask.attempts;
      assertEquals(attempt.status, "failed");
      assertMatch(
        attempt.message ?? "",
        /^Provider "anthropic" failed: POST http:\/\/127\.0\.0\.1:\d+\/v1\/messages: answered 401 Unauthorized: authentication_error: invalid x-api-key \[redacted\]; not tried again/,
      );
      const reply = await artifactJson<Record<string, unknown>>(ws, attempt.exchanges![0].reply!);
      assertEquals(reply.status, 401);
      assertEquals(await filesContaining(join(ws, ".iris"), KEY), []);
    });
  } finally {
    await server.close();
  }
});

Deno.test("the scripted fake answers attempt N of a step with its N-th reply (JSON values as JSON text)", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "judge.yaml"),
      `name: judge
steps:
  - id: judge
    retry: { max_attempts: 2, backoff: 10ms }
    llm: { model: m, prompt: "Is it done?", output: verdict, json: true }
    outputs: { verdict: { type: verdict.v1, path: verdict.json } }
  - id: note
    llm: { model: m, prompt: "Say something", output: text }
    outputs: { text: { type: note.v1, path: note.txt } }
`,
    );
    await Deno.writeTextFile(
      join(ws, "script.json"),
      JSON.stringify({ judge: ["not json at all", { done: true }] }),
    );
    const ran = await lily(["run", "start", "judge.yaml"], {
      workspace: ws,
      env: { LILY_LLM: "fake", LILY_LLM_SCRIPT: "script.json" },
    });
    assertEquals(ran.code, 0, ran.stderr);
    const state = await runState(ws);
    const [first, second] = state.steps.judge.attempts;
    assertEquals(first.status, "failed");
    assertMatch(first.message ?? "", /is not valid JSON/);
    assertEquals(second.status, "succeeded");
    const replies = await Promise.all(
      [first, second].map((a) =>
        artifactJson<{ text: string; provider: string }>(ws, a.exchanges![0].reply!)
      ),
    );
    assertEquals(replies.map((r) => [r.provider, r.text]), [
      ["fake", "not json at all"],
      ["fake", '{"done":true}'],
    ]);
    const refs = await lilyJson<Ref[]>(["artifact", "list", "--type", "verdict.v1"], ws);
    assertEquals(await artifactJson(ws, refs[0].artifact_id), { done: true });
    const note =
      (await artifactJson<{ text: string }>(ws, state.steps.note.attempts[0].exchanges![0].reply!))
        .text;
    assertMatch(
      note,
      /^fake reply [0-9a-f]{12}$/,
      "a step the script does not list gets the default reply",
    );
  });
});

Deno.test("a bad LLM configuration is one line naming what is wrong, before anything is stored", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "ask.yaml"), ASK);
    await Deno.writeTextFile(join(ws, "topic.txt"), "x");
    await Deno.writeTextFile(join(ws, "bad.json"), JSON.stringify({ judge: "not a list" }));
    await Deno.writeTextFile(join(ws, "broken.json"), "{");
    const cases: [Record<string, string>, RegExp][] = [
      [
        { LILY_LLM: "openai" },
        /^lily: LLM provider openai needs an API key in OPENAI_API_KEY; set it/,
      ],
      [
        { LILY_LLM: "anthropic" },
        /^lily: LLM provider anthropic needs an API key in ANTHROPIC_API_KEY/,
      ],
      [
        { LILY_LLM: "fake", LILY_LLM_SCRIPT: "missing.json" },
        /^lily: Cannot read the fake LLM script .*missing\.json/,
      ],
      [
        { LILY_LLM: "fake", LILY_LLM_SCRIPT: "broken.json" },
        /^lily: The fake LLM script .*broken\.json is not JSON/,
      ],
      [
        { LILY_LLM: "fake", LILY_LLM_SCRIPT: "bad.json" },
        /^lily: The fake LLM script .*bad\.json is not an object of step ids to lists of replies at judge: /,
      ],
      [
        { LILY_LLM: "openai", OPENAI_API_KEY: KEY, LILY_LLM_TIMEOUT_MS: "soon" },
        /^lily: LILY_LLM_TIMEOUT_MS="soon" is not a positive whole number/,
      ],
    ];
    for (const [env, pattern] of cases) {
      const ran = await lily(["run", "start", "ask.yaml", "--input", "topic=topic.txt"], {
        workspace: ws,
        env,
      });
      assertCleanError(ran, 2, pattern);
    }
    assertEquals(await exists(join(ws, ".iris")), false);
  });
});

Deno.test("the scripted fake is keyed by attempt, not by calls: after a crash, the resumed attempt 2 gets the second reply", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "one.yaml"),
      "name: one\nsteps:\n  - id: say\n    llm: { model: m, prompt: hi, output: o }\n" +
        "    outputs: { o: { type: o.v1, path: o.txt } }\n",
    );
    await Deno.writeTextFile(join(ws, "script.json"), JSON.stringify({ say: ["first", "second"] }));
    const env = { LILY_LLM: "fake", LILY_LLM_SCRIPT: join(ws, "script.json") };
    const killed = await lily(["run", "start", "one.yaml"], {
      workspace: ws,
      env: { ...env, LILY_TEST_CRASH_AT: "attempt_started" },
    });
    assertEquals(killed.code, 137, killed.stderr);
    const runId = /Started run ([0-9a-f-]{36})/.exec(killed.stderr)![1];
    const resumed = await lily(["run", "resume", runId], { workspace: ws, env });
    assertEquals(resumed.code, 0, resumed.stderr);
    const attempts = (await runState(ws)).steps.say.attempts;
    assertEquals(attempts.map((a) => a.status), ["interrupted", "succeeded"]);
    const [ref] = await lilyJson<Ref[]>(["artifact", "list", "--type", "o.v1"], ws);
    assertEquals(
      (await lily(["artifact", "get", ref.artifact_id], { workspace: ws })).stdout,
      "second",
    );
  });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
