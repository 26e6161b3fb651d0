/**
 * The shipped `agent` pack through the CLI, on the demo's bundled project
 * (examples/agent, copied into a temp workspace): the fix-until-green loop
 * routes back once and ends green; apply_patch refuses a file outside the
 * work order's scope (a policy_violation.v1, nothing written) while an
 * in-scope patch applies; a file changed since the patch was made is
 * refused; a reply that is not a usable patch fails the edit step; the same
 * workflow against an OpenAI-compatible server on 127.0.0.1; and an llm
 * step's {{inputs.feedback}} before and after a route.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { lily, lilyJson, REPO, SANDBOX_ENV, withTempDir } from "./_helpers.ts";
import { openAiOk, startLlmServer } from "./_llm_server.ts";
import { sha256Text } from "../packs/agent/patch_scope.ts";

/** Asserts `text` includes `part`. */
function assertStringIncludes(text: string, part: string): void {
  assert(text.includes(part), `${JSON.stringify(part)} not in:\n${text}`);
}

const EXAMPLE = join(REPO, "examples", "agent");
const REPLIES = JSON.parse(await Deno.readTextFile(join(EXAMPLE, "replies.json"))) as {
  edit: [string, string];
};
const ORIGINAL = await Deno.readTextFile(join(EXAMPLE, "project", "src", "stats.ts"));
const TESTS = await Deno.readTextFile(join(EXAMPLE, "project", "src", "stats_test.ts"));
const FIXED = ORIGINAL
  .replace(
    "  const mid",
    "  const sorted = [...values].sort((a, b) => a - b);\n  const mid",
  )
  .replace(
    "values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2",
    "sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2",
  );

/** A diff of src/stats_test.ts (outside the scope: the work order allows src/stats.ts only). */
const TEST_EDIT = `--- a/src/stats_test.ts
+++ b/src/stats_test.ts
@@ -12,3 +12,3 @@
 Deno.test("median() of unsorted numbers", () => {
-  expect(median([10, 2, 9]), 9, "median([10, 2, 9])");
+  expect(median([10, 2, 9]), 2, "median([10, 2, 9])");
 });
`;

/** A diff of src/stats.ts alone: adds a comment line at its top. */
const STATS_EDIT = `--- a/src/stats.ts
+++ b/src/stats.ts
@@ -1,3 +1,4 @@
+// edited
 /**
  * The middle value of some numbers (the mean of the two middle ones for an
  * even count); NaN for none.
`;

interface Ref {
  readonly artifact_id: string;
  readonly artifact_name: string | null;
}

/** Copies the demo's project, work order and workflow into `ws`, with the fake's script. */
async function agentWorkspace(
  ws: string,
  options: { script?: Record<string, unknown[]>; workflow?: string } = {},
): Promise<void> {
  await Deno.mkdir(join(ws, "src"));
  for (const name of ["stats.ts", "stats_test.ts"]) {
    await Deno.copyFile(join(EXAMPLE, "project", "src", name), join(ws, "src", name));
  }
  await Deno.copyFile(join(EXAMPLE, "work_order.json"), join(ws, "work_order.json"));
  await Deno.writeTextFile(
    join(ws, "flow.yaml"),
    options.workflow ?? await Deno.readTextFile(join(EXAMPLE, "fix_until_green.yaml")),
  );
  await Deno.writeTextFile(join(ws, "replies.json"), JSON.stringify(options.script ?? REPLIES));
}

const FAKE = { ...SANDBOX_ENV, LILY_LLM: "fake", LILY_LLM_SCRIPT: "replies.json" };

async function start(ws: string, env: Record<string, string> = FAKE) {
  return await lily(["run", "start", "flow.yaml", "--input", "work_order=work_order.json"], {
    workspace: ws,
    env,
  });
}

async function refs(ws: string, type: string): Promise<Ref[]> {
  return await lilyJson<Ref[]>(["artifact", "list", "--type", type], ws);
}

