/**
 * Layer 5 records, through the CLI in temp workspaces: one
 * `step_run_record.v1` per attempt (retries, routes, gates, crashes and
 * resumes included) whose hashes are the stored bytes' hashes, one
 * `environment_snapshot.v1` per run referenced by every record, and secret
 * values found nowhere under `.iris/`.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { sha256Hex } from "../src/core/canonical_json.ts";
import { lily, lilyInBackground, lilyJson, runProgram, withTempDir } from "./_helpers.ts";

interface Digest {
  name: string;
  artifact_id: string;
  sha256: string | null;
}

interface RecordDoc {
  record_id: string;
  run_id: string;
  step_id: string;
  attempt: number;
  cause: string | null;
  status: string;
  exit_code: number | null;
  inputs: Digest[];
  outputs: Digest[];
  logs: Digest[];
  gate_result_ids: string[];
  policy_violation_ids: string[];
  retry_count: number;
  environment_snapshot_id: string | null;
  executor: { kind: string; env?: Record<string, string> };
}

interface AttemptDoc {
  attempt: number;
  cause: string | null;
  status: string;
  record: string | null;
  gates: Record<string, { result_id: string }>;
}

interface ShowDoc {
  run_state: {
    environment_snapshot: string | null;
    steps: Record<string, { attempts: AttemptDoc[] }>;
  };
  environment_snapshot: Record<string, unknown> & { artifact_id: string };
  records: RecordDoc[];
}

interface Listed {
  artifact_id: string;
  run_id: string;
  artifact_type: string;
  artifact_name: string;
  rel_path: string;
  sha256: string;
}

const FLOW = `name: audited
steps:
  - id: make
    shell: 'echo made > "$LILY_OUTPUT_DIR/o.txt"'
    outputs: { o: { type: note.v1, path: o.txt } }
  - id: flaky
    shell: '[ "$LILY_ATTEMPT" != 1 ]'
    inputs: { o: steps.make.outputs.o }
    retry: { max_attempts: 2, backoff: 1ms }
  - id: fix
    needs: [flaky]
    shell: 'echo fixed > "$LILY_OUTPUT_DIR/f.txt"'
    outputs: { f: { type: note.v1, path: f.txt } }
  - id: check
    shell: '[ "$LILY_ATTEMPT" != 1 ]'
    inputs: { f: steps.fix.outputs.f }
    on_fail: { goto: fix, max: 1 }
gates:
  - { id: looks_fine, step: make, shell: "true" }
`;

async function storedBytes(ws: string, row: Listed): Promise<Uint8Array> {
  return await Deno.readFile(join(ws, ".iris", "runs", row.run_id, row.rel_path));
}

/**
 * Checks that every attempt of the run has exactly one record, that each
 * record agrees with its attempt and its hashes with the stored bytes, and
 * that every record names the run's snapshot.
 */
async function assertRecords(ws: string, runId: string): Promise<RecordDoc[]> {
  const show = await lilyJson<ShowDoc>(["run", "show", runId], ws);
  const listed = await lilyJson<Listed[]>(["artifact", "list"], ws);
  const byId = new Map(listed.map((r) => [r.artifact_id, r]));
  const snapshot = show.environment_snapshot;
  assertEquals(snapshot.artifact_id, show.run_state.environment_snapshot);
  for (
    const field of ["deno_version", "v8_version", "typescript_version", "os_release", "captured_at"]
  ) {
    assert(typeof snapshot[field] === "string", `snapshot has ${field}`);
  }
  assertEquals(snapshot.deno_version, Deno.version.deno);
  assertEquals((snapshot.platform as { os: string }).os, Deno.build.os);
  assert("deno_lock_sha256" in snapshot && "bubblewrap_version" in snapshot);

  const recordRows = listed.filter((r) =>
    r.run_id === runId && r.artifact_type === "step_run_record.v1"
  );
  const attempts = Object.entries(show.run_state.steps).flatMap(([step, s]) =>
    s.attempts.map((a) => ({ step, ...a }))
  );
  assertEquals(recordRows.length, attempts.length, "one record artifact per attempt");
  assertEquals(show.records.length, attempts.length, "run show lists one record per attempt");
  for (const attempt of attempts) {
    const matching = show.records.filter((r) =>
      r.step_id === attempt.step && r.attempt === attempt.attempt
    );
    assertEquals(matching.length, 1, `${attempt.step}.${attempt.attempt} has one record`);
    const record = matching[0];
    assertEquals(record.record_id, attempt.record);
    assertEquals(record.run_id, runId);
    assertEquals(record.status, attempt.status);
    assertEquals(record.cause, attempt.cause);
    assertEquals(record.environment_snapshot_id, snapshot.artifact_id);
    assertEquals(
      record.gate_result_ids.sort(),
      Object.values(attempt.gates).map((g) => g.result_id).sort(),
    );
    const row = byId.get(record.record_id)!;
    assertEquals(sha256Hex(await storedBytes(ws, row)), row.sha256, "the record's own hash");
    for (const digest of [...record.inputs, ...record.outputs, ...record.logs]) {
      const stored = byId.get(digest.artifact_id);
      assert(stored !== undefined, `${digest.artifact_id} is stored`);
      assertEquals(digest.sha256, sha256Hex(await storedBytes(ws, stored)), digest.name);
    }
  }
  return show.records;
}

