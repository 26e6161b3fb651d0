/**
 * Templates in workflows: `uses:` with `with:` on steps and gates, route
 * templates in `on_fail`, parameters validated with the file's lines, and
 * the merge of what is written beside `uses`.
 */

import { assertEquals } from "./_assert.ts";
import { z } from "zod";
import { defineWorkflow, parseWorkflow, type WorkflowError } from "../mod.ts";
import { gateTemplate, routeTemplate, stepTemplate, workflowTemplates } from "../pack.ts";

function templates() {
  const t = workflowTemplates(new Map([["gone", "cannot import npm:gone: not found"]]));
  t.steps.register(
    "acme/echo",
    stepTemplate({
      description: "echoes a word into an output",
      params: z.strictObject({
        word: z.string().min(1),
        times: z.number().int().min(1).max(3).default(1),
        env: z.record(z.string(), z.string()).default({}),
      }),
      expand: (p) => ({
        shell: `echo ${p.word.repeat(p.times)} > "$LILY_OUTPUT_DIR/word.txt"`,
        outputs: { word: { type: "word.v1", path: "word.txt" } },
        env: { FROM: "template", ...p.env },
        policy: { write: [], net: [] },
        needs: [],
      }),
    }),
    { origin: "acme" },
  );
  t.steps.register(
    "acme/bad",
    stepTemplate({
      description: "expands into a broken step",
      params: z.strictObject({}),
      expand: () => ({ shell: "true", outputs: { o: { type: "no type!", path: "o.txt" } } }),
    }),
    { origin: "acme" },
  );
  t.gates.register(
    "acme/exists",
    gateTemplate({
      description: "checks an input exists",
      params: z.strictObject({ input: z.string() }),
      expand: (p) => ({ shell: `test -e "$LILY_INPUT_${p.input.toUpperCase()}"` }),
    }),
    { origin: "acme" },
  );
  t.routes.register(
    "acme/again",
    routeTemplate({
      description: "goes back to a step, at most n times",
      params: z.strictObject({ step: z.string(), n: z.number().int().min(1).default(2) }),
      expand: (p) => ({ goto: p.step, max: p.n }),
    }),
    { origin: "acme" },
  );
  return t;
}

/** The error `fn` throws; fails when it throws none. */
function thrown(fn: () => unknown): WorkflowError {
  try {
    fn();
  } catch (err) {
    return err as WorkflowError;
  }
  throw new Error("expected an error");
}

function errors(text: string): string[] {
  return thrown(() => parseWorkflow(text, "flow.yaml", { templates: templates() })).message
    .split("\n");
}

Deno.test("with: is validated against the template's parameter schema, each problem at its line", () => {
  assertEquals(
    errors(
      [
        "name: t",
        "steps:",
        "  - id: a",
        "    uses: acme/echo",
        "    with:",
        "      word: 3",
        "      times: 9",
        "      colour: red",
        "gates:",
        "  - id: g",
        "    step: a",
        "    uses: acme/exists",
        "    with: {}",
        "",
      ].join("\n"),
    ),
    [
      "flow.yaml:6 steps.a.with.word: acme/echo: Invalid input: expected string, received number",
      "flow.yaml:7 steps.a.with.times: acme/echo: Too big: expected number to be <=3",
      "flow.yaml:8 steps.a.with.colour: acme/echo: unknown parameter; expected one of word, times, env",
      "flow.yaml:13 gates.g.with.input: acme/exists: Invalid input: expected string, received undefined",
    ],
  );
});

Deno.test("an unknown template, a failed pack's template, a runner beside uses, and a bad expansion are refused at their lines", () => {
  assertEquals(
    errors(
      [
        "name: t",
        "steps:",
        "  - id: a",
        "    uses: acme/ecko",
        "  - id: b",
        "    uses: gone/thing",
        "  - id: c",
        "    uses: acme/echo",
        "    with: { word: hi }",
        "    command: [ls]",
        "  - id: d",
        "    uses: acme/echo",
        "    with: [hi]",
        "",
      ].join("\n"),
    ),
    [
      'flow.yaml:4 steps.a.uses: unknown step template "acme/ecko"; registered: acme/echo, acme/bad',
      'flow.yaml:6 steps.b.uses: step template "gone/thing" is unavailable: pack gone failed to load: ' +
      "cannot import npm:gone: not found",
      "flow.yaml:10 steps.c.command: a step that uses a template takes its runner from it " +
      "(acme/echo); remove command",
      "flow.yaml:13 steps.d.with: expected the parameters of acme/echo as a mapping",
    ],
  );
  const bad = errors("name: t\nsteps:\n  - id: a\n    uses: acme/bad\n");
  assertEquals(bad.length, 1);
  assertEquals(
    bad[0].startsWith("flow.yaml:4 steps.a.uses: outputs.o.type: expected an artifact type"),
    true,
    bad[0],
  );
  assertEquals(bad[0].endsWith("(from template acme/bad)"), true, bad[0]);
});

Deno.test("a template expands into a step and a gate; written fields merge over it; a route template gives on_fail", () => {
  const graph = parseWorkflow(
    [
      "name: t",
      "steps:",
      "  - id: first",
      "    shell: echo one",
      "  - id: a",
      "    uses: acme/echo",
      "    with: { word: hi, times: 2, env: { X: '1' } }",
      "    needs: [first]",
      "    env: { FROM: written }",
      "    policy: { net: [example.com] }",
      "    on_fail:",
      "      uses: acme/again",
      "      with: { step: first }",
      "gates:",
      "  - id: g",
      "    step: a",
      "    uses: acme/exists",
      "    with: { input: word }",
      "    on_fail: { uses: acme/again, with: { step: a, n: 5 } }",
      "",
    ].join("\n"),
    "flow.yaml",
    { templates: templates() },
  );
  const a = graph.workflow.steps[1];
  assertEquals(JSON.parse(JSON.stringify(a.executor)), {
    kind: "command",
    argv: ["sh", "-c", 'echo hihi > "$LILY_OUTPUT_DIR/word.txt"'],
    shell: true,
  });
  assertEquals(a.env, { FROM: "written", X: "1" });
  assertEquals(a.policy, { write: [], net: ["example.com"] });
  assertEquals(a.needs, ["first"]);
  assertEquals(a.onFail, { goto: "first", max: 2 });
  assertEquals(a.template, { uses: "acme/echo", with: { word: "hi", times: 2, env: { X: "1" } } });
  const g = graph.workflow.gates[0];
  assertEquals(JSON.parse(JSON.stringify(g.runner)), {
    kind: "command",
    argv: ["sh", "-c", 'test -e "$LILY_INPUT_WORD"'],
    shell: true,
  });
  assertEquals(g.onFail, { goto: "a", max: 5 });
  assertEquals(g.template?.uses, "acme/exists");
});

Deno.test("the TS API takes templates too", () => {
  const graph = defineWorkflow(
    { name: "t", steps: [{ id: "a", uses: "acme/echo", with: { word: "yo" } }] },
    { templates: templates() },
  );
  assertEquals(graph.steps[0].outputs.word.type, "word.v1");
  const err = thrown(() =>
    defineWorkflow(
      { name: "t", steps: [{ id: "a", uses: "acme/echo", with: { word: "" } }] },
      { templates: templates() },
    )
  );
  assertEquals(
    err.message,
    "workflow steps.a.with.word: acme/echo: Too small: expected string to have >=1 characters",
  );
});
