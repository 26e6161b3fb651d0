/**
 * A test pack: a schema, an in-process executor kind, a step template
 * that expands to it, a gate template that expands to a shell command, a
 * route template, and an example workflow.
 *
 * @module
 */

import { z } from "zod";
import { definePack, gateTemplate, routeTemplate, stepTemplate } from "../../../../pack.ts";
import type { ExecutionContext, ExecutionResult, Executor } from "../../../../executors.ts";

interface GreetSpec {
  readonly kind: "acme/greet";
  readonly name: string;
  readonly output: string;
}

const greet: Executor<GreetSpec> = {
  kind: "acme/greet",
  specSchema: z.strictObject({
    kind: z.literal("acme/greet"),
    name: z.string(),
    output: z.string(),
  }),
  capabilities: {
    inProcess: true,
    producerKind: "tool",
    confinement: "none",
    roles: ["step"],
    waitsForPerson: false,
  },
  async execute(spec: GreetSpec, ctx: ExecutionContext): Promise<ExecutionResult> {
    const file = ctx.outputs[spec.output].path;
    await Deno.writeTextFile(
      `${ctx.outputDir}/${file}`,
      JSON.stringify({ text: `hello ${spec.name}` }),
    );
    return { status: "succeeded", exitCode: 0, summary: { executor: "acme/greet" } };
  },
};

export default definePack({
  name: "acme",
  version: "1.2.0",
  lily: ">=0.1.0 <1.0.0",
  description: "a test pack",
  schemas: {
    "greeting.v1": {
      description: "a greeting",
      schema: z.strictObject({ text: z.string().startsWith("hello ") }),
    },
  },
  executors: [greet],
  steps: {
    greet: stepTemplate({
      description: "greets someone",
      params: z.strictObject({
        name: z.string().min(1).describe("who to greet"),
        times: z.number().int().min(1).default(1),
      }),
      expand: (p) => ({
        run: { kind: "acme/greet", name: p.name.repeat(p.times), output: "greeting" },
        outputs: { greeting: { type: "acme/greeting.v1", path: "greeting.json" } },
      }),
    }),
  },
  gates: {
    nonempty: gateTemplate({
      description: "checks an input file is not empty",
      params: z.strictObject({ input: z.string().default("greeting") }),
      expand: (p, use) => ({
        shell: `test -s "$LILY_INPUT_${p.input.toUpperCase()}" || ` +
          `{ echo "${use.id}: empty" >&2; exit 1; }`,
      }),
    }),
  },
  routes: {
    again: routeTemplate({
      description: "runs a step again, at most n times",
      params: z.strictObject({ step: z.string(), n: z.number().int().min(1).default(2) }),
      expand: (p) => ({ goto: p.step, max: p.n }),
    }),
  },
  example: `name: acme-example
steps:
  - id: hello
    uses: acme/greet
    with: { name: world }
gates:
  - id: nonempty
    step: hello
    uses: acme/nonempty
`,
});
