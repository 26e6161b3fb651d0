import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import {
  assertCleanError,
  CLI,
  firstRunId,
  lily,
  lilyInBackground,
  lilyJson,
  runEvents,
  SANDBOX_ENV,
  waitForEvent,
  withTempDir,
} from "./_helpers.ts";

/** A step that fails once then succeeds (attempt 2), with a gate; a second step downstream. */
const FLOW = [
  "name: logs",
  "steps:",
  "  - id: build",
  "    shell: >-",
  "      echo build-out; echo build-err >&2;",
  "      if [ -f tried ]; then echo second-try; else touch tried; exit 75; fi",
  "    retry: { max_attempts: 2, exit_codes: [75] }",
  "  - id: ship",
  "    needs: [build]",
  "    shell: echo ship-out",
  "gates:",
  "  - { id: check, step: build, shell: echo gate-out; echo gate-err >&2 }",
  "",
].join("\n");

interface LogsDoc {
  run_id: string;
  status: string;
  logs: { step: string; attempt: number; gate_id: string | null; stream: string; text: string }[];
}

async function finishedRun(ws: string): Promise<string> {
  await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
  const run = await lily(["run", "start", "flow.yaml", "--json"], {
    workspace: ws,
    env: SANDBOX_ENV,
  });
  assertEquals(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as { run_id: string }).run_id;
}

Deno.test("lily logs prints every attempt's and gate's output in blocks, by step in order", async () => {
  await withTempDir(async (ws) => {
    const runId = await finishedRun(ws);
    const human = await lily(["logs", runId], { workspace: ws });
    assertEquals(human.code, 0, human.stderr);
    assertEquals(
      human.stdout,
      [
        "==> build#1 stdout <==",
        "build-out",
        "==> build#1 stderr <==",
        "build-err",
        "==> build#2 stdout <==",
        "build-out",
        "second-try",
        "==> build#2 stderr <==",
        "build-err",
        "==> build#2 gate check stdout <==",
        "gate-out",
        "==> build#2 gate check stderr <==",
        "gate-err",
        "==> ship#1 stdout <==",
        "ship-out",
        "",
      ].join("\n"),
    );

    const doc = await lilyJson<LogsDoc>(["logs", runId], ws);
    assertEquals([doc.run_id, doc.status], [runId, "succeeded"]);
    assertEquals(
      doc.logs.map((l) => `${l.step}#${l.attempt}:${l.gate_id}:${l.stream}:${l.text}`),
      [
        "build#1:null:stdout:build-out\n",
        "build#1:null:stderr:build-err\n",
        "build#2:null:stdout:build-out\nsecond-try\n",
        "build#2:null:stderr:build-err\n",
        "build#2:check:stdout:gate-out\n",
        "build#2:check:stderr:gate-err\n",
        "ship#1:null:stdout:ship-out\n",
      ],
    );
  });
});

Deno.test("lily logs --step, --attempt and --stream filter the blocks", async () => {
  await withTempDir(async (ws) => {
    const runId = await finishedRun(ws);
    const blocks = async (args: string[]) =>
      (await lilyJson<LogsDoc>(["logs", runId, ...args], ws)).logs.map((l) =>
        `${l.step}#${l.attempt}:${l.gate_id}:${l.stream}`
      );
    assertEquals(await blocks(["--step", "ship"]), ["ship#1:null:stdout"]);
    assertEquals(await blocks(["--step", "build", "--attempt", "1"]), [
      "build#1:null:stdout",
      "build#1:null:stderr",
    ]);
    assertEquals(await blocks(["--step", "build", "--stream", "stderr"]), [
      "build#1:null:stderr",
      "build#2:null:stderr",
      "build#2:check:stderr",
    ]);
    assertEquals(await blocks(["--stream", "stdout", "--step", "build", "--attempt", "2"]), [
      "build#2:null:stdout",
      "build#2:check:stdout",
    ]);
  });
});