async function payload<T>(ws: string, id: string): Promise<T> {
  const got = await lily(["artifact", "get", id], { workspace: ws });
  assertEquals(got.code, 0, got.stderr);
  return JSON.parse(got.stdout) as T;
}

interface Shown {
  run_state: {
    status: string;
    steps: Record<string, {
      feedback: string | null;
      outputs: Record<string, string>;
      attempts: {
        attempt: number;
        cause: string;
        status: string;
        outputs: Record<string, string>;
      }[];
    }>;
  };
  routes: { route: string; goto: string; count: number; max: number; feedback: string }[];
  records: StepRecord[];
}

interface StepRecord {
  step_id: string;
  attempt: number;
  cause: string;
  status: string;
  executor: { kind: string };
  inputs: { name: string; artifact_id: string; sha256: string }[];
  outputs: { name: string; artifact_id: string; sha256: string }[];
  gate_result_ids: string[];
  policy_violation_ids: string[];
}

async function shown(ws: string): Promise<Shown> {
  const [run] = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
  return await lilyJson<Shown>(["run", "show", run.run_id], ws);
}

/** The user message of the request an llm exchange stored under `name`. */
async function requestText(ws: string, name: string): Promise<string> {
  const ref = (await refs(ws, "llm_request.v1")).find((r) => r.artifact_name === name);
  assert(ref, `no request ${name}`);
  const request = await payload<{ body: { messages: { role: string; content: string }[] } }>(
    ws,
    ref.artifact_id,
  );
  return request.body.messages.map((m) => m.content).join("\n");
}

interface Violation {
  step_id: string;
  kind: string;
  target: string;
  decided_by: string;
  message: string;
}

