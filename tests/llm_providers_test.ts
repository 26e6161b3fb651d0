/**
 * The OpenAI-compatible and Anthropic providers against a real HTTP server
 * on 127.0.0.1: replies, retries on 429 (honouring `Retry-After` as seconds
 * and as a date) and 5xx, the per-request timeout, malformed bodies, a 401,
 * and that the key is in no recorded request, reply or error.
 */

import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import {
  anthropicOk,
  type LlmServer,
  openAiOk,
  type ScriptedResponse,
  startLlmServer,
} from "./_llm_server.ts";
import { AnthropicProvider } from "../src/runtime/executors/llm_anthropic.ts";
import { OpenAiProvider } from "../src/runtime/executors/llm_openai.ts";
import type { HttpLlmProviderOptions } from "../src/runtime/executors/llm_http.ts";
import type { LlmProvider, LlmRequest } from "../src/runtime/executors/llm_provider.ts";
import { type LlmExchange, recordingTranscript } from "../src/runtime/executors/llm_transcript.ts";
import { ManualClock } from "../src/core/manual_clock.ts";

const KEY = "sk-test-4f1c9a7e2b-secret";

interface Flavour {
  readonly name: string;
  readonly path: string;
  readonly make: (options: HttpLlmProviderOptions) => LlmProvider;
  readonly ok: (text: string) => ScriptedResponse;
  readonly error: (status: number, message: string) => Exclude<ScriptedResponse, "hang">;
  readonly keyHeader: (headers: Record<string, string>) => string | undefined;
}

const FLAVOURS: readonly Flavour[] = [
  {
    name: "openai",
    path: "/v1/chat/completions",
    make: (o) => new OpenAiProvider({ ...o, baseUrl: `${o.baseUrl}/v1` }),
    ok: openAiOk,
    error: (status, message) => ({
      status,
      json: { error: { message, type: "invalid_request_error" } },
    }),
    keyHeader: (h) => h.authorization,
  },
  {
    name: "anthropic",
    path: "/v1/messages",
    make: (o) => new AnthropicProvider(o),
    ok: anthropicOk,
    error: (status, message) => ({
      status,
      json: { type: "error", error: { type: "authentication_error", message } },
    }),
    keyHeader: (h) => h["x-api-key"],
  },
];

const CLOCK_START = new Date("2026-03-01T12:00:00Z");

