/**
 * `lily journal`: each run's access journal through the CLI — what every
 * attempt read, was granted, was allowed or denied, staged and committed —
 * across a crash between staging and commit and a torn last entry.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import {
  assertCleanError,
  lily,
  lilyInBackground,
  lilyJson,
  SANDBOXED,
  withTempDir,
} from "./_helpers.ts";

interface Access {
  inputs: Record<string, { artifact_id: string; sha256: string | null }>;
  grant: { sandbox: string; mounts: { mode: string; path: string }[]; env: string[] } | null;
  permissions: { kind: string; target: string; value: string | null; decision: string }[];
  staged: Record<string, { path: string; sha256: string; size: number }> | null;
  committed: Record<string, { artifact_id: string; sha256: string }> | null;
}

interface Journal {
  run_id: string;
  entries: number;
  torn_tail: boolean;
  warnings: string[];
  steps: {
    step: string;
    attempts:
      (Access & { attempt: number; status: string; gates: (Access & { gate: string })[] })[];
  }[];
}

async function startRun(ws: string, flow: string, env: Record<string, string> = {}) {
  await Deno.writeTextFile(join(ws, "flow.yaml"), flow);
  const started = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws, env });
  const doc = JSON.parse(started.stdout);
  return { runId: doc.run_id as string, status: doc.status as string, code: started.code };
}

function attemptsOf(journal: Journal, step: string) {
  const found = journal.steps.find((s) => s.step === step);
  assert(found !== undefined, `no step ${step} in ${JSON.stringify(journal.steps)}`);
  return found.attempts;
}

function accessPath(ws: string, runId: string): string {
  return join(ws, ".iris", "runs", runId, "access.jsonl");
}

Deno.test("a deno step: every broker decision, allowed and denied, and env names without values", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "public.txt"), "public\n");
    await Deno.writeTextFile(join(ws, "secret.txt"), "secret\n");
    await Deno.writeTextFile(
      join(ws, "peek.ts"),
      [
        'console.log(Deno.readTextFileSync("public.txt"), Deno.env.get("LILY_JOURNAL_TOKEN")?.length);',
        'try { Deno.readTextFileSync("secret.txt"); } catch { console.log("denied"); }',
      ].join("\n"),
    );
    const { runId, status } = await startRun(
      ws,
      [
        "name: j",
        "steps:",
        "  - id: peek",
        "    deno: peek.ts",
        '    policy: { deny: ["secret.txt"], env: [LILY_JOURNAL_TOKEN] }',
      ].join("\n"),
      { LILY_JOURNAL_TOKEN: "t0ken-value-never-stored" },
    );
    assertEquals(status, "failed", "the denied read fails the step as a policy violation");
    const journal = await lilyJson<Journal>(["journal", runId], ws);
    const [attempt] = attemptsOf(journal, "peek");
    const decisions = attempt.permissions.map((p) => [p.kind, p.target, p.decision]);
    assert(decisions.some((d) => d.join(" ") === `read ${join(ws, "public.txt")} allow`));
    assert(decisions.some((d) => d.join(" ") === `read ${join(ws, "secret.txt")} deny`));
    assert(decisions.some((d) => d.join(" ") === "env LILY_JOURNAL_TOKEN allow"));
    assertEquals(attempt.grant?.sandbox, SANDBOXED ? "bubblewrap" : "none");
    assert(attempt.grant?.env.includes("LILY_JOURNAL_TOKEN"));
    const stored = await Deno.readTextFile(accessPath(ws, runId));
    assert(!stored.includes("t0ken-value-never-stored"), "a variable's value was journaled");

    const human = await lily(["journal", runId], { workspace: ws });
    assertEquals(human.code, 0, human.stderr);
    assertMatch(human.stdout, /^step peek\n {2}attempt 1 \(failed\)$/m);
    assertMatch(
      human.stdout,
      new RegExp(`allowed read ${join(ws, "public.txt")} \\(as public.txt\\)`),
    );
    assertMatch(
      human.stdout,
      new RegExp(`denied read ${join(ws, "secret.txt")} \\(as secret.txt\\)`),
    );
  });
});

Deno.test("command steps: inputs with hashes, the grant, staged and committed outputs; gates' inputs and a deno gate's decisions", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "check.ts"),
      'if (Deno.readTextFileSync(Deno.env.get("LILY_INPUT_B")!) !== "made") Deno.exit(1);',
    );
    const { runId, status } = await startRun(
      ws,
      [
        "name: j",
        "steps:",
        "  - id: make",
        "    shell: 'printf made > $LILY_OUTPUT_DIR/a.txt'",
        "    outputs: { a: { type: text.v1, path: a.txt, kind: text } }",
        "  - id: use",
        "    shell: 'cat $LILY_INPUT_A > $LILY_OUTPUT_DIR/b.txt'",
        "    inputs: { a: steps.make.outputs.a }",
        "    outputs: { b: { type: text.v1, path: b.txt, kind: text } }",
        "gates:",
        "  - { id: nonempty, step: use, shell: 'test -s $LILY_INPUT_B' }",
        "  - { id: readable, step: use, deno: check.ts }",
      ].join("\n"),
    );
    assertEquals(status, "succeeded");
    const journal = await lilyJson<Journal>(["journal", runId], ws);
    const [make] = attemptsOf(journal, "make");
    const [use] = attemptsOf(journal, "use");
    const a = await lilyJson<{ sha256: string }>([
      "artifact",
      "show",
      make.committed!.a.artifact_id,
    ], ws);
    assertEquals(make.staged?.a, { path: "a.txt", sha256: a.sha256, size: 4 });
    assertEquals(make.committed?.a.sha256, a.sha256);
    assertEquals(make.inputs, {});
    assertEquals(use.inputs, {
      a: { artifact_id: make.committed!.a.artifact_id, sha256: a.sha256 },
    });
    for (const attempt of [make, use]) {
      assertEquals(attempt.grant?.sandbox, SANDBOXED ? "bubblewrap" : "none");
      assert(attempt.grant?.env.includes("LILY_OUTPUT_DIR"));
      assertEquals(attempt.permissions, [], "a command step has no broker");
    }
    if (SANDBOXED) {
      assert(make.grant!.mounts.some((m) => m.mode === "writable" && m.path === ws));
      assert(make.grant!.mounts.some((m) => m.mode === "hidden" && m.path === join(ws, ".iris")));
    } else {
      assertEquals(make.grant!.mounts, []);
    }
    const [gate, deno] = use.gates;
    assertEquals(gate.gate, "nonempty");
    assertEquals(deno.gate, "readable");
    const read = deno.permissions.find((p) => p.kind === "read");
    assertEquals(read?.decision, "allow");
    assertMatch(read!.target, /\/tmp\/gate\.readable\.use\.1\/in\/b\.txt$/);
    assertEquals(gate.inputs.b.artifact_id, use.committed!.b.artifact_id);
    assertEquals(gate.inputs.b.sha256, use.committed!.b.sha256);
    assertEquals(gate.grant?.sandbox, SANDBOXED ? "bubblewrap" : "none");

    const human = await lily(["journal", runId], { workspace: ws });
    assertMatch(human.stdout, new RegExp(`staged: a a.txt sha256 ${a.sha256} \\(4 bytes\\)`));
    assertMatch(
      human.stdout,
      new RegExp(`committed: a = ${make.committed!.a.artifact_id} sha256 ${a.sha256}`),
    );
    assertMatch(human.stdout, /^ {4}gate nonempty \(pass\)$/m);
    assertMatch(human.stdout, /^ {6}allowed read \S+\/in\/b\.txt: /m);
  });
});

Deno.test("a failed attempt shows what it staged and that nothing was committed", async () => {
  await withTempDir(async (ws) => {
    const { runId, status } = await startRun(
      ws,
      [
        "name: j",
        "steps:",
        "  - id: half",
        "    shell: 'printf half > $LILY_OUTPUT_DIR/a.txt; exit 3'",
        "    outputs:",
        "      a: { type: text.v1, path: a.txt, kind: text }",
        "      b: { type: text.v1, path: b.txt, kind: text }",
      ].join("\n"),
    );
    assertEquals(status, "failed");
    const [attempt] = attemptsOf(await lilyJson<Journal>(["journal", runId], ws), "half");
    assertEquals(Object.keys(attempt.staged ?? {}), ["a"]);
    assertEquals(attempt.staged!.a.size, 4);
    assertEquals(attempt.committed, null);
    const human = await lily(["journal", runId], { workspace: ws });
    assertMatch(
      human.stdout,
      /staged: a a\.txt sha256 [0-9a-f]{64} \(4 bytes\)\n {4}committed: nothing/,
    );
  });
});

Deno.test("a crash between staging and commit: intended but not committed; resume commits it", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: j\nsteps:\n  - id: out\n    shell: 'printf v > $LILY_OUTPUT_DIR/v.txt'\n" +
        "    outputs: { v: { type: text.v1, path: v.txt, kind: text } }\n",
    );
    const killed = await lilyInBackground(["run", "start", "flow.yaml"], ws, {
      LILY_TEST_CRASH_AT: "outputs_committing",
    }).done;
    assertEquals(killed.signal, "SIGKILL");
    const runId = /Started run ([0-9a-f-]{36})/.exec(killed.stderr)![1];
    const before = attemptsOf(await lilyJson<Journal>(["journal", runId], ws), "out");
    assertEquals(before.length, 1);
    assertEquals(before[0].status, "running");
    assertEquals(before[0].staged?.v.size, 1);
    assertEquals(before[0].committed, null);

    const resumed = await lilyJson<{ status: string }>(["run", "resume", runId], ws);
    assertEquals(resumed.status, "succeeded");
    const after = attemptsOf(await lilyJson<Journal>(["journal", runId], ws), "out");
    assertEquals(after.map((a) => [a.attempt, a.status]), [[1, "interrupted"], [2, "succeeded"]]);
    assertEquals(after[0].committed, null);
    assertEquals(after[1].staged?.v.sha256, before[0].staged?.v.sha256);
    assertEquals(after[1].committed?.v.sha256, before[0].staged?.v.sha256);
  });
});

Deno.test("a torn last access entry is skipped with a warning by journal and verify; a damaged one fails both", async () => {
  await withTempDir(async (ws) => {
    const { runId } = await startRun(
      ws,
      "name: j\nsteps:\n  - id: s\n    shell: 'printf x > $LILY_OUTPUT_DIR/x.txt'\n" +
        "    outputs: { x: { type: text.v1, path: x.txt, kind: text } }\n",
    );
    const path = accessPath(ws, runId);
    const whole = await Deno.readTextFile(path);
    const lines = whole.split("\n").filter(Boolean);
    const last = lines.at(-1)!;
    await Deno.writeTextFile(path, whole.slice(0, whole.length - 1 - Math.floor(last.length / 2)));

    const shown = await lily(["journal", runId], { workspace: ws });
    assertEquals(shown.code, 0, shown.stderr);
    assertMatch(
      shown.stderr,
      /^lily: warning: The access journal \S+access\.jsonl ends in a torn entry/,
    );
    const [attempt] = attemptsOf(await lilyJson<Journal>(["journal", runId], ws), "s");
    assertEquals(attempt.committed, null, "the torn last entry (committed) was skipped");
    const doc = await lilyJson<Journal>(["journal", runId], ws);
    assertEquals([doc.torn_tail, doc.entries, doc.warnings.length], [true, lines.length - 1, 1]);

    const verified = await lily(["verify", "--json"], { workspace: ws });
    assertEquals(verified.code, 0, verified.stdout);
    const findings = JSON.parse(verified.stdout).findings;
    assertEquals(
      findings.map((
        f: { kind: string; severity: string; path: string },
      ) => [f.kind, f.severity, f.path]),
      [
        ["torn_journal", "warning", path],
      ],
    );

    await Deno.writeTextFile(path, ["{not json", ...lines.slice(1)].join("\n") + "\n");
    assertCleanError(
      await lily(["journal", runId], { workspace: ws }),
      1,
      /Access journal \S+ is corrupt at line 1: not JSON/,
    );
    const show = await lily(["run", "show", runId], { workspace: ws });
    assertEquals(show.code, 0, "the run's state is folded from its events alone");
    const damaged = await lily(["verify", "--json"], { workspace: ws });
    assertEquals(damaged.code, 1);
    const [finding] = JSON.parse(damaged.stdout).findings;
    assertEquals([finding.kind, finding.path], ["invalid_journal", path]);
  });
});

Deno.test("--step keeps one step; an unknown step is a usage error, an unknown run a failure", async () => {
  await withTempDir(async (ws) => {
    const { runId } = await startRun(
      ws,
      "name: j\nsteps:\n  - { id: one, shell: 'true' }\n  - { id: two, shell: 'true', needs: [one] }\n",
    );
    const only = await lilyJson<Journal>(["journal", runId, "--step", "two"], ws);
    assertEquals(only.steps.map((s) => s.step), ["two"]);
    assertEquals(only.steps[0].attempts.map((a) => a.status), ["succeeded"]);
    const human = await lily(["journal", runId, "--step", "two"], { workspace: ws });
    assert(!human.stdout.includes("step one"), human.stdout);
    assertCleanError(
      await lily(["journal", runId, "--step", "three"], { workspace: ws }),
      2,
      /has no step "three"; its steps: one, two/,
    );
    const unknown = crypto.randomUUID();
    assertCleanError(
      await lily(["journal", unknown], { workspace: ws }),
      1,
      /Run \S+ does not exist/,
    );
    const json = await lily(["journal", unknown, "--json"], { workspace: ws });
    assertEquals([json.code, JSON.parse(json.stdout).error.code], [1, "not_found"]);
  });
});
