/**
 * The pure retry decisions of the HTTP LLM providers, and the fake's script
 * read by step and attempt.
 */

import { assertEquals, assertRejects } from "./_assert.ts";
import {
  isRetryableStatus,
  retryAfterMs,
  retryDelayMs,
} from "../src/runtime/executors/llm_retry.ts";
import { FakeLlmProvider } from "../src/runtime/executors/llm_provider.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
const POLICY = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 10_000 };

Deno.test("Retry-After is read as seconds or an HTTP date; anything else is ignored", () => {
  assertEquals(retryAfterMs("0", NOW), 0);
  assertEquals(retryAfterMs(" 12 ", NOW), 12_000);
  assertEquals(retryAfterMs("Sun, 01 Mar 2026 12:00:30 GMT", NOW), 30_000);
  assertEquals(retryAfterMs("Sun, 01 Mar 2026 11:00:00 GMT", NOW), 0, "a past date: at once");
  for (const bad of ["-1", "1.5", "tomorrow", "2026-03-01T12:00:30Z", ""]) {
    assertEquals(retryAfterMs(bad, NOW), undefined, bad);
  }
  assertEquals(retryAfterMs(null, NOW), undefined);
});

Deno.test("the retry delay: Retry-After over backoff, both capped; none for 4xx or the last try", () => {
  const delay = (status: number | null, attempt: number, retryAfter: string | null = null) =>
    retryDelayMs({ status, retryAfter, attempt, now: NOW }, POLICY);
  assertEquals([1, 2, 3, 4].map((n) => delay(503, n)), [500, 1000, 2000, 4000]);
  assertEquals(delay(503, 5), null);
  assertEquals(delay(null, 1), 500, "no reply (timeout, network) is retried");
  assertEquals(delay(429, 1, "3"), 3000);
  assertEquals(delay(429, 1, "garbage"), 500);
  assertEquals(delay(429, 1, "99"), 10_000);
  for (const status of [400, 401, 403, 404, 422]) assertEquals(delay(status, 1), null);
  assertEquals([429, 500, 529, 599, 200, 404].map(isRetryableStatus), [
    true,
    true,
    true,
    true,
    false,
    false,
  ]);
});

Deno.test("the fake's script serves attempt N its N-th reply, whatever was asked before, and says when it runs out", async () => {
  const fake = new FakeLlmProvider({
    script: { edit: ["one", { two: 2 }] },
    replies: { m: "by model" },
  });
  const ask = (step: string, attempt: number) =>
    fake.complete({ model: "m", messages: [], json: false, step, attempt });
  assertEquals((await ask("edit", 2)).text, '{"two":2}');
  assertEquals((await ask("edit", 1)).text, "one");
  assertEquals((await ask("edit", 2)).text, '{"two":2}');
  assertEquals((await ask("other", 1)).text, "by model", "a step the script does not list");
  await assertRejects(
    ask("edit", 3),
    /^UsageError: The fake's script has 2 replies for step "edit" and none for its attempt 3; add one per attempt$/,
  );
});
