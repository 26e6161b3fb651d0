/**
 * The step cache through the CLI, in temp workspaces: a hit runs no process
 * (its step appends to a file outside the store, which stays one line) and
 * reuses the same artifact ids while its gates still run; a miss after an
 * input change and after a Deno-version change, each named by `cache
 * explain`; `--no-cache`; `cache list` and `cache clear`; bad requests.
 */

import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { sha256Hex } from "../src/core/canonical_json.ts";
import { cacheKey } from "../src/runtime/cache_key.ts";
import type { CacheEntry, CacheKeyParts } from "../store.ts";
import { assertCleanError, lily, lilyJson, withTempDir } from "./_helpers.ts";

const FLOW = [
  "name: cached",
  "cache: true",
  "inputs:",
  "  src: { type: text.v1 }",
  "steps:",
  "  - id: build",
  "    inputs: { src: inputs.src }",
  `    shell: 'echo ran >> calls.log; tr a-z A-Z < "$LILY_INPUT_SRC" > "$LILY_OUTPUT_DIR/out.txt"'`,
  "    outputs:",
  "      out: { type: text.v1, path: out.txt, kind: text }",
  "  - id: count",
  "    cache: false",
  "    inputs: { up: steps.build.outputs.out }",
  `    shell: 'echo counted >> counts.log; wc -c < "$LILY_INPUT_UP" > "$LILY_OUTPUT_DIR/n.txt"'`,
  "    outputs:",
  "      n: { type: text.v1, path: n.txt, kind: text }",
  "gates:",
  "  - id: looked",
  "    step: build",
  `    shell: 'echo judged >> gates.log'`,
  '    policy: { write: ["."] }',
  "",
].join("\n");

interface Attempt {
  attempt: number;
  cause: string;
  status: string;
  pid: number | null;
  exit_code: number | null;
  outputs: Record<string, string>;
  gates: Record<string, { status: string }>;
  cached_from?: { run: string; step: string; attempt: number };
}

interface Started {
  run_id: string;
  status: string;
  run_state: { steps: Record<string, { attempts: Attempt[]; outputs: Record<string, string> }> };
}

interface Explanation {
  outcome: string;
  reason: string;
  attempt: number | null;
  key: string | null;
  cached_from: { run: string; step: string; attempt: number } | null;
  parts: CacheKeyParts | null;
  nearest: {
    match: string;
    entry: CacheEntry;
    differences: { part: string; path: string; text: string }[];
  } | null;
  parts_side_by_side: { part: string; same: boolean | null }[];
}

async function start(ws: string, src: string, flags: string[] = []): Promise<Started> {
  await Deno.writeTextFile(join(ws, "src.txt"), src);
  const result = await lily(
    ["run", "start", "flow.yaml", "--input", "src=src.txt", ...flags, "--json"],
    { workspace: ws },
  );
  assertEquals(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Started;
}

async function lines(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
}

async function withFlow(fn: (ws: string) => Promise<void>): Promise<void> {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    await fn(ws);
  });
}

function explain(ws: string, runId: string, step: string): Promise<Explanation> {
  return lilyJson<Explanation>(["cache", "explain", runId, step], ws);
}