/** Runs one request against a server with `script`; waits are recorded, not waited. */
function ask(
  flavour: Flavour,
  script: readonly ScriptedResponse[],
  options: HttpLlmProviderOptions = {},
  request: Partial<LlmRequest> = {},
): {
  server: LlmServer;
  waits: number[];
  exchanges: () => LlmExchange[];
  result: Promise<{ text: string; usage: unknown }>;
} {
  const server = startLlmServer(script);
  const waits: number[] = [];
  const clock = new ManualClock({ start: CLOCK_START });
  const transcript = recordingTranscript(clock);
  const provider = flavour.make({
    apiKey: KEY,
    baseUrl: server.url,
    clock,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  const result = provider.complete({
    model: "m-1",
    messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
    json: false,
    transcript,
    ...request,
  });
  result.catch(() => {});
  return { server, waits, exchanges: () => transcript.exchanges(), result };
}

function assertNoKey(value: unknown): void {
  assert(!JSON.stringify(value).includes(KEY), `the key leaked into ${JSON.stringify(value)}`);
}

for (const flavour of FLAVOURS) {
  const t = (name: string, fn: () => Promise<void>) =>
    Deno.test({ name: `${flavour.name}: ${name}`, sanitizeResources: true, fn });

  t(
    "a reply gives its text and usage; the request carries the key, the record does not",
    async () => {
      const { server, result, exchanges } = ask(flavour, [flavour.ok("hello there")]);
      try {
        const reply = await result;
        assertEquals(reply, { text: "hello there", usage: { input_tokens: 7, output_tokens: 3 } });
        assertEquals(server.seen.length, 1);
        assertEquals(server.seen[0].path, flavour.path);
        assertMatch(flavour.keyHeader(server.seen[0].headers) ?? "", new RegExp(KEY));
        const [exchange] = exchanges();
        assertEquals(exchange.request.url, `${server.url}${flavour.path}`);
        assertEquals(exchange.request.body, server.seen[0].body);
        assertEquals(exchange.reply?.status, 200);
        assertEquals(exchange.reply?.text, "hello there");
        assertNoKey(exchanges());
      } finally {
        await server.close();
      }
    },
  );

  t("a 429 with Retry-After in seconds is waited exactly, then retried", async () => {
    const { server, result, waits, exchanges } = ask(flavour, [
      { ...flavour.error(429, "slow down"), headers: { "retry-after": "7" } },
      flavour.ok("ok now"),
    ]);
    try {
      assertEquals((await result).text, "ok now");
      assertEquals(waits, [7000]);
      assertEquals(exchanges().map((x) => x.reply?.status), [429, 200]);
      assertMatch(exchanges()[0].reply?.error ?? "", /answered 429 .*slow down/);
    } finally {
      await server.close();
    }
  });

  t("a 429 with Retry-After as an HTTP date waits until then, by the injected clock", async () => {
    const at = new Date(CLOCK_START.getTime() + 5_000).toUTCString();
    const { server, result, waits } = ask(flavour, [
      { ...flavour.error(429, "later"), headers: { "retry-after": at } },
      flavour.ok("ok"),
    ]);
    try {
      assertEquals((await result).text, "ok");
      assertEquals(waits, [5000]);
    } finally {
      await server.close();
    }
  });

  t("a Retry-After past the cap waits the cap", async () => {
    const { server, result, waits } = ask(flavour, [
      { ...flavour.error(429, "much later"), headers: { "retry-after": "3600" } },
      flavour.ok("ok"),
    ], { retry: { maxDelayMs: 2_000 } });
    try {
      await result;
      assertEquals(waits, [2000]);
    } finally {
      await server.close();
    }
  });

  t("a 500 then a 503 back off exponentially, then the reply is used", async () => {
    const { server, result, waits, exchanges } = ask(flavour, [
      { status: 500, text: "boom" },
      { status: 503, text: "" },
      flavour.ok("third time"),
    ]);
    try {
      assertEquals((await result).text, "third time");
      assertEquals(waits, [1000, 2000]);
      assertEquals(server.seen.length, 3);
      assertEquals(exchanges().map((x) => x.reply?.status), [500, 503, 200]);
    } finally {
      await server.close();
    }
  });

  t("5xx on every try gives up after max attempts, naming the last answer", async () => {
    const { server, result, waits } = ask(flavour, [{ status: 502, text: "bad gateway" }], {
      retry: { maxAttempts: 3 },
    });
    try {
      await assertRejects(result, /answered 502 .*bad gateway \(3 tries\)$/);
      assertEquals(server.seen.length, 3);
      assertEquals(waits, [1000, 2000]);
    } finally {
      await server.close();
    }
  });

  t("a request that gets no reply times out per request and is tried again", async () => {
    const { server, result, exchanges } = ask(flavour, ["hang"], {
      timeoutMs: 150,
      retry: { maxAttempts: 2 },
    });
    try {
      await assertRejects(
        result,
        new RegExp(`POST ${server.url}${flavour.path}: no reply within 150 ms .*\\(2 tries\\)`),
      );
      assertEquals(server.seen.length, 2);
      assertEquals(exchanges().map((x) => [x.reply?.status, x.reply?.error]), [
        [null, "no reply within 150 ms (the per-request timeout)"],
        [null, "no reply within 150 ms (the per-request timeout)"],
      ]);
    } finally {
      await server.close();
    }
  });

  t("the attempt's signal stops a request at once, without retrying", async () => {
    const controller = new AbortController();
    const { server, result } = ask(flavour, ["hang"], {}, { signal: controller.signal });
    try {
      while (server.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
      controller.abort(new Error("cancelled by the test"));
      await assertRejects(result, /cancelled by the test/);
      assertEquals(server.seen.length, 1);
    } finally {
      await server.close();
    }
  });

  for (
    const [what, answer, problem] of [
      [
        "a body that is not JSON",
        { text: "<html>oops</html>" },
        /the body is not JSON \(it starts "<html>oops<\/html>"\)/,
      ],
      ["a JSON body of the wrong shape", { json: ["a list"] }, /the reply is malformed: /],
      [
        "a reply without content",
        { json: { id: "x", usage: {} } },
        /the reply is malformed: .*(choices|content)/,
      ],
    ] as const
  ) {
    t(`${what} fails at once, saying what was wrong`, async () => {
      const { server, result, exchanges } = ask(flavour, [answer]);
      try {
        await assertRejects(result, problem);
        assertEquals(server.seen.length, 1, "a malformed reply is not retried");
        assertEquals(exchanges()[0].reply?.text, null);
        assertMatch(exchanges()[0].reply?.error ?? "", problem);
      } finally {
        await server.close();
      }
    });
  }

  t("a 401 fails without retrying, with the provider's message and the key redacted", async () => {
    const { server, result, exchanges, waits } = ask(flavour, [
      flavour.error(401, `Incorrect API key provided: ${KEY}`),
    ]);
    try {
      const err = await result.then(() => undefined, (e: Error) => e);
      assert(err instanceof Error);
      assertMatch(
        err.message,
        /answered 401 Unauthorized: .*Incorrect API key provided: \[redacted\]; not tried again/,
      );
      assert(!err.message.includes(KEY) && !(err.stack ?? "").includes(KEY));
      assertEquals(server.seen.length, 1);
      assertEquals(waits, []);
      assertNoKey(exchanges());
    } finally {
      await server.close();
    }
  });
}

Deno.test("openai: a Retry-After of 1 second is really waited (server timestamps)", async () => {
  const server = startLlmServer([
    { status: 429, json: { error: { message: "rate" } }, headers: { "retry-after": "1" } },
    openAiOk("waited"),
  ]);
  try {
    const provider = new OpenAiProvider({ apiKey: KEY, baseUrl: server.url });
    const reply = await provider.complete({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      json: false,
    });
    assertEquals(reply.text, "waited");
    const gap = server.seen[1].at - server.seen[0].at;
    assert(gap >= 990, `the second request came ${gap} ms after the first; Retry-After asked 1000`);
  } finally {
    await server.close();
  }
});

Deno.test("openai: JSON is asked with response_format; anthropic puts system messages in system", async () => {
  const open = ask(FLAVOURS[0], [openAiOk("{}")], {}, { json: true });
  const anth = ask(FLAVOURS[1], [anthropicOk("{}")], { model: "claude-x" });
  try {
    await open.result;
    await anth.result;
    assertEquals(open.server.seen[0].body, {
      model: "m-1",
      messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
      response_format: { type: "json_object" },
    });
    assertEquals(anth.server.seen[0].body, {
      model: "claude-x",
      max_tokens: 4096,
      system: "be brief",
      messages: [{ role: "user", content: "hi" }],
    });
    assertEquals(anth.server.seen[0].headers["anthropic-version"], "2023-06-01");
  } finally {
    await open.server.close();
    await anth.server.close();
  }
});
