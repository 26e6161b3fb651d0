/**
 * `lily run replay --simulate` through the CLI, as a user runs it: a run of
 * a gate loop simulated under its own workflow (exit 0), under an edited
 * route bound and an edited gate (exit 1, the first divergence named by
 * step, event and recorded vs simulated), writing nothing anywhere under
 * `.iris/` outside the run's `tmp/` (every file's bytes, the index
 * included, hashed before and after), and bad input.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { assertCleanError, lily, lilyJson, withTempDir } from "./_helpers.ts";

/** edit records its attempt; the gate passes from attempt `passAt` on, routing back under `max`. */
function gateLoop(max: number, passAt: number, gateShell?: string): string {
  return `name: loop
steps:
  - id: edit
    shell: echo "$LILY_ATTEMPT" > "$LILY_OUTPUT_DIR/n.txt"
    outputs: { n: { type: count.v1, path: n.txt } }
  - id: publish
    shell: cat "$LILY_INPUT_N" > "$LILY_OUTPUT_DIR/p.txt"
    inputs: { n: steps.edit.outputs.n }
    outputs: { p: { type: count.v1, path: p.txt } }
gates:
  - id: tests
    step: edit
    shell: '${gateShell ?? `[ "$(cat "$LILY_INPUT_N")" -ge ${passAt} ]`}'
    on_fail: { goto: edit, max: ${max} }
`;
}

interface Divergence {
  seq: number;
  kind: string;
  step: string | null;
  attempt: number | null;
  recorded: string;
  simulated: string;
}
interface Report {
  run_id: string;
  differs: boolean;
  decisions: number;
  served: { attempts: number; gates: number };
  divergences: Divergence[];
  first_divergence: Divergence | null;
  end: { recorded: string | null; simulated: string | null };
  workflow: { source: string; same_as_recorded: boolean };
  error?: { code: string; exit_code: number };
}

/** Every file under `.iris/` (bytes hashed, index and journals included) but the run's `tmp/`. */
async function irisHash(ws: string, runId: string): Promise<Record<string, string>> {
  const root = join(ws, ".iris");
  const skip = join(root, "runs", runId, "tmp");
  const out: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const full = join(dir, entry.name);
      if (full === skip) continue;
      const info = await Deno.lstat(full);
      if (info.isDirectory) {
        out[relative(root, full)] = "dir";
        await walk(full);
      } else if (info.isSymlink) out[relative(root, full)] = `-> ${await Deno.readLink(full)}`;
      else {
        const hash = createHash("sha256").update(await Deno.readFile(full)).digest("hex");
        out[relative(root, full)] = `${hash} ${info.mode}`;
      }
    }
  }
  await walk(root);
  return out;
}

/** Starts the loop (the gate fails twice, passes on edit's third attempt) and returns the run. */
async function recordedLoop(ws: string): Promise<string> {
  await Deno.writeTextFile(join(ws, "flow.yaml"), gateLoop(3, 3));
  const ran = await lily(["run", "start", "flow.yaml"], { workspace: ws });
  assertEquals(ran.code, 0, ran.stderr);
  const runs = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
  return runs[0]!.run_id;
}

async function simulate(ws: string, runId: string, workflow?: string) {
  const args = [
    "run",
    "replay",
    runId,
    "--simulate",
    ...(workflow ? ["--workflow", workflow] : []),
  ];
  const before = await irisHash(ws, runId);
  const json = await lily([...args, "--json"], { workspace: ws });
  const human = await lily(args, { workspace: ws });
  assertEquals(await irisHash(ws, runId), before, "simulate wrote under .iris/");
  return { json, human, report: JSON.parse(json.stdout) as Report };
}

Deno.test("simulate of an unchanged workflow: no decision differs, exit 0, nothing written", async () => {
  await withTempDir(async (ws) => {
    const runId = await recordedLoop(ws);
    const { json, human, report } = await simulate(ws, runId);
    assertEquals(json.code, 0, json.stderr);
    assertEquals(report.differs, false);
    assertEquals(report.divergences, []);
    assertEquals(report.served, { attempts: 4, llm_replies: 0, gates: 3 });
    assertEquals(report.end, { recorded: "succeeded", simulated: "succeeded" });
    assertEquals(report.workflow.source, "recorded");
    assertEquals(human.code, 0);
    assertMatch(human.stdout, /No decision differs; the run ends succeeded/);
    assertMatch(human.stdout, /no process ran/);
    // The same file given with --workflow is the recorded workflow again.
    const again = await simulate(ws, runId, join(ws, "flow.yaml"));
    assertEquals(again.json.code, 0, again.json.stderr);
    assertEquals(again.report.workflow.same_as_recorded, true);
  });
});

