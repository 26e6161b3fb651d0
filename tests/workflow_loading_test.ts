import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { createKernel, defineWorkflow, parseWorkflow } from "../mod.ts";
import { openContractStore } from "../store.ts";
import { MAX_TIMER_MS, sleep, startTimer } from "../src/core/delay.ts";
import { retryDelayMs } from "../src/graph/retry_delay.ts";
import { errorLines, withTempDir } from "./_helpers.ts";

const STEP = "name: x\nsteps:\n  - id: a\n    shell: sleep 1\n";

Deno.test("a timer longer than 2^31-1 ms does not fire early, and sleep ends on abort", async () => {
  let fired = false;
  const timer = startTimer(() => fired = true, MAX_TIMER_MS + 1000);
  await sleep(50);
  timer.clear();
  assertEquals(fired, false);
  let short = false;
  startTimer(() => short = true, 5);
  await sleep(30);
  assertEquals(short, true);
  const controller = new AbortController();
  const started = performance.now();
  const waiting = sleep(597 * 3_600_000, controller.signal);
  controller.abort();
  await waiting;
  assert(performance.now() - started < 1000);
});

Deno.test("an in-process step with a 597h timeout is not timed out at once", async () => {
  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    try {
      const graph = defineWorkflow({
        name: "long",
        steps: [{
          id: "wait",
          timeout: "597h",
          fn: async () => {
            await sleep(50);
          },
        }],
      });
      const { state } = await createKernel({ workspace: ws, store }).runs.start(graph);
      assertEquals(state.status, "succeeded");
    } finally {
      store.close();
    }
  });
});

Deno.test("durations beyond 8760h, non-finite numbers and bad factors are rejected at load with the range", () => {
  const range = /expected a duration of whole milliseconds from 1ms to 8760h \(365 days\)/;
  const [timeout] = errorLines(`${STEP}    timeout: 8761h\n`);
  assertMatch(timeout, /^flow\.yaml:5 steps\.a\.timeout: /);
  assertMatch(timeout, range);
  assertMatch(errorLines(`${STEP}    timeout: .inf\n`)[0], range);
  assertMatch(errorLines(`${STEP}    timeout: 0.2\n`)[0], range);
  const retry = errorLines(
    `${STEP}    retry: { max_attempts: 3, backoff: 99999h, backoff_factor: .inf, max_backoff: 0s }\n`,
  );
  assertEquals(retry.length, 3);
  assertMatch(
    retry[0],
    /^flow\.yaml:5 steps\.a\.retry\.backoff: expected a duration of whole milliseconds from 1ms/,
  );
  assertMatch(
    retry[1],
    /^flow\.yaml:5 steps\.a\.retry\.backoff_factor: expected a number from 1 to 10$/,
  );
  assertMatch(retry[2], /^flow\.yaml:5 steps\.a\.retry\.max_backoff: expected a duration/);
  const gate = errorLines(
    `${STEP}gates:\n  - id: g\n    step: a\n    shell: "true"\n    timeout: 10000000000000\n`,
  );
  assertMatch(
    gate[0],
    /^flow\.yaml:9 gates\.g\.timeout: expected a duration of whole milliseconds from 1ms/,
  );
  assertEquals(parseWorkflow(`${STEP}    timeout: 8760h\n`).steps[0].timeoutMs, 8760 * 3_600_000);
});

Deno.test("a duration must be whole milliseconds: 0.5ms, 1.0005s and 1.5 are refused, not rounded", () => {
  const range = /expected a duration of whole milliseconds from 1ms/;
  for (const bad of ["0.5ms", "1.0005s", "1.5", "1.9ms"]) {
    assertMatch(errorLines(`${STEP}    timeout: ${bad}\n`)[0], range, bad);
  }
  const ok = ["1ms", "1.5s", "1.001s", "0.5s", "2.5m", "0.001s", "1000"];
  assertEquals(
    ok.map((good) => parseWorkflow(`${STEP}    timeout: ${good}\n`).steps[0].timeoutMs),
    [1, 1500, 1001, 500, 150_000, 1, 1000],
  );
});