Deno.test("a hit runs no process, reuses the same artifact ids, runs the gates, and says where from", async () => {
  await withFlow(async (ws) => {
    const first = await start(ws, "hello\n");
    assertEquals(first.status, "succeeded");
    const second = await start(ws, "hello\n");
    assertEquals(second.status, "succeeded");
    assertEquals(await lines(join(ws, "calls.log")), ["ran"]);
    // The gate judges the reused outputs; the step with cache: false runs each time.
    assertEquals(await lines(join(ws, "gates.log")), ["judged", "judged"]);
    assertEquals(await lines(join(ws, "counts.log")), ["counted", "counted"]);
    const [hit] = second.run_state.steps.build.attempts;
    assertEquals(hit.cause, "cached");
    assertEquals(hit.cached_from, { run: first.run_id, step: "build", attempt: 1 });
    assertEquals([hit.pid, hit.exit_code], [null, null]);
    assertEquals(hit.gates.looked.status, "pass");
    assertEquals(second.run_state.steps.build.outputs, first.run_state.steps.build.outputs);
    assertEquals(second.run_state.steps.count.attempts[0].cause, "first");

    const why = await explain(ws, second.run_id, "build");
    assertEquals(why.outcome, "hit");
    assertEquals(why.cached_from, { run: first.run_id, step: "build", attempt: 1 });
    assertEquals(why.nearest?.match, "same key");
    assert(why.parts_side_by_side.every((p) => p.same === true));
    const text = await lily(["cache", "explain", second.run_id, "build"], { workspace: ws });
    assertEquals(text.code, 0, text.stderr);
    assertMatch(
      text.stdout,
      new RegExp(`attempt 1: hit\\n  why: the key matches the entry of run ${first.run_id}`),
    );
    const off = await explain(ws, second.run_id, "count");
    assertEquals(off.outcome, "not_enabled");
    assertMatch(off.reason, /not enabled for step count/);
    const show = await lily(["run", "show", second.run_id], { workspace: ws });
    assertMatch(show.stdout, /cached/);
    // The attempt's step_run_record.v1 says where its outputs came from; the run's
    // environment snapshot gave the key its environment part.
    const shown = await lilyJson<{
      environment_snapshot: { deno_version: string } | null;
      records: { step_id: string; cause: string; cached_from?: unknown }[];
    }>(["run", "show", second.run_id], ws);
    const record = shown.records.find((r) => r.step_id === "build");
    assertEquals(record?.cause, "cached");
    assertEquals(record?.cached_from, { run: first.run_id, step: "build", attempt: 1 });
    assertEquals(
      why.parts?.environment.deno_version,
      shown.environment_snapshot?.deno_version,
    );
  });
});