Deno.test("every attempt (first, retry, route, gated) has exactly one step_run_record.v1 whose hashes are the stored bytes' hashes", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    await Deno.writeTextFile(join(ws, "deno.lock"), '{"version":"5"}\n');
    const ran = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
    assertEquals(ran.code, 0, ran.stderr);
    const runId = JSON.parse(ran.stdout).run_id as string;
    const records = await assertRecords(ws, runId);
    const of = (step: string, attempt: number) =>
      records.find((r) => r.step_id === step && r.attempt === attempt)!;
    assertEquals(of("flaky", 2).cause, "retry");
    assertEquals(of("flaky", 2).retry_count, 1);
    assertEquals(of("flaky", 1).exit_code, 1);
    assertEquals(of("fix", 2).cause, "route");
    assertEquals(of("check", 2).cause, "route");
    assertEquals(of("make", 1).gate_result_ids.length, 1);
    assertEquals(of("make", 1).outputs.map((o) => o.name), ["o"]);
    assertEquals(of("flaky", 1).inputs.map((i) => i.artifact_id), [
      of("make", 1).outputs[0].artifact_id,
    ]);
    assertEquals(of("make", 1).executor.kind, "command");
    const snapshot = (await lilyJson<ShowDoc>(["run", "show", runId], ws)).environment_snapshot;
    assertEquals(
      snapshot.deno_lock_sha256,
      sha256Hex(await Deno.readFile(join(ws, "deno.lock"))),
    );
    assertEquals(snapshot.git, undefined, "no git work tree: no git field");
  });
});

Deno.test("a crash while an attempt runs, or between storing a record and journaling it: resume leaves exactly one record per attempt", async () => {
  for (const point of ["attempt_started", "attempt_recording"]) {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
      const killed = await lilyInBackground(["run", "start", "flow.yaml"], ws, {
        LILY_TEST_CRASH_AT: point,
      }).done;
      assertEquals(killed.signal, "SIGKILL", killed.stderr);
      const runId = /Started run ([0-9a-f-]{36})/.exec(killed.stderr)![1];
      const resumed = await lily(["run", "resume", runId], { workspace: ws });
      assertEquals(resumed.code, 0, resumed.stderr);
      const records = await assertRecords(ws, runId);
      if (point === "attempt_started") {
        const interrupted = records.find((r) => r.status === "interrupted");
        assert(interrupted !== undefined, "the interrupted attempt is recorded");
        assertEquals(interrupted.step_id, "make");
      }
    });
  }
});

Deno.test("the snapshot of a run in a git work tree names its commit and whether it is dirty", async () => {
  await withTempDir(async (ws) => {
    const git = (...args: string[]) =>
      runProgram("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
        cwd: ws,
        env: { PATH: Deno.env.get("PATH") ?? "", HOME: ws },
      });
    if ((await git("init", "-q")).code !== 0) return;
    await Deno.writeTextFile(join(ws, ".gitignore"), ".iris/\n");
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: g\nsteps:\n  - { id: a, shell: 'true' }\n",
    );
    await git("add", ".");
    await git("commit", "-q", "-m", "first");
    const head = (await git("rev-parse", "HEAD")).stdout.trim();
    for (const dirty of [false, true]) {
      if (dirty) {
        await Deno.writeTextFile(
          join(ws, "flow.yaml"),
          "name: g\nsteps:\n  - { id: a, shell: ':' }\n",
        );
      }
      const ran = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
      assertEquals(ran.code, 0, ran.stderr);
      const show = await lilyJson<ShowDoc>(["run", "show", JSON.parse(ran.stdout).run_id], ws);
      assertEquals(show.environment_snapshot.git, { commit: head, dirty });
    }
  });
});

Deno.test("secret values reach no file under .iris/: logs, journal, records, violations, gate results, messages", async () => {
  await withTempDir(async (ws) => {
    const secrets = {
      MY_API_TOKEN: "tok-9f8e7d6c5b4a",
      DB_URL: "postgres://app:hunter2pw@db/prod",
      GATE_CONN: "gate-conn-55aa77",
    };
    await Deno.writeTextFile(
      join(ws, "leak.ts"),
      `const t = Deno.env.get("MY_API_TOKEN")!;
console.log("stdout " + t + " " + Deno.env.get("DB_URL"));
console.error("stderr " + t);
Deno.readTextFileSync("/opt/" + t);
`,
    );
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: leaky
steps:
  - id: shout
    shell: 'echo "out $MY_API_TOKEN $DB_URL"; echo "err $MY_API_TOKEN" >&2; exit 3'
    env_pass: [MY_API_TOKEN, DB_URL]
  - id: leak
    deno: leak.ts
    env_pass: [MY_API_TOKEN, DB_URL]
  - id: fine
    shell: "true"
gates:
  - id: blab
    step: fine
    shell: 'echo "gate $GATE_CONN"; echo "gate err $GATE_CONN" >&2; exit 1'
    policy: { env: [GATE_CONN] }
`,
    );
    const ran = await lily(["run", "start", "flow.yaml", "--jobs", "3"], {
      workspace: ws,
      env: secrets,
    });
    assertEquals(ran.code, 1, ran.stderr);
    assertMatch(ran.stderr, /\[REDACTED:MY_API_TOKEN\]/);
    const found: string[] = [];
    async function walk(dir: string): Promise<void> {
      for await (const entry of Deno.readDir(dir)) {
        const path = join(dir, entry.name);
        if (entry.isDirectory) await walk(path);
        else if (entry.isFile) {
          const text = new TextDecoder().decode(await Deno.readFile(path));
          for (const [name, value] of Object.entries(secrets)) {
            if (text.includes(value)) found.push(`${name} in ${path.slice(ws.length)}`);
          }
        }
      }
    }
    await walk(join(ws, ".iris"));
    assertEquals(found, []);
    const types = (await lilyJson<Listed[]>(["artifact", "list"], ws)).map((r) => r.artifact_type);
    for (const type of ["policy_violation.v1", "gate_result.v1", "step_run_record.v1", "log.v1"]) {
      assert(types.includes(type), `the run wrote a ${type} (so it was searched)`);
    }
  });
});
