/**
 * The gc plan without a disk: which runs are selected and what is removed
 * (see `src/kernel/gc_plan.ts` for the collection model).
 */

import { assertEquals } from "./_assert.ts";
import { type GcRun, planGc, selectRuns } from "../src/kernel/gc_plan.ts";
import type { ArtifactRef } from "../store.ts";

const NOW = new Date("2026-06-01T00:00:00.000Z");
const HOUR = 3_600_000;

function run(id: string, hoursAgo: number, status: GcRun["status"] = "succeeded"): GcRun {
  const at = new Date(NOW.getTime() - hoursAgo * HOUR).toISOString();
  return { run_id: id, status, created_at: at, updated_at: at, live: false };
}

function row(runId: string, id: string, sha: string): ArtifactRef {
  return {
    artifact_id: id,
    run_id: runId,
    artifact_type: "t.v1",
    storage_kind: "text",
    artifact_name: null,
    rel_path: `artifacts/${id}/payload.txt`,
    sha256: sha,
    created_at: NOW.toISOString(),
    producer_id: "p",
    producer_kind: "tool",
    input_artifact_refs: [],
    size_bytes: 1,
  };
}

Deno.test("selection: --keep-last counts ended runs only, --older-than their last update, both must hold", () => {
  const runs = [
    run("a", 50),
    run("b", 30, "failed"),
    run("c", 20, "cancelled"),
    run("d", 10),
    run("e", 60, "created"),
    run("f", 70, "running"),
    run("g", 80, "waiting"),
    { ...run("h", 90), live: true },
  ];
  const select = (older_than_ms: number | null, keep_last: number | null) =>
    selectRuns(runs, { older_than_ms, keep_last }, NOW);
  assertEquals(select(null, null), []);
  assertEquals(select(null, 2), ["a", "b"]);
  assertEquals(select(null, 0), ["a", "b", "c", "d"]);
  assertEquals(select(25 * HOUR, null), ["a", "b"]);
  assertEquals(select(25 * HOUR, 3), ["a"]);
});

Deno.test("plan: a payload shared with a kept run stays, pinned artifacts and run records stay, garbage goes", () => {
  const rows = [
    row("old", "o1", "shared"),
    row("old", "o2", "unique"),
    row("old", "o3", "pinned"),
    row("new", "n1", "shared"),
    row("older", "x1", "gone"),
    { ...row("old", "o4", "record"), artifact_type: "gate_result.v1" },
    row("old", "o5", "named"),
  ];
  const plan = planGc({
    now: NOW,
    selection: { older_than_ms: null, keep_last: 1 },
    runs: [run("old", 5), run("new", 1), run("older", 9)],
    rows,
    collected: new Set(["x1"]),
    pinned: new Set(["o3"]),
    contents: ["gone", "named", "pinned", "shared", "stray", "unique"].map((sha256) => ({
      sha256,
      size: 2,
    })),
    keys: [
      "old/artifacts/o1/payload.txt",
      "old/artifacts/o2/payload.txt",
      "old/artifacts/o3/payload.txt",
      "new/artifacts/n1/payload.txt",
      "new/artifacts/crashed/",
    ],
    leftovers: ["/cas/tmp/1.tmp"],
    references: [{ run_id: "new", artifact_id: "o5" }, { run_id: "old", artifact_id: "o2" }],
  });
  assertEquals(plan.runs, ["older", "old"]);
  assertEquals(plan.artifacts, ["o1", "o2"]);
  assertEquals(plan.pinned_kept, ["o3"]);
  assertEquals(plan.referenced_kept, ["o5"]);
  assertEquals(plan.keys, [
    "old/artifacts/o1/payload.txt",
    "old/artifacts/o2/payload.txt",
    "new/artifacts/crashed/",
  ]);
  assertEquals(plan.payloads.map((p) => p.sha256), ["gone", "stray", "unique"]);
  assertEquals(plan.shared_kept, 1);
  assertEquals(plan.leftovers, ["/cas/tmp/1.tmp"]);
});

Deno.test("plan: an artifact of a selected run that a kept run reads (an @ID input, a cached attempt's record) is kept", () => {
  const rows = [
    row("old", "o1", "read"),
    row("old", "o2", "cached"),
    row("old", "o3", "alone"),
    { ...row("new", "n1", "made"), input_artifact_refs: ["o1"] },
    {
      ...row("new", "n2", "record"),
      artifact_type: "step_run_record.v1",
      input_artifact_refs: ["o2"],
    },
    // A selected run's own record names its outputs: that keeps nothing.
    {
      ...row("old", "o4", "own"),
      artifact_type: "step_run_record.v1",
      input_artifact_refs: ["o3"],
    },
  ];
  const plan = planGc({
    now: NOW,
    selection: { older_than_ms: null, keep_last: 1 },
    runs: [run("old", 5), run("new", 1)],
    rows,
    collected: new Set(),
    pinned: new Set(),
    contents: ["read", "cached", "alone", "made", "record", "own"].map((sha256) => ({
      sha256,
      size: 2,
    })),
    keys: [],
    leftovers: [],
    references: [],
  });
  assertEquals(plan.artifacts, ["o3"]);
  assertEquals(plan.referenced_kept, ["o1", "o2"]);
  assertEquals(plan.payloads.map((p) => p.sha256), ["alone"]);
});
