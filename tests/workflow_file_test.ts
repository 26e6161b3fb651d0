import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { join } from "node:path";
import { defineWorkflow, parseWorkflow } from "../mod.ts";
import { Scheduler } from "../src/graph/scheduler.ts";
import { workflowJsonSchema } from "../src/graph/workflow_definition.ts";
import { errorLines, fingerprint, lily, REPO, withTempDir } from "./_helpers.ts";

Deno.test("schema errors come first; then every invalid reference, duplicate and cycle, with file, line and path", async () => {
  const text = await Deno.readTextFile(join(REPO, "tests/testdata/workflows/invalid.yaml"));
  assertEquals(errorLines(text, "invalid.yaml"), [
    "invalid.yaml:24 steps.c.timeout: expected a duration of whole milliseconds from 1ms to 8760h (365 days) such as 500ms, 30s, 1.5s, 5m or 1h, or a number of milliseconds",
  ]);
  const fixed = text.replace("timeout: 10x", "timeout: 10s");
  assertEquals(errorLines(fixed, "invalid.yaml"), [
    'invalid.yaml:10 steps.test.needs[0]: unknown step "biuld" (did you mean "build"?)',
    'invalid.yaml:13 steps.test.inputs.b: step "build" declares no output "bni" (did you mean "bin"?)',
    'invalid.yaml:14 steps.test.inputs.w: unknown run input "wx" (did you mean "wo"?)',
    "invalid.yaml:16 steps.a.needs: steps form a cycle: a → b → c → a",
    'invalid.yaml:25 steps.build.id: duplicate step id "build" (first declared as steps[0])',
    'invalid.yaml:29 gates.g.step: unknown step "tset" (did you mean "test"?)',
  ]);
});

Deno.test("schema problems name the line and the field", () => {
  assertEquals(
    errorLines("name: x\nsteps:\n  - id: a\n    comand: [echo]\n"),
    [
      "flow.yaml:3 steps.a: expected one of command, shell, deno, fn, llm",
      'flow.yaml:4 steps.a.comand: unknown key (did you mean "command"?); ' +
      "expected one of id, description, command, shell, deno, fn, cwd, timeout, env, inputs, policy, run, uses, with, llm, needs, outputs, retry, on_fail, env_pass, cache",
    ],
  );
  assertEquals(errorLines("name: x\nsteps: []\n"), [
    "flow.yaml:2 steps: expected at least one step",
  ]);
  assertMatch(
    errorLines("name: x\nsteps:\n  - id: a\n    command: [echo]\n    shell: echo\n")[0],
    /^flow\.yaml:3 steps\.a: expected only one of .*got command and shell$/,
  );
  assertMatch(
    errorLines(
      "name: x\nsteps:\n  - id: a\n    command: [echo]\n    retry: { max_attempts: 0 }\n",
    )[0],
    /^flow\.yaml:5 steps\.a\.retry\.max_attempts: /,
  );
  assertMatch(
    errorLines('name: x\nsteps:\n  - id: a\n    shell: "true"\n    inputs: { i: "bogus" }\n')[0],
    /^flow\.yaml:5 steps\.a\.inputs\.i: invalid input reference "bogus"/,
  );
});

Deno.test("YAML syntax errors and duplicate keys name their line", () => {
  assertMatch(errorLines("name: x\nsteps:\n  - id: [unclosed\n")[0], /^flow\.yaml:\d+ \(root\): /);
  assertMatch(
    errorLines("name: x\nname: y\nsteps:\n  - id: a\n    shell: echo\n")[0],
    /^flow\.yaml:2 \(root\): .*[Uu]nique/,
  );
});

Deno.test("JSON workflow files are read the same way, with lines", () => {
  const json = JSON.stringify(
    { name: "j", steps: [{ id: "a", shell: "true" }, { id: "b", needs: ["x"], shell: "true" }] },
    null,
    2,
  );
  const [line] = errorLines(json, "flow.json");
  assertMatch(line, /^flow\.json:\d+ steps\.b\.needs\[0\]: unknown step "x"$/);
  assert(Number(line.split(":")[1].split(" ")[0]) > 5);
});