Deno.test("lily logs: an unknown run, step or attempt is one line and exit 1; bad usage exit 2", async () => {
  await withTempDir(async (ws) => {
    const runId = await finishedRun(ws);
    const other = "01234567-89ab-4def-8123-456789abcdef";
    assertCleanError(await lily(["logs", other], { workspace: ws }), 1, /does not exist/);
    assertCleanError(
      await lily(["logs", runId, "--step", "nope"], { workspace: ws }),
      1,
      /has no step nope; its steps: build, ship/,
    );
    assertCleanError(
      await lily(["logs", runId, "--step", "ship", "--attempt", "4"], { workspace: ws }),
      1,
      /Step ship of run .* has no attempt 4; its attempts: 1/,
    );
    assertCleanError(
      await lily(["logs", runId, "--attempt", "1"], { workspace: ws }),
      2,
      /--attempt needs --step/,
    );
    assertCleanError(
      await lily(["logs", runId, "--step", "ship", "--attempt", "0"], { workspace: ws }),
      2,
      /Invalid --attempt "0": expected a positive integer/,
    );
    assertCleanError(
      await lily(["logs", runId, "--stream", "both"], { workspace: ws }),
      2,
      /Allowed choices are stdout, stderr/,
    );
    const json = await lily(["logs", runId, "--step", "nope", "--json"], { workspace: ws });
    assertEquals(json.code, 1);
    assertEquals(JSON.parse(json.stdout).error.code, "not_found");
  });
});

/** Reads a child's stdout until `pattern` shows up; returns what was read. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pattern: RegExp,
  sofar = "",
): Promise<string> {
  let text = sofar;
  const decoder = new TextDecoder();
  while (!pattern.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`output ended before ${pattern}: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

/** A step that prints, then waits for the test's `release` file, then prints again. */
function pausingFlow(): string {
  return [
    "name: live",
    "steps:",
    "  - id: talk",
    "    shell: >-",
    "      echo before-release; echo warn-early >&2;",
    "      while [ ! -f release ]; do sleep 0.05; done;",
    "      echo after-release",
    "",
  ].join("\n");
}

function spawnLily(args: string[], ws: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...args],
    cwd: ws,
    env: { LILY_WORKSPACE: ws, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
}

Deno.test("lily logs --follow from a second process sees output while the run is live and ends with it", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), pausingFlow());
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws, SANDBOX_ENV);
    const runId = await firstRunId(ws);
    await waitForEvent(ws, runId, "attempt_spawned", "the step to start");
    const follower = spawnLily(["logs", runId, "--follow", "--json"], ws);
    const reader = follower.stdout.getReader();
    try {
      const early = await readUntil(reader, /before-release[\s\S]*\n/);
      // Seen while the run is live: the step waits for the release file.
      assert(!(await runEvents(ws, runId)).some((e) => e.type === "run_finished"));
      assert(early.includes('"stream":"stdout"'), early);
      await Deno.writeTextFile(join(ws, "release"), "");
      const rest = await readUntil(reader, /"end"/, early);
      const lines = rest.trim().split("\n").map((l) => JSON.parse(l));
      const text = (stream: string) =>
        lines.filter((l) => l.stream === stream).map((l) => l.text).join("");
      assertEquals(text("stdout"), "before-release\nafter-release\n");
      assertEquals(text("stderr"), "warn-early\n");
      assertEquals(lines.at(-1).end, { run_id: runId, status: "succeeded", reason: null });
      assert(
        lines.slice(0, -1).every((l) => l.step === "talk" && l.attempt === 1 && l.gate_id === null),
      );
    } finally {
      reader.releaseLock();
      await follower.stdout.cancel();
      await follower.stderr.cancel();
    }
    assertEquals((await follower.status).code, 0);
    assertEquals((await runner.done).code, 0);
  });
});