Deno.test("a miss after an input change: explain names the input and both hashes", async () => {
  await withFlow(async (ws) => {
    const first = await start(ws, "hello\n");
    const second = await start(ws, "world\n");
    assertEquals(await lines(join(ws, "calls.log")), ["ran", "ran"]);
    assertEquals(second.run_state.steps.build.attempts[0].cause, "first");
    const why = await explain(ws, second.run_id, "build");
    assertEquals(why.outcome, "miss");
    assertEquals(why.nearest?.entry.run_id, first.run_id);
    const [before, after] = [sha256Hex("hello\n"), sha256Hex("world\n")];
    const change = `input \`src\` sha256 changed: ${before.slice(0, 12)}… → ${after.slice(0, 12)}…`;
    assertEquals(why.nearest?.differences.map((d) => d.text), [change]);
    assertMatch(why.reason, /^no entry has this key; the nearest earlier entry \(same step/);
    assert(why.reason.includes(change));
    assertEquals(
      why.parts_side_by_side.filter((p) => !p.same).map((p) => p.part),
      ["inputs"],
    );
    const text = await lily(["cache", "explain", second.run_id, "build"], { workspace: ws });
    assert(text.stdout.includes(`differs: ${change}`), text.stdout);
  });
});

Deno.test("a miss after a Deno-version change: explain names the environment field", async () => {
  await withFlow(async (ws) => {
    await start(ws, "hello\n");
    // Simulate an entry stored under an earlier Deno: rewrite its environment
    // part and re-key it, as that Lily would have keyed it.
    const db = new DatabaseSync(join(ws, ".iris", "index.sqlite"));
    try {
      const row = db.prepare("SELECT key, parts_json FROM step_cache WHERE step_id = 'build'")
        .get() as { key: string; parts_json: string };
      const parts = JSON.parse(row.parts_json) as CacheKeyParts;
      const older = { ...parts, environment: { ...parts.environment, deno_version: "2.0.0" } };
      db.prepare("UPDATE step_cache SET key = ?, parts_json = ? WHERE key = ?")
        .run(cacheKey(older), JSON.stringify(older), row.key);
    } finally {
      db.close();
    }
    const second = await start(ws, "hello\n");
    assertEquals(await lines(join(ws, "calls.log")), ["ran", "ran"]);
    const why = await explain(ws, second.run_id, "build");
    assertEquals(why.outcome, "miss");
    assertEquals(why.nearest?.differences.map((d) => d.text), [
      `environment deno_version 2.0.0 → ${Deno.version.deno}`,
    ]);
  });
});

Deno.test("a miss after deno.lock changed: explain names the lock hash", async () => {
  await withFlow(async (ws) => {
    const lock = join(ws, "deno.lock");
    await Deno.writeTextFile(lock, '{ "version": "5" }\n');
    await start(ws, "hello\n");
    await Deno.writeTextFile(lock, '{ "version": "5", "remote": {} }\n');
    const second = await start(ws, "hello\n");
    assertEquals(await lines(join(ws, "calls.log")), ["ran", "ran"]);
    const [before, after] = [
      sha256Hex('{ "version": "5" }\n'),
      sha256Hex('{ "version": "5", "remote": {} }\n'),
    ];
    const why = await explain(ws, second.run_id, "build");
    assertEquals(why.nearest?.differences.map((d) => d.text), [
      `environment deno_lock_sha256 ${before.slice(0, 12)}… → ${after.slice(0, 12)}…`,
    ]);
  });
});

Deno.test("--no-cache runs every step, says so in explain, and refreshes the entry", async () => {
  await withFlow(async (ws) => {
    await start(ws, "hello\n");
    const bypassed = await start(ws, "hello\n", ["--no-cache"]);
    assertEquals(await lines(join(ws, "calls.log")), ["ran", "ran"]);
    assertEquals(bypassed.run_state.steps.build.attempts[0].cause, "first");
    const why = await explain(ws, bypassed.run_id, "build");
    assertEquals(why.outcome, "bypassed");
    assertMatch(why.reason, /--no-cache/);
    const third = await start(ws, "hello\n");
    assertEquals(await lines(join(ws, "calls.log")), ["ran", "ran"]);
    assertEquals(third.run_state.steps.build.attempts[0].cached_from?.run, bypassed.run_id);
  });
});

for (const point of ["attempt_started", "gates_starting"]) {
  Deno.test(`a cached attempt killed at ${point} resumes from the cache, running no process`, async () => {
    await withFlow(async (ws) => {
      const first = await start(ws, "hello\n");
      await Deno.writeTextFile(join(ws, "src.txt"), "hello\n");
      const killed = await lily(
        ["run", "start", "flow.yaml", "--input", "src=src.txt", "--json"],
        { workspace: ws, env: { LILY_TEST_CRASH_AT: point } },
      );
      assert(killed.code !== 0, "the runner was not killed");
      const runs = await lilyJson<{ run_id: string; created_at: string }[]>(["run", "list"], ws);
      const runId = runs.map((r) => r.run_id).find((id) => id !== first.run_id)!;
      const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
      assertEquals(resumed.code, 0, resumed.stderr);
      const state = (JSON.parse(resumed.stdout) as Started).run_state;
      assertEquals(await lines(join(ws, "calls.log")), ["ran"]);
      const attempts = state.steps.build.attempts;
      assertEquals(attempts.at(-1)?.cached_from?.run, first.run_id);
      assertEquals(attempts.at(-1)?.gates.looked.status, "pass");
      assertEquals(state.steps.build.outputs, first.run_state.steps.build.outputs);
      const expected = point === "attempt_started"
        ? [["cached", "interrupted"], ["cached", "succeeded"]]
        : [["cached", "succeeded"]];
      assertEquals(attempts.map((a) => [a.cause, a.status]), expected);
    });
  });
}

Deno.test("cache list and clear: entries by step; a cleared step misses with no earlier entry", async () => {
  await withFlow(async (ws) => {
    assertEquals(await lilyJson(["cache", "list"], ws), { entries: [] });
    assertEquals(await lilyJson(["cache", "clear"], ws), { removed: 0 });
    await assertRejects(() => Deno.stat(join(ws, ".iris")), Deno.errors.NotFound);
    const first = await start(ws, "hello\n");
    const { entries } = await lilyJson<{ entries: CacheEntry[] }>(["cache", "list"], ws);
    assertEquals(entries.map((e) => [e.step_id, e.run_id, e.attempt]), [[
      "build",
      first.run_id,
      1,
    ]]);
    assertEquals(entries[0].outputs, first.run_state.steps.build.outputs);
    const text = await lily(["cache", "list"], { workspace: ws });
    assertMatch(
      text.stdout,
      new RegExp(`^build  key [0-9a-f]{12}…  run ${first.run_id} attempt 1`),
    );
    assertEquals(await lilyJson(["cache", "clear", "--step", "count"], ws), { removed: 0 });
    assertEquals(await lilyJson(["cache", "clear", "--step", "build"], ws), { removed: 1 });
    assertEquals(await lilyJson(["cache", "list", "--step", "build"], ws), { entries: [] });
    const second = await start(ws, "hello\n");
    assertEquals(await lines(join(ws, "calls.log")), ["ran", "ran"]);
    const why = await explain(ws, second.run_id, "build");
    assertEquals(
      why.reason,
      "no entry has this key; no earlier entry for this step or its executor kind",
    );
  });
});

Deno.test("a step whose required gate fails enters no entry", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: judged",
        "steps:",
        "  - id: make",
        "    cache: true",
        "    command: [sh, -c, 'echo made >> made.log']",
        "gates:",
        "  - id: never",
        "    step: make",
        "    command: ['false']",
        "",
      ].join("\n"),
    );
    for (let i = 0; i < 2; i++) {
      const run = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
      assertEquals(run.code, 1, run.stderr);
    }
    assertEquals(await lines(join(ws, "made.log")), ["made", "made"]);
    assertEquals(await lilyJson(["cache", "list"], ws), { entries: [] });
  });
});

