/**
 * `lily run replay --reapply` and `lily run diff` through the CLI: a
 * deterministic run re-applied without drift, a run with a step that writes
 * the time re-applied with that step's drift named, the new run linked to
 * the original in its manifest, and two runs that differ in one input
 * compared step by step with the first divergent step and input named.
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { assertCleanError, lily, lilyJson, withTempDir } from "./_helpers.ts";

const FLOW = `name: notes
inputs:
  src: { type: note.v1 }
steps:
  - id: prep
    shell: echo "prepared" > "$LILY_OUTPUT_DIR/p.txt"
    outputs: { p: { type: note.v1, path: p.txt } }
  - id: build
    inputs: { src: inputs.src, p: steps.prep.outputs.p }
    shell: cat "$LILY_INPUT_P" "$LILY_INPUT_SRC" | tr a-z A-Z > "$LILY_OUTPUT_DIR/out.txt"
    outputs: { out: { type: note.v1, path: out.txt } }
  - id: stamp
    needs: [build]
    shell: STAMP_COMMAND > "$LILY_OUTPUT_DIR/t.txt"
    outputs: { t: { type: note.v1, path: t.txt } }
`;

interface StepDrift {
  step: string;
  drift: string;
  outputs: { name: string; drift: string; original: string | null; reapplied: string | null }[];
}
interface Reapplied {
  original: string;
  run_id: string;
  status: string;
  drifted: boolean;
  drift: StepDrift[];
  error?: { code: string };
}

async function startRun(ws: string, stamp: string, src: string): Promise<string> {
  await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW.replace("STAMP_COMMAND", stamp));
  await Deno.writeTextFile(join(ws, "src.txt"), src);
  const ran = await lily(["run", "start", "flow.yaml", "--input", "src=src.txt", "--json"], {
    workspace: ws,
  });
  assertEquals(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout).run_id;
}

Deno.test("reapply of a deterministic run: every step the same, exit 0, linked to the original", async () => {
  await withTempDir(async (ws) => {
    const runId = await startRun(ws, "echo fixed", "hello");
    // The user's files may change afterwards: the stored workflow and inputs are what re-runs.
    await Deno.writeTextFile(join(ws, "src.txt"), "changed");
    const out = await lily(["run", "replay", runId, "--reapply", "--json"], { workspace: ws });
    assertEquals(out.code, 0, out.stderr);
    const r = JSON.parse(out.stdout) as Reapplied;
    assertEquals(r.original, runId);
    assertEquals(r.status, "succeeded");
    assertEquals(r.drifted, false);
    assertEquals(r.drift.map((d) => [d.step, d.drift]), [
      ["prep", "same"],
      ["build", "same"],
      ["stamp", "same"],
    ]);
    const shown = await lilyJson<{ manifest: { reapply_of?: string } }>(
      ["run", "show", r.run_id],
      ws,
    );
    assertEquals(shown.manifest.reapply_of, runId);
    const text = await lily(["run", "show", r.run_id], { workspace: ws });
    assertMatch(text.stdout, new RegExp(`Re-applies: run ${runId}`));
    const human = await lily(["run", "replay", runId, "--reapply"], { workspace: ws });
    assertEquals(human.code, 0, human.stderr);
    assertMatch(human.stdout, /No drift: every step's outputs have the same hashes/);
  });
});

Deno.test("reapply of a run with a step writing the time: that step's drift named, exit 1", async () => {
  await withTempDir(async (ws) => {
    const runId = await startRun(ws, "date +%s%N", "hello");
    const out = await lily(["run", "replay", runId, "--reapply", "--json"], { workspace: ws });
    assertEquals(out.code, 1, out.stderr);
    const r = JSON.parse(out.stdout) as Reapplied;
    assertEquals(r.error?.code, "drift");
    assertEquals(r.drift.map((d) => [d.step, d.drift]), [
      ["prep", "same"],
      ["build", "same"],
      ["stamp", "differs"],
    ]);
    const t = r.drift[2]!.outputs[0]!;
    assertEquals(t.name, "t");
    assertEquals(t.drift, "differs");
    assertMatch(t.original ?? "", /^[0-9a-f]{64}$/);
    const human = await lily(["run", "replay", runId, "--reapply"], { workspace: ws });
    assertEquals(human.code, 1);
    assertMatch(human.stdout, /Drift: stamp \(differs\)/);
    assertMatch(human.stdout, /stamp\s+differs\s+succeeded → succeeded\s+t: [0-9a-f]{12} → /);
  });
});

Deno.test("run diff of two runs differing in one input: the first divergent step and input named", async () => {
  await withTempDir(async (ws) => {
    const a = await startRun(ws, "echo fixed", "hello");
    const b = await startRun(ws, "echo fixed", "world");
    const same = await lily(["run", "diff", a, a, "--json"], { workspace: ws });
    assertEquals(same.code, 0, same.stderr);
    assertEquals(JSON.parse(same.stdout).differs, false);
    const out = await lily(["run", "diff", a, b, "--json"], { workspace: ws });
    assertEquals(out.code, 1, out.stderr);
    const d = JSON.parse(out.stdout);
    assertEquals(d.error.code, "differs");
    assertEquals(d.workflow.same, true);
    // Both runs' environment snapshots are compared (the same machine: no field differs).
    assertEquals([d.environment_compared, d.environment], [true, []]);
    assertEquals(d.inputs.map((i: { name: string }) => i.name), ["src"]);
    assertEquals(d.first_divergence.step, "build");
    assertEquals(d.first_divergence.what, "input");
    assertEquals(d.first_divergence.name, "src");
    assertEquals(d.first_divergence.a, d.inputs[0].a);
    const steps = Object.fromEntries(
      d.steps.map((s: { step: string; same: boolean; outputs: { name: string }[] }) => [
        s.step,
        [s.same, s.outputs.map((o) => o.name)],
      ]),
    );
    assertEquals(steps, { prep: [true, []], build: [false, ["out"]], stamp: [true, []] });
    const human = await lily(["run", "diff", a, b], { workspace: ws });
    assertEquals(human.code, 1);
    assertMatch(
      human.stdout,
      /First divergence: step build input src \([0-9a-f]{12} → [0-9a-f]{12}\)/,
    );
    assertMatch(human.stdout, /build\s+succeeded\s+1\s+src\s+out\s+same/);
    assertMatch(human.stdout, /Environment: the same/);
  });
});

Deno.test("run diff and reapply: bad input is refused on one line", async () => {
  await withTempDir(async (ws) => {
    const a = await startRun(ws, "echo fixed", "hello");
    assertCleanError(
      await lily(["run", "diff", a], { workspace: ws }),
      2,
      /missing required argument/,
    );
    assertCleanError(
      await lily(["run", "diff", a, "not-a-run"], { workspace: ws }),
      2,
      /run id/,
    );
    assertCleanError(
      await lily(["run", "diff", a, "00000000-0000-4000-8000-000000000000"], { workspace: ws }),
      1,
      /00000000-0000-4000-8000-000000000000/,
    );
    assertCleanError(
      await lily(["run", "replay", a, "--simulate", "--jobs", "2"], { workspace: ws }),
      2,
      /--jobs goes with --reapply only/,
    );
  });
});