Deno.test("retry backoff grows by its factor up to max_backoff (1h by default)", async () => {
  const graph = parseWorkflow(
    `${STEP}    retry: { max_attempts: 100, backoff: 1s, backoff_factor: 10, max_backoff: 1m }\n`,
  );
  const retry = graph.steps[0].retry;
  assertEquals([1, 2, 3, 99].map((n) => retryDelayMs(retry, n)), [1000, 10_000, 60_000, 60_000]);
  const byDefault = parseWorkflow(`${STEP}    retry: { max_attempts: 100, backoff: 1s }\n`);
  assertEquals(byDefault.steps[0].retry.maxBackoffMs, 3_600_000);
  assertEquals(retryDelayMs(byDefault.steps[0].retry, 99), 3_600_000);
  const longBackoff = parseWorkflow(`${STEP}    retry: { max_attempts: 3, backoff: 2h }\n`);
  assertEquals(longBackoff.steps[0].retry.maxBackoffMs, 7_200_000);
  assertEquals(
    errorLines(`${STEP}    retry: { max_attempts: 3, backoff: 2h, max_backoff: 1h }\n`),
    [
      "flow.yaml:5 steps.a.retry.backoff: backoff (2h) is longer than max_backoff (1h); " +
      "expected backoff at most max_backoff",
    ],
  );

  await withTempDir(async (ws) => {
    const store = await openContractStore(ws);
    try {
      let calls = 0;
      const capped = defineWorkflow({
        name: "capped",
        steps: [{
          id: "flaky",
          retry: { max_attempts: 4, backoff: "50ms", backoff_factor: 10, max_backoff: "100ms" },
          fn: () => {
            if (++calls < 4) throw new Error("not yet");
          },
        }],
      });
      const started = performance.now();
      const { state } = await createKernel({ workspace: ws, store }).runs.start(capped);
      assertEquals(state.status, "succeeded");
      assertEquals(calls, 4);
      // Uncapped the waits would be 50 + 500 + 5000 ms; capped 50 + 100 + 100.
      assert(performance.now() - started < 3000, "the backoff was not capped");
    } finally {
      store.close();
    }
  });
});

Deno.test("names derived from ids that collide are rejected at load, naming both", () => {
  const lines = errorLines(
    [
      "name: x",
      "inputs:",
      "  data-set: { type: a.v1 }",
      "  data_set: { type: a.v1 }",
      "steps:",
      "  - id: a",
      "    shell: env",
      "    inputs: { data-set: inputs.data-set, data_set: inputs.data_set, dir: inputs.data-set }",
      "    outputs:",
      "      report: { type: r.v1, path: Report.json }",
      "      summary: { type: r.v1, path: report.json }",
      "      my-out: { type: r.v1, path: one.txt }",
      "      my_out: { type: r.v1, path: two.txt }",
      "    env: { LILY_RUN_ID: mine, TMPDIR: /x }",
      "    env_pass: [LILY_TOKEN]",
      "  - id: A",
      '    shell: "true"',
      "gates:",
      "  - id: g",
      "    step: a",
      '    shell: "true"',
      "  - id: G",
      "    step: a",
      '    shell: "true"',
      "    inputs: { input-dir: inputs.data-set, input_dir: inputs.data_set }",
      "    env: { LILY_GATE_ID: x }",
    ].join("\n"),
  );
  assertEquals(lines, [
    'flow.yaml:8 steps.a.inputs.data_set: inputs "data-set" and "data_set" of step a both ' +
    "become LILY_INPUT_DATA_SET; rename one",
    'flow.yaml:8 steps.a.inputs.dir: input "dir" of step a becomes LILY_INPUT_DIR, which Lily ' +
    "sets itself; rename it",
    'flow.yaml:11 steps.a.outputs.summary.path: outputs "report" and "summary" of step a name ' +
    'the same file "report.json" (compared ignoring case); give each its own path',
    "flow.yaml:14 steps.a.env.LILY_RUN_ID: LILY_RUN_ID is reserved: Lily sets TMPDIR and the " +
    "names starting with LILY_ itself; choose another name",
    "flow.yaml:14 steps.a.env.TMPDIR: TMPDIR is reserved: Lily sets TMPDIR and the names " +
    "starting with LILY_ itself; choose another name",
    "flow.yaml:15 steps.a.env_pass[0]: LILY_TOKEN is reserved: Lily sets TMPDIR and the names " +
    "starting with LILY_ itself; choose another name",
    'flow.yaml:16 steps.A.id: step id "A" differs from step id "a" only in case; their attempt ' +
    "dirs and log files would be the same on a case-insensitive file system",
    'flow.yaml:19 gates.g: inputs "my-out" and "my_out" of gate g (the outputs of step a) both ' +
    "become LILY_INPUT_MY_OUT; rename one",
    'flow.yaml:22 gates.G.id: gate id "G" differs from gate id "g" only in case; their attempt ' +
    "dirs and log files would be the same on a case-insensitive file system",
    'flow.yaml:25 gates.G.inputs.input_dir: inputs "input-dir" and "input_dir" of gate G both ' +
    "become LILY_INPUT_INPUT_DIR; rename one",
    "flow.yaml:26 gates.G.env.LILY_GATE_ID: LILY_GATE_ID is reserved: Lily sets TMPDIR and the " +
    "names starting with LILY_ itself; choose another name",
  ]);
});