Deno.test("simulate with a lower route bound: exit 1, the second route named as the first divergence", async () => {
  await withTempDir(async (ws) => {
    const runId = await recordedLoop(ws);
    await Deno.writeTextFile(join(ws, "tight.yaml"), gateLoop(1, 3));
    const { json, human, report } = await simulate(ws, runId, "tight.yaml");
    assertEquals(json.code, 1);
    assertEquals(report.error?.code, "diverged");
    const first = report.first_divergence!;
    assertEquals([first.kind, first.step, first.attempt], ["route", "edit", 2]);
    assertMatch(first.recorded, /take route gates\.tests\.on_fail → edit \(2 of max 3/);
    assertMatch(first.simulated, /reached its bound: max 1 \(taken 1 time\)/);
    assertEquals(report.end, { recorded: "succeeded", simulated: "failed" });
    // The event index is the journal's: the route_taken event of the record.
    const journal = (await Deno.readTextFile(join(ws, ".iris", "runs", runId, "events.jsonl")))
      .trim().split("\n").map((l) => JSON.parse(l));
    const routes = journal.filter((e) => e.type === "route_taken");
    assertEquals(first.seq, routes[1].seq);
    assertEquals(human.code, 1);
    assertMatch(
      human.stdout,
      new RegExp(`first: event ${first.seq} \\[route\\] edit#2: recorded: take route`),
    );
    assertEquals(human.stderr, "");
  });
});

Deno.test("simulate with a changed gate: exit 1, the gate cannot be simulated and says so", async () => {
  await withTempDir(async (ws) => {
    const runId = await recordedLoop(ws);
    await Deno.writeTextFile(join(ws, "gate.yaml"), gateLoop(3, 3, "deno test"));
    const { json, report } = await simulate(ws, runId, "gate.yaml");
    assertEquals(json.code, 1);
    const first = report.first_divergence!;
    assertEquals(first.kind, "unsimulable");
    assertEquals(first.step, "edit");
    assertEquals(first.attempt, 1);
    assertEquals(first.recorded, "gate tests of edit#1: fail");
    assertEquals(first.simulated, "cannot be simulated: gate tests changed (runner)");
    assertEquals(report.end.simulated, null);
    assertEquals(report.divergences.length, 3);
  });
});

Deno.test("simulate: bad input is refused on one line and writes nothing", async () => {
  await withTempDir(async (ws) => {
    const runId = await recordedLoop(ws);
    const before = await irisHash(ws, runId);
    assertCleanError(
      await lily(["run", "replay", runId], { workspace: ws }),
      2,
      /Expected exactly one of --simulate or --reapply/,
    );
    assertCleanError(
      await lily(["run", "replay", runId, "--simulate", "--reapply"], { workspace: ws }),
      2,
      /Expected exactly one of --simulate or --reapply/,
    );
    assertCleanError(
      await lily(["run", "replay", runId, "--simulate", "--workflow", "nope.yaml"], {
        workspace: ws,
      }),
      1,
      /nope\.yaml/,
    );
    assertCleanError(
      await lily(["run", "replay", runId, "--reapply", "--workflow", "flow.yaml"], {
        workspace: ws,
      }),
      2,
      /--workflow goes with --simulate only/,
    );
    const missing = await lily(
      ["run", "replay", "00000000-0000-4000-8000-000000000000", "--simulate", "--json"],
      { workspace: ws },
    );
    assertEquals(missing.code, 1);
    assert(JSON.parse(missing.stdout).error.code === "not_found", missing.stdout);
    assertEquals(await irisHash(ws, runId), before);
  });
});

Deno.test("simulate with a changed output type: the recorded JSON is re-validated in-process", async () => {
  await withTempDir(async (ws) => {
    const flow = (type: string) =>
      `name: typed
steps:
  - id: plan
    shell: >-
      echo '{"goal": 42}' > "$LILY_OUTPUT_DIR/plan.json"
    outputs: { plan: { type: ${type}, path: plan.json } }
    retry: { max_attempts: 2, backoff: 1s }
`;
    await Deno.writeTextFile(join(ws, "flow.yaml"), flow("plan.v1"));
    assertEquals((await lily(["run", "start", "flow.yaml"], { workspace: ws })).code, 0);
    const [run] = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
    const runId = run!.run_id;
    // Another type the recorded output still matches (no schema registered): nothing differs.
    await Deno.writeTextFile(join(ws, "other.yaml"), flow("other.v1"));
    const same = await simulate(ws, runId, "other.yaml");
    assertEquals(same.json.code, 0, same.json.stdout);
    // work_order.v1 wants a string goal: the attempt would fail at commit, then retry.
    await Deno.writeTextFile(join(ws, "strict.yaml"), flow("work_order.v1"));
    const { json, report } = await simulate(ws, runId, "strict.yaml");
    assertEquals(json.code, 1);
    const first = report.first_divergence!;
    assertEquals([first.kind, first.step, first.attempt], ["outcome", "plan", 1]);
    assertEquals(first.recorded, "attempt plan#1 succeeds");
    assertMatch(
      first.simulated,
      /^attempt plan#1 fails: output plan does not match schema work_order\.v1: \$\.goal: .*; then retry plan \(attempt 2\) after 1000 ms$/,
    );
  });
});

Deno.test("simulate serves a cache hit, and names a hit the workflow no longer allows", async () => {
  await withTempDir(async (ws) => {
    const flow = (cache: boolean) =>
      `name: cached
steps:
  - id: make
    shell: echo made > "$LILY_OUTPUT_DIR/m.txt"
    outputs: { m: { type: note.v1, path: m.txt } }${cache ? "\n    cache: true" : ""}
`;
    await Deno.writeTextFile(join(ws, "flow.yaml"), flow(true));
    for (let i = 0; i < 2; i++) {
      assertEquals((await lily(["run", "start", "flow.yaml"], { workspace: ws })).code, 0);
    }
    const runs = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
    const second = runs[1]!.run_id;
    const journal = await Deno.readTextFile(join(ws, ".iris", "runs", second, "events.jsonl"));
    assertMatch(journal, /"cause":"cached"/);
    const same = await simulate(ws, second);
    assertEquals(same.json.code, 0, same.json.stdout);
    await Deno.writeTextFile(join(ws, "nocache.yaml"), flow(false));
    const { json, report } = await simulate(ws, second, "nocache.yaml");
    assertEquals(json.code, 1);
    assertEquals(report.first_divergence?.kind, "start");
    assertEquals(report.first_divergence?.recorded, "start make attempt 1 (cached)");
    assertEquals(
      report.first_divergence?.simulated,
      "start make attempt 1 (first): the step does not use the cache",
    );
  });
});