Deno.test("the fix-until-green workflow: a wrong patch, the tests gate fails, one route back to edit with the failing report, a right patch, green", async () => {
  await withTempDir(async (ws) => {
    await agentWorkspace(ws);
    const run = await start(ws);
    assertEquals(run.code, 0, run.stderr);
    const state = await shown(ws);
    assertEquals(state.run_state.status, "succeeded");
    assertEquals(state.routes.map((r) => [r.route, r.goto, r.count, r.max]), [
      ["gates.green.on_fail", "edit", 1, 3],
    ]);
    for (const step of ["edit", "apply", "test"]) {
      assertEquals(
        state.run_state.steps[step].attempts.map((a) => [a.attempt, a.cause, a.status]),
        [[1, "first", "succeeded"], [2, "route", "succeeded"]],
        step,
      );
    }
    const gate = await payload<{ gate_id: string; status: string; reasons: string[] }>(
      ws,
      state.routes[0].feedback,
    );
    assertEquals([gate.gate_id, gate.status], ["green", "fail"]);
    assertEquals(state.run_state.steps.edit.feedback, state.routes[0].feedback);

    const reports = state.run_state.steps.test.attempts.map((a) => a.outputs.report);
    const [first, last] = await Promise.all(
      reports.map((id) => payload<{ passed: number; failed: number; total: number }>(ws, id)),
    );
    assertEquals([first.passed, first.failed, first.total], [2, 1, 3]);
    assertEquals([last.passed, last.failed, last.total], [3, 0, 3]);
    assertEquals(await Deno.readTextFile(join(ws, "src", "stats.ts")), FIXED);
    assertEquals(await Deno.readTextFile(join(ws, "src", "stats_test.ts")), TESTS);

    const firstAsk = await requestText(ws, "llm.edit.1.1.request");
    assertStringIncludes(firstAsk, "None yet: this is the first attempt.");
    assertStringIncludes(firstAsk, ORIGINAL);
    const secondAsk = await requestText(ws, "llm.edit.2.1.request");
    assertStringIncludes(secondAsk, "Gate green on step test: fail");
    assertStringIncludes(secondAsk, "median([10, 2, 9]) should be 9, got 2");
    assertStringIncludes(secondAsk, "[...values].sort();");

    const patches = state.run_state.steps.edit.attempts.map((a) => a.outputs.patch);
    const [wrong, right] = await Promise.all(
      patches.map((id) =>
        payload<{ diff: string; files: { path: string; base_sha256: string }[] }>(ws, id)
      ),
    );
    assertEquals(wrong.files, [{ path: "src/stats.ts", base_sha256: sha256Text(ORIGINAL) }]);
    assertEquals(right.files.map((f) => f.path), ["src/stats.ts"]);
    assert(right.files[0].base_sha256 !== sha256Text(ORIGINAL), "made against the wrong patch");
    assertEquals(right.diff, REPLIES.edit[1]);
    assertEquals((await refs(ws, "policy_violation.v1")).length, 0);

    // One step_run_record.v1 per attempt, naming its executor, inputs and outputs with hashes.
    const records = state.records.map((r) => [r.step_id, r.attempt, r.cause, r.executor.kind]);
    assertEquals(records.sort(), [
      ["apply", 1, "first", "agent/apply_patch"],
      ["apply", 2, "route", "agent/apply_patch"],
      ["edit", 1, "first", "agent/edit"],
      ["edit", 2, "route", "agent/edit"],
      ["test", 1, "first", "deno/cli"],
      ["test", 2, "route", "deno/cli"],
    ]);
    const edit2 = state.records.find((r) => r.step_id === "edit" && r.attempt === 2)!;
    assertEquals(edit2.inputs.map((i) => i.name).sort(), ["feedback", "work_order"]);
    assertEquals(
      edit2.inputs.find((i) => i.name === "feedback")!.artifact_id,
      state.routes[0].feedback,
    );
    assertEquals(edit2.outputs.map((o) => [o.name, o.artifact_id]), [["patch", patches[1]]]);
    const test2 = state.records.find((r) => r.step_id === "test" && r.attempt === 2)!;
    assertEquals(test2.outputs.map((o) => o.artifact_id), [reports[1]]);
    assertEquals(test2.gate_result_ids.length, 1);

    // apply wrote through a deno process confined to the scope: the broker allowed only
    // src/stats.ts, and in the sandbox it is the only writable path of the workspace.
    const [run0] = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
    const journal = await lilyJson<JournalView>(["journal", run0.run_id], ws);
    const apply = journal.steps.find((s) => s.step === "apply")!;
    const stats = join(ws, "src", "stats.ts");
    for (const attempt of apply.attempts) {
      const writes = attempt.permissions.filter((p) => p.kind === "write");
      assertEquals(writes.map((p) => [p.target, p.decision]), [[stats, "allow"]]);
      const writable = attempt.grant!.mounts
        .filter((m) => m.mode === "writable" && !m.path.startsWith(join(ws, ".iris")))
        .map((m) => m.path);
      assertEquals(writable, attempt.grant!.sandbox === "bubblewrap" ? [stats] : []);
    }
  });
});

interface JournalView {
  steps: {
    step: string;
    attempts: {
      grant: { sandbox: string; mounts: { mode: string; path: string }[] } | null;
      permissions: { kind: string; target: string; decision: string }[];
    }[];
  }[];
}