Deno.test("cache explain of an unknown step or run: one line, exit 2 or 1, JSON error", async () => {
  await withFlow(async (ws) => {
    const run = await start(ws, "hello\n");
    assertCleanError(
      await lily(["cache", "explain", run.run_id, "nope"], { workspace: ws }),
      2,
      /has no step "nope"; its steps: build, count/,
    );
    const json = await lily(["cache", "explain", run.run_id, "nope", "--json"], { workspace: ws });
    assertEquals(json.code, 2);
    assert("error" in JSON.parse(json.stdout));
    const missing = await lily(
      ["cache", "explain", "00000000-0000-4000-8000-000000000000", "build"],
      { workspace: ws },
    );
    assertEquals(missing.code, 1, missing.stderr);
    assertEquals(missing.stderr.trim().split("\n").length, 1);
  });
});

Deno.test("gc of the run a cached attempt reused keeps the reused outputs: the later run still reads them", async () => {
  await withFlow(async (ws) => {
    const first = await start(ws, "hello\n");
    const second = await start(ws, "hello\n");
    const out = second.run_state.steps.build.outputs.out;
    assertEquals(out, first.run_state.steps.build.outputs.out);
    const gc = await lilyJson<{ runs: string[]; artifacts: string[]; referenced_kept: string[] }>(
      ["gc", "--keep-last", "1"],
      ws,
    );
    assertEquals(gc.runs, [first.run_id]);
    assert(gc.referenced_kept.includes(out), JSON.stringify(gc));
    assert(!gc.artifacts.includes(out));
    const got = await lily(["artifact", "get", out], { workspace: ws });
    assertEquals(got.code, 0, got.stderr);
    assertEquals(got.stdout, "HELLO\n");
  });
});