Deno.test("the TS API and a YAML file produce the same workflow model", () => {
  const yaml = parseWorkflow(
    [
      "name: same",
      "inputs:",
      "  wo: { type: work_order.v1 }",
      "steps:",
      "  - id: build",
      "    command: [deno, task, build]",
      "    inputs: { wo: inputs.wo }",
      "    outputs: { bin: { type: bin.v1, path: bin.tar } }",
      "    retry: { max_attempts: 3, backoff: 1s }",
      "    timeout: 2m",
      "  - id: test",
      "    needs: [build]",
      "    shell: deno test",
      "gates:",
      "  - id: lint",
      "    step: build",
      "    command: [deno, lint]",
      "    required: false",
    ].join("\n"),
  );
  const api = defineWorkflow({
    name: "same",
    inputs: { wo: { type: "work_order.v1" } },
    steps: [
      {
        id: "build",
        command: ["deno", "task", "build"],
        inputs: { wo: "inputs.wo" },
        outputs: { bin: { type: "bin.v1", path: "bin.tar" } },
        retry: { max_attempts: 3, backoff: "1s" },
        timeout: "2m",
      },
      { id: "test", needs: ["build"], shell: "deno test" },
    ],
    gates: [{ id: "lint", step: "build", command: ["deno", "lint"], required: false }],
  });
  assertEquals(api.workflow, yaml.workflow);
  assertEquals(api.upstream, yaml.upstream);
  assertEquals(yaml.steps[0].retry, {
    maxAttempts: 3,
    backoffMs: 1000,
    backoffFactor: 2,
    maxBackoffMs: 3_600_000,
    on: ["failure", "timeout"],
    jitter: false,
    exitCodes: [],
  });
  assertEquals(yaml.steps[0].outputs.bin.kind, "file");
});

Deno.test("defineWorkflow rejects bad definitions with paths", () => {
  assertThrows(
    () => defineWorkflow({ name: "x", steps: [{ id: "a", fn: () => {}, needs: ["a"] }] }),
    /workflow steps\.a\.needs\[0\]: a step cannot need itself/,
  );
});

Deno.test("the scheduler releases steps in declaration order once their needs succeed", () => {
  const graph = defineWorkflow({
    name: "order",
    steps: [
      { id: "a", shell: "true" },
      { id: "d", shell: "true", needs: ["b", "c"] },
      { id: "c", shell: "true", needs: ["a"] },
      { id: "b", shell: "true", needs: ["a"] },
      { id: "e", shell: "true" },
    ],
  });
  const scheduler = new Scheduler(graph);
  assertEquals(scheduler.take(10), ["a", "e"]);
  assertEquals(scheduler.succeeded("a"), ["c", "b"]);
  assertEquals(scheduler.take(1), ["c"]);
  assertEquals(scheduler.succeeded("c"), []);
  assertEquals(scheduler.take(5), ["b"]);
  assertEquals(scheduler.succeeded("b"), ["d"]);
  const resumed = new Scheduler(graph, new Set(["a", "b"]));
  assertEquals(resumed.take(10), ["c", "e"]);
});

Deno.test("cycle detection and scheduling handle a 10,000-step chain without recursion limits", () => {
  const steps = Array.from({ length: 10_000 }, (_, i) => ({
    id: `s${i}`,
    shell: "true",
    needs: i === 0 ? ["s9999"] : [`s${i - 1}`],
  }));
  assertThrows(
    () => defineWorkflow({ name: "ring", steps }),
    /steps form a cycle: s0 → s9999 → s9998/,
  );
  steps[0].needs = [];
  const scheduler = new Scheduler(defineWorkflow({ name: "chain", steps }));
  let done = 0;
  for (let ready = scheduler.take(1); ready.length > 0; ready = scheduler.take(1)) {
    scheduler.succeeded(ready[0]);
    done++;
  }
  assertEquals(done, 10_000);
});

Deno.test("lily run start rejects an invalid workflow with exit 2 and creates nothing", async () => {
  await withTempDir(async (ws) => {
    await lily(["run", "new"], { workspace: ws });
    const before = await fingerprint(join(ws, ".iris"));
    const text = await Deno.readTextFile(join(REPO, "tests/testdata/workflows/invalid.yaml"));
    await Deno.writeTextFile(join(ws, "flow.yaml"), text.replace("10x", "10s"));
    const result = await lily(["run", "start", "flow.yaml"], { workspace: ws });
    assertEquals(result.code, 2);
    const lines = result.stderr.trim().split("\n");
    assertEquals(lines.length, 6);
    assertEquals(
      lines[0],
      'lily: flow.yaml:10 steps.test.needs[0]: unknown step "biuld" (did you mean "build"?)',
    );
    assert(lines.every((l) => l.startsWith("lily: flow.yaml:")));
    assertEquals(result.stderr.includes("    at "), false);
    const missing = await lily(["run", "start", "nope.yaml"], { workspace: ws });
    assertEquals(missing.code, 1);
    assertMatch(missing.stderr, /Workflow file nope\.yaml does not exist/);
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test("docs/workflow.schema.json is the exported workflow JSON Schema", async () => {
  const onDisk = JSON.parse(await Deno.readTextFile(join(REPO, "docs/workflow.schema.json")));
  assertEquals(onDisk, workflowJsonSchema());
  const shown = await lily(["schema", "show", "workflow"]);
  assertEquals(JSON.parse(shown.stdout), workflowJsonSchema());
});