Deno.test("apply_patch refuses a patch touching a file outside the work order's scope: a policy_violation.v1, nothing written; the in-scope part alone applies", async () => {
  await withTempDir(async (dir) => {
    const mixed = join(dir, "mixed");
    const inScope = join(dir, "in-scope");
    await Deno.mkdir(mixed);
    await Deno.mkdir(inScope);
    await agentWorkspace(mixed, { script: { edit: [STATS_EDIT + TEST_EDIT] } });
    const refused = await start(mixed);
    assertEquals(refused.code, 1, refused.stderr);
    assertMatch(
      refused.stderr,
      /apply#1 failed .*Policy violation: agent\/apply_patch refused to write src\/stats_test\.ts: outside the work order's scope \(src\/stats\.ts\)/,
    );
    const violations = await refs(mixed, "policy_violation.v1");
    assertEquals(violations.length, 1);
    const violation = await payload<Violation>(mixed, violations[0].artifact_id);
    const applyRecord = (await shown(mixed)).records.find((r) => r.step_id === "apply")!;
    assertEquals(applyRecord.policy_violation_ids, [violations[0].artifact_id]);
    assertEquals(
      [violation.step_id, violation.kind, violation.target, violation.decided_by],
      ["apply", "write", join(mixed, "src", "stats_test.ts"), "kernel"],
    );
    assertEquals(await Deno.readTextFile(join(mixed, "src", "stats_test.ts")), TESTS);
    assertEquals(
      await Deno.readTextFile(join(mixed, "src", "stats.ts")),
      ORIGINAL,
      "all or nothing: the in-scope file of a refused patch is not written either",
    );
    // The workflow's route on apply takes the refusal back to edit as its feedback.
    assertStringIncludes(
      await requestText(mixed, "llm.edit.2.1.request"),
      "Step apply attempt 1: failed: Policy violation: agent/apply_patch refused to write " +
        "src/stats_test.ts: outside the work order's scope (src/stats.ts)",
    );

    await agentWorkspace(inScope, { script: { edit: [STATS_EDIT] } });
    const applied = await start(inScope);
    assertMatch(applied.stderr, /apply#1 succeeded .*: applied to src\/stats\.ts/);
    assertEquals(
      await Deno.readTextFile(join(inScope, "src", "stats.ts")),
      `// edited\n${ORIGINAL}`,
    );
    assertEquals((await refs(inScope, "policy_violation.v1")).length, 0);
  });
});

Deno.test("a refused patch and a failed test both go back to edit: refused, wrong, right, green", async () => {
  await withTempDir(async (ws) => {
    await agentWorkspace(ws, { script: { edit: [TEST_EDIT, ...REPLIES.edit] } });
    const run = await start(ws);
    assertEquals(run.code, 0, run.stderr);
    const state = await shown(ws);
    assertEquals(state.routes.map((r) => [r.route, r.goto, r.count]), [
      ["steps.apply.on_fail", "edit", 1],
      ["gates.green.on_fail", "edit", 1],
    ]);
    assertEquals(
      state.run_state.steps.apply.attempts.map((a) => a.status),
      ["failed", "succeeded", "succeeded"],
    );
    assertEquals((await refs(ws, "policy_violation.v1")).length, 1);
    assertEquals(await Deno.readTextFile(join(ws, "src", "stats_test.ts")), TESTS);
    assertEquals(await Deno.readTextFile(join(ws, "src", "stats.ts")), FIXED);
  });
});

const TOUCHING = `name: touched
inputs:
  work_order: { type: work_order.v1 }
steps:
  - id: edit
    uses: agent/edit
    with: { model: m }
  - id: touch
    needs: [edit]
    shell: printf '// changed meanwhile\\n' >> src/stats.ts
  - id: apply
    uses: agent/apply_patch
    needs: [touch]
`;

Deno.test("apply_patch refuses a patch whose file changed since it was made (base sha256), and writes nothing", async () => {
  await withTempDir(async (ws) => {
    await agentWorkspace(ws, { script: { edit: [REPLIES.edit[0]] }, workflow: TOUCHING });
    const run = await start(ws);
    assertEquals(run.code, 1, run.stderr);
    const changed = `${ORIGINAL}// changed meanwhile\n`;
    assertMatch(
      run.stderr,
      new RegExp(
        "apply#1 failed .*agent/apply_patch refused to write src/stats\\.ts is not the file the " +
          `patch was made against \\(sha256 ${sha256Text(ORIGINAL).slice(0, 12)}… expected, ` +
          `${sha256Text(changed).slice(0, 12)}… found\\)`,
      ),
    );
    const [ref] = await refs(ws, "policy_violation.v1");
    const violation = await payload<Violation>(ws, ref.artifact_id);
    assertEquals([violation.kind, violation.target], ["write", join(ws, "src", "stats.ts")]);
    assertEquals(await Deno.readTextFile(join(ws, "src", "stats.ts")), changed);
  });
});

Deno.test("a reply that is not a usable patch fails the edit step, naming what is wrong; nothing is applied", async () => {
  const cases: [string, RegExp][] = [
    [
      "I would sort the values before taking the middle one.",
      /edit#1 failed .*The reply of model "gpt-4o-mini" is not a patch to apply: The reply is not a unified diff \(it starts "I would sort/,
    ],
    [
      STATS_EDIT.replace("The middle value", "The median value"),
      /edit#1 failed .*not a patch to apply: Hunk 1 of src\/stats\.ts \(@@ -1,3\) does not match the file/,
    ],
    [
      "--- a/src/stats.ts\n+++ b/src/stats.ts\n@@ -1,3 +1,3 @@\n x\n",
      /edit#1 failed .*not a patch to apply: The diff cannot be read/,
    ],
    [
      STATS_EDIT.replaceAll("src/stats.ts", ".iris/index.sqlite"),
      /edit#1 failed .*not a patch to apply: The diff changes \.iris\/index\.sqlite, which this step may not read/,
    ],
  ];
  for (const [reply, expected] of cases) {
    await withTempDir(async (ws) => {
      await agentWorkspace(ws, { script: { edit: [reply] } });
      const run = await start(ws);
      assertEquals(run.code, 1, run.stderr);
      assertMatch(run.stderr, expected);
      assertEquals((await refs(ws, "agent/patch.v1")).length, 0);
      const state = await shown(ws);
      assertEquals(state.run_state.steps.apply.attempts.length, 0);
      assertEquals(await Deno.readTextFile(join(ws, "src", "stats.ts")), ORIGINAL);
      assertEquals((await refs(ws, "llm_reply.v1")).length, 1, "the reply is kept");
    });
  }
});

Deno.test("the same workflow against an OpenAI-compatible server on 127.0.0.1: the two patches, one route back, green", async () => {
  const server = startLlmServer([openAiOk(REPLIES.edit[0]), openAiOk(REPLIES.edit[1])]);
  try {
    await withTempDir(async (ws) => {
      await agentWorkspace(ws);
      const run = await start(ws, {
        ...SANDBOX_ENV,
        LILY_LLM: "openai",
        OPENAI_BASE_URL: `${server.url}/v1`,
        OPENAI_API_KEY: "sk-test-agent-key",
      });
      assertEquals(run.code, 0, run.stderr);
      assertEquals((await shown(ws)).routes.length, 1);
      assertEquals(await Deno.readTextFile(join(ws, "src", "stats.ts")), FIXED);
    });
    assertEquals(server.seen.map((r) => r.path), ["/v1/chat/completions", "/v1/chat/completions"]);
    const asked = server.seen.map((r) =>
      (r.body as { messages: { content: string }[] }).messages.map((m) => m.content).join("\n")
    );
    assertStringIncludes(asked[0], "None yet: this is the first attempt.");
    assertStringIncludes(asked[1], "median([10, 2, 9]) should be 9, got 2");
    assertEquals((server.seen[0].body as { model: string }).model, "gpt-4o-mini");
  } finally {
    await server.close();
  }
});

const ASKING = `name: ask
steps:
  - id: ask
    llm:
      model: m
      prompt: "Feedback: [{{inputs.feedback}}]"
      output: answer
    outputs:
      answer: { type: answer.v1, path: answer.txt }
gates:
  - id: yes
    step: ask
    shell: grep -q yes "$LILY_INPUT_ANSWER"
    on_fail: { goto: ask, max: 1 }
`;

Deno.test("an llm step's {{inputs.feedback}} is empty on its first visit and the failed gate's result after a route", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), ASKING);
    await Deno.writeTextFile(join(ws, "replies.json"), JSON.stringify({ ask: ["no", "yes"] }));
    const run = await lily(["run", "start", "flow.yaml"], { workspace: ws, env: FAKE });
    assertEquals(run.code, 0, run.stderr);
    assertEquals(await requestText(ws, "llm.ask.1.1.request"), "Feedback: []");
    const second = await requestText(ws, "llm.ask.2.1.request");
    assertMatch(second, /^Feedback: \[\{.*"gate_id":"yes".*"status":"fail".*\}\]$/);
  });
});

