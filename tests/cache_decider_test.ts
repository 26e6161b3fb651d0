/**
 * The step cache's rules without a disk: when an attempt looks its key up,
 * what a found entry means, which results enter the cache, what the key
 * covers, and how `cache explain` words each difference and each outcome.
 */

import { assert, assertEquals, assertMatch, assertNotEquals } from "./_assert.ts";
import type { CacheEntry, CacheKeyParts, CacheProbe } from "../store.ts";
import type { StepSpec } from "../workflow.ts";
import type { Confinement } from "../src/policy/policy_model.ts";
import { cacheable, cacheLookup, replayedCause, useCached } from "../src/runtime/cache_decider.ts";
import { cacheKey, keyStep } from "../src/runtime/cache_key.ts";
import { normalizeDefinition } from "../src/graph/workflow_definition.ts";
import {
  explainCache,
  keyPartDifferences,
  nearestEntry,
  sideBySide,
} from "../src/observe/cache_explain.ts";

const RUN = "00000000-0000-4000-8000-000000000001";
const OUT = "00000000-0000-4000-8000-0000000000aa";
const A = "a".repeat(64);
const B = "b".repeat(64);

function workflowSteps(definition: unknown): readonly StepSpec[] {
  const parsed = normalizeDefinition(definition);
  assert(parsed.ok, JSON.stringify(parsed));
  return parsed.value.steps;
}

const [STEP] = workflowSteps({
  name: "w",
  cache: true,
  steps: [{
    id: "build",
    command: ["make"],
    env: { MODE: "release" },
    outputs: { out: { type: "text.v1", path: "out.txt" } },
  }],
});

const CONFINEMENT: Confinement = {
  mode: "none",
  workspace: "/ws",
  read: ["/ws"],
  write: ["/ws"],
  deny: [],
  readOnly: [],
  hidden: ["/ws/.iris"],
  tools: null,
  net: [],
  env: [],
};

const ENV = { deno_version: "2.9.6", deno_lock_sha256: null };

function keyed(step: StepSpec, src: string, environment = ENV) {
  const result = keyStep(step, {
    inputs: { src: { artifact_id: OUT, sha256: src } },
    confinement: CONFINEMENT,
    environment,
  });
  assert(result.kind === "keyed", JSON.stringify(result));
  return result;
}

function entry(parts: CacheKeyParts, extra: Partial<CacheEntry> = {}): CacheEntry {
  return {
    key: cacheKey(parts),
    parts,
    workflow_name: "w",
    step_id: "build",
    executor_kind: "command",
    run_id: RUN,
    attempt: 1,
    outputs: { out: OUT },
    created_at: "2026-01-01T00:00:00.000Z",
    ...extra,
  };
}

Deno.test("cache: true on the workflow turns it on for every step but one saying cache: false", () => {
  const steps = workflowSteps({
    name: "w",
    cache: true,
    steps: [{ id: "a", command: ["true"] }, { id: "b", command: ["true"], cache: false }],
  });
  assertEquals(steps.map((s) => s.cache ?? false), [true, false]);
  const only = workflowSteps({ name: "w", steps: [{ id: "a", command: ["true"], cache: true }] });
  assertEquals(only[0].cache, true);
  assertEquals(
    workflowSteps({ name: "w", steps: [{ id: "a", command: ["true"] }] })[0].cache,
    undefined,
  );
});

Deno.test("lookup: off without cache: true; bypassed under --no-cache and for a retry", () => {
  const base = { enabled: true, noCache: false, attempt: 1, cause: "first" as const };
  assertEquals(cacheLookup({ ...base, enabled: false }), { kind: "off" });
  assertEquals(cacheLookup(base), { kind: "look_up" });
  assertEquals(cacheLookup({ ...base, cause: "resume" }), { kind: "look_up" });
  assertEquals(cacheLookup({ ...base, cause: "route" }), { kind: "look_up" });
  const noCache = cacheLookup({ ...base, noCache: true });
  assert(noCache.kind === "bypass");
  assertMatch(noCache.reason, /--no-cache/);
  const retry = cacheLookup({ ...base, attempt: 2, cause: "retry" });
  assert(retry.kind === "bypass");
  assertEquals(retry.reason, "attempt 2 is a retry: it runs the step again");
});

Deno.test("UseCached: an entry whose outputs are all there is reused; else the step runs, saying why", () => {
  const parts = keyed(STEP, A).parts;
  assertEquals(useCached({ entry: undefined, missing: [] }), {
    kind: "run",
    outcome: "miss",
    reason: "no entry has this key",
  });
  const hit = useCached({ entry: entry(parts), missing: [] });
  assertEquals(hit.kind, "use_cached");
  assert(hit.kind === "use_cached");
  assertEquals(hit.from, { run: RUN, step: "build", attempt: 1 });
  assertEquals(hit.outputs, { out: OUT });
  const gone = useCached({ entry: entry(parts), missing: ["out"] });
  assertEquals(gone.kind, "run");
  assertMatch(gone.reason, new RegExp(`no longer in the store: out \\(${OUT}\\)`));
});

Deno.test("a replay gives back cached where the run reused a result, and only under the same rules", () => {
  const from = { run: RUN, step: "build", attempt: 1 };
  const request = { enabled: true, noCache: false, attempt: 1, cause: "first" as const };
  assertEquals(replayedCause(request, { cached_from: from }), "cached");
  assertEquals(replayedCause(request, {}), "first");
  assertEquals(replayedCause({ ...request, enabled: false }, { cached_from: from }), "first");
  assertEquals(replayedCause({ ...request, noCache: true }, { cached_from: from }), "first");
  assertEquals(replayedCause({ ...request, cause: "retry" }, { cached_from: from }), "retry");
});

