import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import {
  assertNoProcessWith,
  lily,
  lilyInBackground,
  lilyJson,
  marker,
  processesWith,
  runEvents,
  waitFor,
  withTempDir,
} from "./_helpers.ts";

/** One phase of an attempt, and how a runner is stopped there. */
interface Phase {
  readonly name: string;
  /** A crash point to stop at, or the event after which the runner is stopped while a child sleeps. */
  readonly at: { point: string } | { spawned: "attempt_spawned" | "gate_spawned" };
  /** After resume: how often the step and the gate were spawned in all. */
  readonly runs: { step: number; gate: number };
}

const PHASES: readonly Phase[] = [
  { name: "before the step spawns", at: { point: "attempt_started" }, runs: { step: 1, gate: 1 } },
  { name: "while the step runs", at: { spawned: "attempt_spawned" }, runs: { step: 2, gate: 1 } },
  {
    name: "while its outputs commit",
    at: { point: "outputs_committing" },
    runs: { step: 2, gate: 1 },
  },
  { name: "before its gates start", at: { point: "gates_starting" }, runs: { step: 1, gate: 1 } },
  {
    name: "while a required gate runs",
    at: { spawned: "gate_spawned" },
    runs: { step: 1, gate: 2 },
  },
];

function flow(mark: string): string {
  return [
    "name: phases",
    "steps:",
    "  - id: build",
    `    shell: '[ -f release ] || [ -f step_free ] || sleep ${mark}; echo out > "$LILY_OUTPUT_DIR/out.txt"'`,
    "    outputs: { out: { type: note.v1, path: out.txt } }",
    "gates:",
    `  - { id: check, step: build, shell: '[ -f release ] || sleep ${mark}' }`,
  ].join("\n") + "\n";
}

async function isStopped(pid: number): Promise<true | undefined> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2)[0] === "T" || undefined;
}

interface Outcome {
  /** The run's status once the runner stopped. */
  stopped: string;
  /** The gate statuses of the step's attempts once the runner stopped. */
  gates: string[];
  /** After resume: how often the step and the gate were spawned. */
  runs: { step: number; gate: number };
}

/** Runs the flow, stops the runner at the phase by `how`, resumes, and says what happened. */
async function stopAndResume(phase: Phase, how: "crash" | "cancel"): Promise<Outcome> {
  let outcome: Outcome | undefined;
  await withTempDir(async (ws) => {
    const mark = marker();
    await Deno.writeTextFile(join(ws, "flow.yaml"), flow(mark));
    if ("point" in phase.at) await Deno.writeTextFile(join(ws, "release"), "");
    // Stopped while the gate runs: the step itself must not wait.
    if ("spawned" in phase.at && phase.at.spawned === "gate_spawned") {
      await Deno.writeTextFile(join(ws, "step_free"), "");
    }
    const env: Record<string, string> = "point" in phase.at
      ? { [how === "crash" ? "LILY_TEST_CRASH_AT" : "LILY_TEST_PAUSE_AT"]: phase.at.point }
      : {};
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws, env);
    try {
      const runId = await waitFor("the run to be journaled", async () => {
        const runs = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
        return runs[0] && (await runEvents(ws, runs[0].run_id)).length > 0
          ? runs[0].run_id
          : undefined;
      });
      if ("spawned" in phase.at) {
        const type = phase.at.spawned;
        await waitFor(type, async () =>
          (await runEvents(ws, runId)).some((e) => e.type === type) &&
            (await processesWith(mark)).length > 0 || undefined);
        if (how === "crash") runner.child.kill("SIGKILL");
        else assertEquals((await lily(["run", "cancel", runId], { workspace: ws })).code, 0);
      } else if (how === "cancel") {
        await waitFor("the runner to pause", () => isStopped(runner.child.pid));
        const cancel = lilyInBackground(["run", "cancel", runId], ws);
        await waitFor(
          "the cancel request",
          async () => (await Deno.stat(join(ws, ".iris", "runs", runId, "cancel_requested")).then(
            () => true,
            () => undefined,
          )),
        );
        runner.child.kill("SIGCONT");
        assertEquals((await cancel.done).code, 0);
      }
      await runner.done;
      const shown = await lilyJson<{
        manifest: { status: string };
        run_state: {
          steps: { build: { attempts: { gates: Record<string, { status: string }> }[] } };
        };
      }>(["run", "show", runId], ws);
      const gates = shown.run_state.steps.build.attempts.flatMap((a) =>
        Object.values(a.gates).map((g) => g.status)
      );
      await Deno.writeTextFile(join(ws, "release"), "");
      const resumed = await lily(["run", "resume", runId, "--json"], { workspace: ws });
      assertEquals(resumed.code, 0, resumed.stderr);
      assertEquals(JSON.parse(resumed.stdout).status, "succeeded");
      await assertNoProcessWith(mark);
      const events = await runEvents(ws, runId);
      outcome = {
        stopped: shown.manifest.status,
        gates,
        runs: {
          step: events.filter((e) => e.type === "attempt_spawned").length,
          gate: events.filter((e) => e.type === "gate_spawned").length,
        },
      };
    } finally {
      try {
        runner.child.kill("SIGKILL");
      } catch {
        // Already ended.
      }
      await runner.done;
    }
  });
  return outcome!;
}

for (const phase of PHASES) {
  Deno.test(`cancel and crash ${phase.name} agree: resume re-runs only what was unfinished`, async () => {
    const crashed = await stopAndResume(phase, "crash");
    const cancelled = await stopAndResume(phase, "cancel");
    assertEquals(crashed.runs, phase.runs, "after a crash");
    assertEquals(cancelled.runs, phase.runs, "after a cancel");
    assertEquals(cancelled.stopped, "cancelled");
    assert(!cancelled.gates.includes("error"), `a cancelled gate was recorded ${cancelled.gates}`);
    if ("spawned" in phase.at && phase.at.spawned === "gate_spawned") {
      assertEquals(cancelled.gates, ["cancelled"]);
    }
  });
}

Deno.test("cancel while a human gate waits: after approval, resume finishes without re-running the step", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: h\nsteps:\n  - { id: build, shell: 'echo b >> build.log' }\ngates:\n  - { id: ok, step: build, human: { prompt: Ship? } }\n",
    );
    const started = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
    assertEquals(started.code, 3, started.stderr);
    const runId = JSON.parse(started.stdout).run_id;
    assertEquals(
      (await lilyJson<{ status: string }>(["run", "cancel", runId], ws)).status,
      "cancelled",
    );
    await lilyJson(["approve", runId, "ok"], ws);
    const resumed = await lilyJson<{ status: string }>(["run", "resume", runId], ws);
    assertEquals(resumed.status, "succeeded");
    assertEquals(await Deno.readTextFile(join(ws, "build.log")), "b\n");
  });
});