const EDIT_ONLY = `name: edit-only
inputs:
  work_order: { type: work_order.v1 }
steps:
  - id: edit
    uses: agent/edit
    with: { model: m }
`;

Deno.test("agent/edit shows the files as they are: a {{inputs.NAME}} in a file in scope reaches the model verbatim", async () => {
  await withTempDir(async (ws) => {
    await agentWorkspace(ws, { script: { edit: [STATS_EDIT] }, workflow: EDIT_ONLY });
    const text = `${ORIGINAL}// a template: {{inputs.secret}} and {{inputs.work_order}}\n`;
    await Deno.writeTextFile(join(ws, "src", "stats.ts"), text);
    const run = await start(ws);
    assertEquals(run.code, 0, run.stderr);
    assertStringIncludes(await requestText(ws, "llm.edit.1.1.request"), text);
    const [patch] = await refs(ws, "agent/patch.v1");
    const stored = await payload<{ files: { base_sha256: string }[] }>(ws, patch.artifact_id);
    assertEquals(stored.files[0].base_sha256, sha256Text(text));
  });
});

Deno.test("deno task demo runs the loop: one route back, green, the final patch's provenance as Mermaid, each step's policy; the repository is not edited", async () => {
  const before = await Deno.readTextFile(join(EXAMPLE, "project", "src", "stats.ts"));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "demo"],
    cwd: REPO,
    env: { NO_COLOR: "1", ...SANDBOX_ENV },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertMatch(stdout, /\nRun \S+ succeeded\n/);
  assertMatch(stdout, /Routes taken:\n {2}1\. gate green on_fail → edit: after test#1, 1 of max 3/);
  assert(!stdout.includes("  2. gate green"), "exactly one route back");
  assertMatch(stdout, /\$ lily provenance \S+ --format mermaid .*\nflowchart LR\n/);
  assertMatch(stdout, /agent\/patch\.v1 #quot;edit\.patch#quot;/);
  // The feedback the route brought is in the final patch's lineage: the failed
  // gate's result, and the test report it judged.
  assertMatch(stdout, /gate_result\.v1 #quot;green\.test\.1#quot;/);
  assertMatch(stdout, /deno\/test_report\.v1 #quot;test\.report#quot;.*gates: green fail/);
  assertMatch(stdout, /The policy each step ran under/);
  assertMatch(stdout, /\n {2}edit {3}in Lily's process/);
  assertMatch(
    stdout,
    /\n {2}apply {2}.*(writes in the workspace: src\/stats\.ts|allowed in the workspace: src\/stats\.ts)/,
  );
  assertMatch(stdout, /"reasons":\["1 of 3 tests failed: median\(\) of unsorted numbers/);
  assertMatch(stdout, /OK: 1 runs, \d+ artifacts checked, 0 errors/);
  assertEquals(await Deno.readTextFile(join(EXAMPLE, "project", "src", "stats.ts")), before);
  assertEquals(before, ORIGINAL);
});

const NOT_A_PATCH = `name: not-a-patch
inputs:
  work_order: { type: work_order.v1 }
steps:
  - id: apply
    uses: agent/apply_patch
    inputs: { patch: inputs.work_order }
`;

Deno.test("apply_patch given an input that is not an agent/patch.v1 fails naming the field", async () => {
  await withTempDir(async (ws) => {
    await agentWorkspace(ws, { workflow: NOT_A_PATCH });
    const run = await start(ws);
    assertEquals(run.code, 1, run.stderr);
    assertMatch(run.stderr, /apply#1 failed .*The input patch is not an agent\/patch\.v1: diff: /);
    assertEquals(await Deno.readTextFile(join(ws, "src", "stats.ts")), ORIGINAL);
  });
});