Deno.test("YAML merge keys and top-level x-* fields hold anchors; other unknown keys stay errors", () => {
  const base = [
    "name: merged",
    "x-defaults: &defaults",
    "  timeout: 30s",
    "  retry: { max_attempts: 2 }",
    "  env: { MODE: ci }",
    "x-other: [1, 2]",
    "steps:",
    "  - <<: *defaults",
    "    id: a",
    '    shell: "true"',
    "  - <<: [*defaults]",
    "    id: b",
    "    timeout: 1m",
    '    shell: "true"',
  ].join("\n");
  const graph = parseWorkflow(base);
  assertEquals(graph.steps.map((s) => [s.id, s.timeoutMs, s.retry.maxAttempts, s.env.MODE]), [
    ["a", 30_000, 2, "ci"],
    ["b", 60_000, 2, "ci"],
  ]);
  assertEquals(errorLines(`${base}\nz-other: 1\n`), [
    "flow.yaml:15 z-other: unknown key; expected one of name, description, inputs, policy, cache, steps, gates, max_transitions (keys starting with x- are ignored)",
  ]);
  assertEquals(errorLines(`${base}\n    x-nested: 1\n`), [
    "flow.yaml:15 steps.b.x-nested: unknown key; expected one of id, description, command, shell, deno, fn, cwd, timeout, env, inputs, policy, run, uses, with, llm, needs, outputs, retry, on_fail, env_pass, cache",
  ]);
  // A bad value that comes from an anchor is reported on the anchor's line.
  assertEquals(
    errorLines(base.replace("timeout: 30s", "timeout: 30x").replace("timeout: 1m", "")),
    [
      "flow.yaml:3 steps.a.timeout: expected a duration of whole milliseconds from 1ms to 8760h (365 days) such as " +
      "500ms, 30s, 1.5s, 5m or 1h, or a number of milliseconds",
      "flow.yaml:3 steps.b.timeout: expected a duration of whole milliseconds from 1ms to 8760h (365 days) such as " +
      "500ms, 30s, 1.5s, 5m or 1h, or a number of milliseconds",
    ],
  );
});

Deno.test("a .json workflow is parsed as JSON: a trailing comma is an error with its line", () => {
  const text = '{\n  "name": "j",\n  "steps": [\n    {"id": "a", "shell": "true"},\n  ]\n}\n';
  assertEquals(errorLines(text, "flow.json"), [
    'flow.json:5 (root): invalid JSON: a trailing comma before "]" is not allowed in JSON',
  ]);
  assertEquals(errorLines("{\n  // a comment\n}", "flow.JSON"), [
    'flow.JSON:2 (root): invalid JSON: expected a double-quoted property name, found "/"',
  ]);
  assertEquals(parseWorkflow(text, "flow.yaml").steps[0].id, "a");
  // A "<<" key in JSON is just an unknown key, not a merge.
  assertMatch(
    errorLines('{"name": "j", "<<": {}, "steps": [{"id": "a", "shell": "true"}]}', "f.json")[0],
    /^f\.json:1 <<: unknown key; expected one of name,/,
  );
});

Deno.test("every workflow error is one line per problem, even when a parser writes several", () => {
  const lines = errorLines("name: x\nsteps:\n  - id: a\n    shell: 'unclosed\n");
  assert(lines.length >= 1);
  for (const line of lines) assertMatch(line, /^flow\.yaml:\d+ \(root\): \S/);
});

