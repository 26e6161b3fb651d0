import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { join } from "node:path";
import { z } from "zod";
import { createKernel, executorKinds, parseWorkflow, UsageError, WorkflowError } from "../mod.ts";
import {
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  type ExecutorCapabilities,
  Registry,
} from "../executors.ts";
import { openContractStore } from "../store.ts";
import { assertCleanError, lily, lilyJson, runEvents, withTempDir } from "./_helpers.ts";

interface EchoSpec {
  readonly kind: string;
  readonly text: string;
  readonly file: string;
}

/** A pack's executor: writes `text` to the output file `file`, and notes whether it had a TMPDIR. */
function echoExecutor(
  kind: string,
  capabilities: Partial<ExecutorCapabilities> = {},
): Executor<EchoSpec> {
  return {
    kind,
    specSchema: z.strictObject({ kind: z.literal(kind), text: z.string(), file: z.string() }),
    capabilities: {
      inProcess: true,
      producerKind: "tool",
      confinement: "none",
      roles: ["step"],
      waitsForPerson: false,
      ...capabilities,
    },
    check: (spec: EchoSpec, owner) =>
      Object.values(owner.outputs).some((o) => o.path === spec.file) ? [] : [{
        code: "unknown_output",
        path: ["run", "file"],
        message: `file "${spec.file}" is not a declared output's path`,
      }],
    async execute(spec: EchoSpec, ctx: ExecutionContext): Promise<ExecutionResult> {
      const scratch = await Deno.stat(ctx.scratchDir).then(() => true, () => false);
      await Deno.writeTextFile(join(ctx.outputDir, spec.file), `${spec.text} scratch=${scratch}`);
      return { status: "succeeded", exitCode: null, summary: { executor: kind } };
    },
  };
}

const ECHO_FLOW = (kind: string) =>
  [
    "name: echo",
    "steps:",
    "  - id: say",
    `    run: { kind: ${kind}, text: hello, file: said.txt }`,
    "    outputs:",
    "      said: { type: said.v1, path: said.txt }",
    "",
  ].join("\n");

Deno.test("a pack's executor kind runs from run: { kind, … }, with its own capabilities", async () => {
  await withTempDir(async (ws) => {
    for (
      const [kind, capabilities, producer, scratch] of [
        ["acme/echo", {}, "tool", false],
        ["acme/ask", { inProcess: false, producerKind: "llm" as const }, "llm", true],
      ] as const
    ) {
      const executor = echoExecutor(kind, capabilities);
      const kinds = executorKinds([executor], { origin: "acme" });
      const graph = parseWorkflow(ECHO_FLOW(kind), "echo.yaml", { kinds });
      assertEquals(graph.steps[0].executor, { kind, text: "hello", file: "said.txt" });
      const store = await openContractStore(ws);
      try {
        const kernel = createKernel({ workspace: ws, store, executors: { [kind]: executor } });
        const { state } = await kernel.runs.start(graph, { jobs: 1 });
        assertEquals(state.status, "succeeded", state.reason ?? "");
        const ref = await store.artifacts.ref(state.steps.say.outputs.said);
        assertEquals(ref.producer_kind, producer);
        const { bytes } = await store.artifacts.readBytes(ref);
        assertEquals(new TextDecoder().decode(bytes), `hello scratch=${scratch}`);
      } finally {
        store.close();
      }
    }
  });
});

Deno.test("run: names an unknown kind, a kind's schema problems and its check's, with their paths", () => {
  const kinds = executorKinds([echoExecutor("acme/echo")], { origin: "acme" });
  const problems = (text: string, options = { kinds }) => {
    const error = assertThrowsWorkflow(() => parseWorkflow(text, "flow.yaml", options));
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  };
  assertEquals(problems(ECHO_FLOW("acme/echo"), { kinds: executorKinds() }), [
    '$.steps[0].run.kind: unknown executor kind "acme/echo"; registered: command, deno, fn, llm, human',
  ]);
  const missing = problems(ECHO_FLOW("acme/echo").replace(", file: said.txt", ""));
  assertEquals(missing.length, 1);
  assertMatch(missing[0], /^\$\.steps\[0\]\.run\.file: /);
  assertEquals(problems(ECHO_FLOW("acme/echo").replace("file: said.txt", "file: other.txt")), [
    '$.steps[0].run.file: file "other.txt" is not a declared output\'s path',
  ]);
  const gate = [
    "name: g",
    "steps:",
    "  - { id: a, shell: 'true' }",
    "gates:",
    "  - { id: g, step: a, run: { kind: acme/echo, text: x, file: y } }",
    "",
  ].join("\n");
  assertEquals(problems(gate), [
    '$.gates[0].run.kind: executor kind "acme/echo" cannot run a gate; it runs steps only',
  ]);
});