Deno.test("lily logs --follow as text heads each source when it changes, gates included, and ends with the run's status", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: live",
        "steps:",
        "  - id: talk",
        "    shell: >-",
        "      echo out-1; while [ ! -f release ]; do sleep 0.05; done;",
        "      echo err-1 >&2; echo out-2",
        "gates:",
        "  - { id: check, step: talk, shell: echo gate-said }",
        "",
      ].join("\n"),
    );
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws, SANDBOX_ENV);
    const runId = await firstRunId(ws);
    await waitForEvent(ws, runId, "attempt_spawned", "the step to start");
    const follower = spawnLily(["logs", runId, "--follow"], ws);
    const reader = follower.stdout.getReader();
    let seen: string;
    try {
      seen = await readUntil(reader, /out-1\n/);
      await Deno.writeTextFile(join(ws, "release"), "");
      seen = await readUntil(reader, /gate-said\n/, seen);
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
    } finally {
      reader.releaseLock();
    }
    const stderr = new TextDecoder().decode(
      new Uint8Array(await new Response(follower.stderr).arrayBuffer()),
    );
    assertEquals((await follower.status).code, 0);
    assertEquals((await runner.done).code, 0);
    assertEquals(stderr.trim(), `Run ${runId} succeeded`);
    // Which source is read first in a poll may vary; each chunk comes under its source's header.
    const blocks = seen.split(/(?=^==> )/m).map((b) => b.trim().split("\n"));
    assert(seen.startsWith("==> talk#1 stdout <==\nout-1\n"), seen);
    const bySource = (head: string) =>
      blocks.filter((b) => b[0] === head).flatMap((b) => b.slice(1));
    assertEquals(bySource("==> talk#1 stdout <=="), ["out-1", "out-2"]);
    assertEquals(bySource("==> talk#1 stderr <=="), ["err-1"]);
    assertEquals(blocks.at(-1), ["==> talk#1 gate check stdout <==", "gate-said"]);
    assert(blocks.every((b) => b.length > 1 && b[0].startsWith("==> ")), seen);
  });
});

Deno.test("lily logs reads a log larger than one read whole, a character split between reads kept whole", async () => {
  await withTempDir(async (ws) => {
    // 1 MiB − 1 bytes, then a two-byte character across the 1 MiB read boundary.
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: big\nsteps:\n  - id: big\n    shell: \"head -c 1048575 /dev/zero | tr '\\\\0' a; printf '\\\\303\\\\251\\\\nend\\\\n'\"\n",
    );
    const run = await lily(["run", "start", "flow.yaml", "--json"], {
      workspace: ws,
      env: SANDBOX_ENV,
    });
    assertEquals(run.code, 0, run.stderr);
    const runId = (JSON.parse(run.stdout) as { run_id: string }).run_id;
    const doc = await lilyJson<LogsDoc>(["logs", runId], ws);
    assertEquals(doc.logs.length, 1);
    assertEquals(doc.logs[0].text, "a".repeat(1048575) + "é\nend\n");
    const text = await lily(["logs", runId, "--stream", "stdout"], { workspace: ws });
    assertEquals(text.stdout, "==> big#1 stdout <==\n" + "a".repeat(1048575) + "é\nend\n");
  });
});

Deno.test("lily logs --follow --attempt waits for the attempt, and exits 1 when the run ends without it", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), pausingFlow());
    const runner = lilyInBackground(["run", "start", "flow.yaml"], ws, SANDBOX_ENV);
    const runId = await firstRunId(ws);
    await waitForEvent(ws, runId, "attempt_spawned", "the step to start");
    const follower = lilyInBackground(
      ["logs", runId, "--follow", "--json", "--step", "talk", "--attempt", "2"],
      ws,
    );
    let ended = false;
    follower.done.then(() => ended = true);
    // While the run is live the follower waits for attempt 2 (it could still come).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assertEquals(ended, false);
    await Deno.writeTextFile(join(ws, "release"), "");
    const [followed, ran] = await Promise.all([follower.done, runner.done]);
    assertEquals(ran.code, 0, ran.stderr);
    assertEquals(followed.code, 1);
    const lines = followed.stdout.trim().split("\n");
    assertEquals(lines.length, 1, followed.stdout);
    assertEquals(JSON.parse(lines[0]).error.code, "not_found");
    assertEquals(followed.stderr.trim().split("\n").length, 1);
  });
});