Deno.test("defineWorkflow checks derived names and durations too", () => {
  assertThrows(
    () => defineWorkflow({ name: "x", steps: [{ id: "a", fn: () => {}, timeout: "9000h" }] }),
    Error,
    "workflow steps.a.timeout: expected a duration of whole milliseconds from 1ms to 8760h",
  );
  assertThrows(
    () =>
      defineWorkflow({ name: "x", steps: [{ id: "a", fn: () => {}, env: { LILY_STEP_ID: "b" } }] }),
    Error,
    "workflow steps.a.env.LILY_STEP_ID: LILY_STEP_ID is reserved",
  );
});

Deno.test("YAML problems the library finds only while converting are reported with their line, in Lily's words", () => {
  const step = "steps:\n  - id: s\n    shell: echo\n";
  assertEquals(errorLines(`name: a\nsteps:\n  - id: s\n    <<: *nope\n    shell: echo\n`), [
    "flow.yaml:4 (root): alias *nope names no anchor; define &nope above it",
  ]);
  assertEquals(errorLines(`name: a\n${step}    timeout: *nope\n`), [
    "flow.yaml:5 (root): alias *nope names no anchor; define &nope above it",
  ]);
  assertEquals(
    errorLines(`name: a\nx-s: &s echo\nsteps:\n  - <<: *s\n    id: s\n    shell: echo\n`),
    [
      "flow.yaml:4 (root): a << merge takes a mapping, or an alias of one (or a list of them)",
    ],
  );
  assertEquals(errorLines(`name: a\n${step}---\nname: b\n`), [
    "flow.yaml:5 (root): a workflow file holds one YAML document, and a second one starts here; " +
    "remove the `---` line and what follows, or split the file",
  ]);
  const ten = (name: string) => Array(10).fill(`*${name}`).join(", ");
  const bomb = `name: a\nx-a: &a [x, x, x, x, x, x, x, x, x, x]\nx-b: &b [${ten("a")}]\n` +
    `x-c: &c [${ten("b")}]\nx-d: &d [${ten("c")}]\n${step}`;
  assertMatch(errorLines(bomb)[0], /^flow\.yaml \(root\): aliases expand to too many nodes/);
});

Deno.test("an unknown key that came through a merge names the anchor's line, and says which keys exist", () => {
  const text = "name: a\nx-base: &b\n  shell: echo\n  bogus: 1\nsteps:\n  - id: s\n    <<: *b\n";
  assertEquals(errorLines(text), [
    "flow.yaml:4 steps.s.bogus: unknown key; expected one of id, description, command, shell, " +
    "deno, fn, cwd, timeout, env, inputs, policy, run, uses, with, llm, needs, outputs, retry, on_fail, env_pass, cache",
  ]);
});

Deno.test("schema messages say what a valid value is, not the validation library's terms", () => {
  const text = [
    "name: 5",
    "inputs:",
    '  "9x": { type: a.v1 }',
    "  y: { type: a.v1, required: maybe }",
    "steps:",
    "  - id: s",
    "    shell: echo",
    "    retry: { max_attempts: 1000 }",
    "    outputs: { o: { type: a.v1, path: o.txt, kind: blob } }",
    "    needs: build",
    '    inputs: { "bad name": inputs.y }',
    "  - id: u",
    "    command: []",
  ].join("\n");
  const NAME = "expected a letter, then letters, digits, _ or - (at most 64)";
  assertEquals(errorLines(text), [
    "flow.yaml:1 name: expected a string, got a number",
    `flow.yaml:3 inputs.9x: "9x" is not a valid name: ${NAME}`,
    "flow.yaml:4 inputs.y.required: expected true or false, got a string",
    "flow.yaml:8 steps.s.retry.max_attempts: expected at most 100",
    'flow.yaml:9 steps.s.outputs.o.kind: expected one of "json", "text", "file"',
    "flow.yaml:10 steps.s.needs: expected a list, got a string",
    `flow.yaml:11 steps.s.inputs.bad name: "bad name" is not a valid name: ${NAME}`,
    "flow.yaml:13 steps.u.command: expected at least 1 item",
  ]);
});