function assertThrowsWorkflow(fn: () => unknown): WorkflowError {
  try {
    fn();
  } catch (err) {
    assert(err instanceof WorkflowError, String(err));
    return err;
  }
  throw new Error("expected a WorkflowError");
}

Deno.test("registering a kind twice is refused naming both origins", () => {
  assertThrows(
    () => executorKinds([echoExecutor("command")], { origin: "acme" }),
    (err: unknown) =>
      err instanceof UsageError &&
      err.message ===
        "Cannot register executor kind command from origin acme: it is already registered " +
          "from origin kernel",
  );
  const registry = new Registry<number>({ what: "route", collisionHint: () => "rename it" });
  registry.register("retry", 1, { origin: "acme" });
  assertThrows(
    () => registry.register("retry", 2, { origin: "other" }),
    /Cannot register route retry from origin other: it is already registered from origin acme; rename it/,
  );
  assertEquals(registry.entry("retry"), { id: "retry", origin: "acme", value: 1 });
  assertThrows(() => registry.require("nope"), /Unknown route "nope"; known: "retry"/);
});

Deno.test("a gate kind that waits for a person pauses the run, whatever its name", async () => {
  await withTempDir(async (ws) => {
    const ask: Executor<{ readonly kind: string; readonly prompt: string }> = {
      kind: "acme/ask-a-person",
      specSchema: z.strictObject({ kind: z.literal("acme/ask-a-person"), prompt: z.string() }),
      capabilities: {
        inProcess: true,
        producerKind: "human",
        confinement: "none",
        roles: ["gate"],
        waitsForPerson: true,
      },
      execute: () => Promise.reject(new Error("a person decides; never run")),
    };
    const kinds = executorKinds([ask], { origin: "acme" });
    const graph = parseWorkflow(
      [
        "name: wait",
        "steps:",
        "  - { id: a, fn: noop }",
        "gates:",
        "  - { id: ok, step: a, run: { kind: acme/ask-a-person, prompt: Ship it? } }",
        "",
      ].join("\n"),
      "wait.yaml",
      { kinds },
    );
    const store = await openContractStore(ws);
    try {
      const kernel = createKernel({
        workspace: ws,
        store,
        functions: { noop: () => {} },
        executors: { [ask.kind]: ask },
      });
      const { runId, state } = await kernel.runs.start(graph);
      assertEquals(state.status, "waiting");
      const waiting = (await runEvents(ws, runId)).find((e) => e.type === "gate_waiting");
      assertEquals([waiting?.gate_id, waiting?.prompt], ["ok", "Ship it?"]);
    } finally {
      store.close();
    }
  });
});

Deno.test("built-in kinds can be written as run: { kind, … } too, in files the CLI runs", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: run-form",
        "steps:",
        "  - id: a",
        '    run: { kind: command, argv: [sh, -c, "echo ran > ran.txt"] }',
        "gates:",
        "  - { id: ok, step: a, run: { kind: command, argv: [test, -s, ran.txt] } }",
        "",
      ].join("\n"),
    );
    const plan = await lilyJson<{ steps: { runs: string; gates: { runs: string }[] }[] }>(
      ["check", "flow.yaml"],
      ws,
    );
    assertEquals(plan.steps[0].runs, "shell: echo ran > ran.txt");
    assertEquals(plan.steps[0].gates[0].runs, "command: test -s ran.txt");
    const run = await lilyJson<{ status: string }>(["run", "start", "flow.yaml"], ws);
    assertEquals(run.status, "succeeded");
    assertEquals(await Deno.readTextFile(join(ws, "ran.txt")), "ran\n");

    await Deno.writeTextFile(
      join(ws, "bad.yaml"),
      "name: bad\nsteps:\n  - { id: a, run: { kind: acme/docker, image: alpine } }\n",
    );
    const bad = await lily(["check", "bad.yaml"], { workspace: ws });
    assertCleanError(
      bad,
      2,
      /bad\.yaml:3 steps\.a\.run\.kind: unknown executor kind "acme\/docker"/,
    );
  });
});

Deno.test("a workflow file the kernel reads may name the kinds of the executors it was given", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "echo.yaml"), ECHO_FLOW("acme/echo"));
    const store = await openContractStore(ws);
    try {
      const echo = echoExecutor("acme/echo");
      const kernel = createKernel({ workspace: ws, store, executors: { "acme/echo": echo } });
      const { state } = await kernel.runs.start({ file: join(ws, "echo.yaml") });
      assertEquals(state.status, "succeeded", state.reason ?? "");
      const plain = createKernel({ workspace: ws, store });
      const refused = await plain.runs.start({ file: join(ws, "echo.yaml") }).then(
        () => undefined,
        (err) => err,
      );
      assert(refused instanceof WorkflowError, String(refused));
      assertMatch(refused.message, /unknown executor kind "acme\/echo"/);
    } finally {
      store.close();
    }
  });
});