Deno.test("only a succeeded, non-cached attempt whose every gate passed or was skipped is cached", () => {
  const pass = { status: "pass" };
  assert(cacheable({ status: "succeeded", cause: "first", gates: { g: pass } }));
  assert(cacheable({ status: "succeeded", cause: null, gates: { g: { status: "skipped" } } }));
  assert(!cacheable({ status: "succeeded", cause: "cached", gates: {} }));
  assert(!cacheable({ status: "failed", cause: "first", gates: {} }));
  assert(!cacheable({ status: "succeeded", cause: "first", gates: { g: { status: "fail" } } }));
});

Deno.test("the key covers executor, env, inputs, outputs, policy and environment; not key order", () => {
  const base = keyed(STEP, A);
  assertEquals(
    keyed({ ...STEP, env: { B: "2", MODE: "release" } }, A).key,
    keyed({ ...STEP, env: { MODE: "release", B: "2" } }, A).key,
  );
  assertNotEquals(keyed(STEP, B).key, base.key);
  assertNotEquals(keyed({ ...STEP, env: { MODE: "debug" } }, A).key, base.key);
  assertNotEquals(keyed({ ...STEP, outputs: {} }, A).key, base.key);
  assertNotEquals(keyed(STEP, A, { ...ENV, deno_version: "2.9.7" }).key, base.key);
  assertEquals(base.key, cacheKey(base.parts));
  const fn = keyStep({ ...STEP, executor: { kind: "fn", name: "f", fn: () => {} } as never }, {
    inputs: {},
    confinement: CONFINEMENT,
    environment: ENV,
  });
  assertEquals(fn.kind, "unkeyable");
  assert(fn.kind === "unkeyable");
  assertMatch(fn.reason, /executor\.spec\.fn/);
});

Deno.test("each differing part is named in words: input hashes, environment fields, executor fields", () => {
  const before = keyed(STEP, A, { deno_version: "2.9.5", deno_lock_sha256: null }).parts;
  const after = keyed({ ...STEP, env: { MODE: "debug" } }, B).parts;
  const texts = keyPartDifferences(before, after).map((d) => d.text);
  assertEquals(texts, [
    "executor env.MODE changed: release → debug",
    `input \`src\` sha256 changed: ${A.slice(0, 12)}… → ${B.slice(0, 12)}…`,
    "environment deno_version 2.9.5 → 2.9.6",
  ]);
  const added = keyPartDifferences({ ...before, inputs: {} }, before).map((d) => d.text);
  assertEquals(added[0], `input \`src\` added: ${A.slice(0, 12)}…`);
  assertEquals(keyPartDifferences(before, before), []);
  const rows = sideBySide(after, before);
  assertEquals(rows.map((r) => [r.part, r.same]), [
    ["executor", false],
    ["inputs", false],
    ["outputs", true],
    ["policy", true],
    ["environment", false],
  ]);
});

Deno.test("the nearest entry: same step before same executor kind; fewest differences, newest first among equals", () => {
  const mine = keyed(STEP, B).parts;
  const far = entry(keyed({ ...STEP, env: {} }, A).parts, {
    created_at: "2026-01-02T00:00:00.000Z",
  });
  const near = entry(keyed(STEP, A).parts);
  const nearest = nearestEntry(mine, { sameStep: [far, near], sameKind: [] });
  assertEquals(nearest?.entry, near);
  assertEquals(nearest?.match, "same step");
  assertEquals(nearestEntry(mine, { sameStep: [], sameKind: [far] })?.match, "same executor kind");
  assertEquals(nearestEntry(mine, { sameStep: [], sameKind: [] }), null);
});

Deno.test("explain: every outcome has a reason a person can read", () => {
  const subject = { runId: RUN, step: "build", nearest: null };
  assertMatch(
    explainCache({ ...subject, probe: undefined, started: true }).reason,
    /not enabled for step build.*cache: true/,
  );
  assertEquals(
    explainCache({ ...subject, probe: undefined, started: false }).outcome,
    "not_started",
  );
  const parts = keyed(STEP, B).parts;
  const probe: CacheProbe = {
    run_id: RUN,
    step_id: "build",
    attempt: 1,
    workflow_name: "w",
    executor_kind: "command",
    key: cacheKey(parts),
    parts,
    outcome: "miss",
    reason: "no entry has this key",
    cached_from: null,
    at: "2026-01-03T00:00:00.000Z",
  };
  assertEquals(
    explainCache({ ...subject, probe, started: true }).reason,
    "no entry has this key; no earlier entry for this step or its executor kind",
  );
  const nearest = nearestEntry(parts, { sameStep: [entry(keyed(STEP, A).parts)], sameKind: [] });
  const miss = explainCache({ ...subject, probe, started: true, nearest });
  assertMatch(
    miss.reason,
    /nearest earlier entry \(same step: run .* attempt 1\) differs in: input `src` sha256 changed/,
  );
  const bypass = explainCache({
    ...subject,
    probe: {
      ...probe,
      outcome: "bypassed",
      reason: "the run was started with --no-cache: no lookup",
    },
    started: true,
  });
  assertEquals(bypass.outcome, "bypassed");
  assertMatch(bypass.reason, /--no-cache/);
});
