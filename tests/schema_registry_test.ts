import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { issuesOf } from "../src/core/issue.ts";
import { join } from "node:path";
import { z } from "zod";
import { KERNEL_SCHEMAS, kernelRegistry, parseSchemaId, SchemaRegistry } from "../contracts.ts";
import { NotFoundError, UsageError, ValidationError } from "../mod.ts";
import { BROKEN, broken, VALID } from "./_contract_samples.ts";
import { REPO } from "./_helpers.ts";

const KERNEL_IDS = [
  "artifact_replacement.v1",
  "environment_snapshot.v1",
  "gate_result.v1",
  "llm_reply.v1",
  "llm_request.v1",
  "policy_violation.v1",
  "step_failure.v1",
  "step_run_record.v1",
  "work_order.v1",
];

async function usageError(fn: () => unknown): Promise<UsageError> {
  try {
    await fn();
  } catch (err) {
    assert(err instanceof UsageError, `expected a UsageError, got ${err}`);
    return err;
  }
  throw new Error("expected a UsageError, nothing was thrown");
}

Deno.test("await kernelRegistry() holds the kernel types, origin kernel, ordered by id", async () => {
  const listed = (await kernelRegistry()).list();
  assertEquals(listed.map((s) => s.id), KERNEL_IDS);
  assertEquals(KERNEL_SCHEMAS.map((s) => s.id).sort(), KERNEL_IDS);
  for (const schema of listed) {
    assertEquals(schema.origin, "kernel");
    assertEquals(schema.kind, "zod");
    assertEquals(schema.version, 1);
    assert(schema.description.length > 10, schema.id);
    assertEquals(schema.jsonSchema.title, schema.id);
  }
});

Deno.test("await kernelRegistry() returns a new registry each call, so additions stay local", async () => {
  const mine = await kernelRegistry();
  await mine.register({ id: "note.v1", schema: z.string(), description: "A note", origin: "test" });
  assert(mine.has("note.v1"));
  assert(!(await kernelRegistry()).has("note.v1"));
});

Deno.test("every kernel schema accepts its sample and rejects it with one field broken", async () => {
  const registry = await kernelRegistry();
  for (const id of KERNEL_IDS) {
    assertEquals(registry.validate(id, VALID[id]), { ok: true, value: VALID[id] }, id);
    const result = registry.validate(id, broken(id));
    assertEquals(result.ok, false, id);
    assertEquals(issuesOf(result).map((i) => i.path), [BROKEN[id].path], id);
  }
});

Deno.test("kernel schemas keep fields they do not name, so later versions can add fields", async () => {
  const registry = await kernelRegistry();
  for (const id of KERNEL_IDS) {
    assert(registry.validate(id, { ...VALID[id], added_later: { any: ["thing"] } }).ok, id);
  }
});

Deno.test("work_order.v1 requires only a non-empty goal", async () => {
  const registry = await kernelRegistry();
  assert(registry.validate("work_order.v1", { goal: "Ship it" }).ok);
  const empty = registry.validate("work_order.v1", {});
  assertEquals(issuesOf(empty).map((i) => [i.path, i.message]), [
    ["$.goal", "missing required field, expected string"],
  ]);
  assertEquals(issuesOf(registry.validate("work_order.v1", { goal: "" }))[0].path, "$.goal");
  assertEquals(issuesOf(registry.validate("work_order.v1", "Ship it"))[0].path, "$");
});

Deno.test("each kernel type's exported JSON Schema agrees with its zod schema under Ajv", async () => {
  const kernel = await kernelRegistry();
  const copies = new SchemaRegistry();
  for (const schema of kernel.list()) {
    const copy = await copies.register({
      id: `copy/${schema.id}`,
      schema: schema.jsonSchema,
      description: schema.description,
      origin: "test",
    });
    assertEquals(copy.kind, "json_schema");
    assert(copies.validate(copy.id, VALID[schema.id]).ok, schema.id);
    assertEquals(
      issuesOf(copies.validate(copy.id, broken(schema.id))).map((i) => i.path).includes(
        BROKEN[schema.id].path,
      ),
      true,
      schema.id,
    );
  }
});

Deno.test("x.v1 and x.v2 coexist as two types, each validated by its own schema", async () => {
  const registry = new SchemaRegistry();
  await registry.register({
    id: "report.v1",
    schema: z.object({ passed: z.number() }),
    description: "A test report",
    origin: "deno",
  });
  await registry.register({
    id: "report.v2",
    schema: z.object({ passed: z.number(), failed: z.number() }),
    description: "A test report with failures",
    origin: "deno",
  });
  assertEquals(registry.list().map((s) => [s.name, s.version]), [["report", 1], ["report", 2]]);
  assert(registry.validate("report.v1", { passed: 3 }).ok);
  assertEquals(issuesOf(registry.validate("report.v2", { passed: 3 }))[0].path, "$.failed");
});

Deno.test("registering an id twice is an error naming both origins", async () => {
  const registry = await kernelRegistry();
  const err = await usageError(() =>
    registry.register({
      id: "gate_result.v1",
      schema: { type: "object" },
      description: "A clash",
      origin: "agent",
    })
  );
  assert(err.message.includes("origin agent"), err.message);
  assert(err.message.includes("origin kernel"), err.message);
  assert(err.message.includes("gate_result.v2"), err.message);
  const again = await usageError(() => registry.register(KERNEL_SCHEMAS[0]));
  assert(again.message.includes("already registered"), again.message);
  assertEquals(registry.require("gate_result.v1").origin, "kernel");
});

Deno.test("parseSchemaId() splits name.vN and rejects ids without a version or with bad parts", async () => {
  assertEquals(parseSchemaId("work_order.v1"), { name: "work_order", version: 1 });
  assertEquals(parseSchemaId("agent/test-report.v12"), { name: "agent/test-report", version: 12 });
  assertEquals(parseSchemaId("deno.lint.v3"), { name: "deno.lint", version: 3 });
  for (
    const bad of [
      "work_order",
      "Work_order.v1",
      "x.v0",
      "x.V1",
      "a/../b.v1",
      "/x.v1",
      "a/b/c.v1",
      ".x.v1",
      "x..y.v1",
      "",
      `${"x".repeat(200)}.v1`,
    ]
  ) {
    const err = await usageError(() => parseSchemaId(bad));
    assert(err.message.startsWith("Invalid schema id"), err.message);
    assert(err.message.includes("name.vN"), err.message);
  }
});

Deno.test("register() rejects a missing origin or description", async () => {
  const registry = new SchemaRegistry();
  const noOrigin = await usageError(() =>
    registry.register({ id: "x.v1", schema: z.string(), description: "d", origin: " " })
  );
  assert(noOrigin.message.includes("origin"), noOrigin.message);
  const noDescription = await usageError(() =>
    registry.register({ id: "x.v1", schema: z.string(), description: "", origin: "p" })
  );
  assert(noDescription.message.includes("description"), noDescription.message);
  assertEquals(registry.list(), []);
});

Deno.test("a zod schema that JSON Schema cannot express is rejected at registration", async () => {
  const err = await usageError(() =>
    new SchemaRegistry().register({
      id: "when.v1",
      schema: z.object({ at: z.date() }),
      description: "A date object",
      origin: "p",
    })
  );
  assert(err.message.includes("cannot be exported as JSON Schema"), err.message);
});

Deno.test("JSON Schema documents validate with Ajv and report JSON paths, expected and found", async () => {
  const registry = new SchemaRegistry();
  await registry.register({
    id: "agent/plan.v1",
    description: "A plan",
    origin: "agent",
    schema: {
      type: "object",
      required: ["steps"],
      additionalProperties: false,
      properties: {
        due: { type: "string", format: "date-time" },
        steps: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            required: ["id", "kind"],
            properties: { id: { type: "string" }, kind: { enum: ["edit", "test"] } },
          },
        },
      },
    },
  });
  assert(registry.validate("agent/plan.v1", { steps: [{ id: "a", kind: "edit" }] }).ok);
  const validated = registry.validate("agent/plan.v1", {
    due: "tomorrow",
    steps: [{ id: 7, kind: "deploy" }, { kind: "test" }],
    extra: true,
  });
  const valid = validated.ok;
  const issues = issuesOf(validated);
  assertEquals(valid, false);
  const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
  assertEquals(Object.keys(byPath).sort(), [
    "$.due",
    "$.extra",
    "$.steps[0].id",
    "$.steps[0].kind",
    "$.steps[1].id",
  ]);
  assertEquals(byPath["$.steps[0].id"].expected, "string");
  assertEquals(byPath["$.steps[0].id"].found, "number 7");
  assertEquals(byPath["$.steps[0].kind"].message, 'expected "edit" | "test", got string "deploy"');
  assertEquals(byPath["$.steps[1].id"].message, "missing required field");
  assertEquals(byPath["$.due"].expected, "date-time format");
  assertEquals(byPath["$.extra"].message, 'unexpected key "extra"');
});

Deno.test("JSON Schema documents may declare draft-07, 2019-09 or 2020-12", async () => {
  const registry = new SchemaRegistry();
  const dialects = [
    "http://json-schema.org/draft-07/schema#",
    "https://json-schema.org/draft/2019-09/schema",
    "https://json-schema.org/draft/2020-12/schema",
  ];
  for (const [i, $schema] of dialects.entries()) {
    await registry.register({
      id: `n.v${i + 1}`,
      schema: { $schema, type: "integer" },
      description: "A number",
      origin: "p",
    });
  }
  for (const id of ["n.v1", "n.v2", "n.v3"]) {
    assert(registry.validate(id, 3).ok);
    assertEquals(
      issuesOf(registry.validate(id, "3"))[0].message,
      'expected integer, got string "3"',
    );
  }
});

Deno.test("invalid JSON Schema documents are rejected at registration with Ajv's reason", async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ type: "strin" }, "not a valid JSON Schema"],
    [{ type: "object", requried: ["x"] }, 'unknown keyword: "requried"'],
    [{ $schema: "http://json-schema.org/draft-04/schema#" }, "unsupported $schema"],
    [{ type: "object", default: () => 1 }, "not a plain JSON document"],
  ];
  for (const [schema, reason] of cases) {
    const registry = new SchemaRegistry();
    const err = await usageError(() =>
      registry.register({ id: "bad.v1", schema, description: "Bad", origin: "pack" })
    );
    assert(err.message.includes("bad.v1") && err.message.includes("pack"), err.message);
    assert(err.message.includes(reason), err.message);
    assert(!registry.has("bad.v1"));
  }
});

Deno.test("a registered JSON Schema document cannot be changed through the caller's object", async () => {
  const registry = new SchemaRegistry();
  const document: Record<string, unknown> = { type: "string" };
  await registry.register({ id: "s.v1", schema: document, description: "A string", origin: "p" });
  document.type = "number";
  assert(registry.validate("s.v1", "text").ok);
  assertEquals(registry.require("s.v1").jsonSchema.type, "string");
  assertThrows(() => {
    (registry.require("s.v1").jsonSchema as Record<string, unknown>).type = "number";
  }, TypeError);
});

Deno.test("an unknown schema id is a NotFoundError listing the known ids", async () => {
  const registry = await kernelRegistry();
  for (const call of [() => registry.require("nope.v1"), () => registry.validate("nope.v1", {})]) {
    try {
      call();
      throw new Error("expected a NotFoundError");
    } catch (err) {
      assert(err instanceof NotFoundError, String(err));
      assert(err.message.includes('"nope.v1"'), err.message);
      assert(err.message.includes("work_order.v1"), err.message);
      assert(err.message.includes("lily schema list"), err.message);
    }
  }
  assertEquals(registry.get("nope.v1"), undefined);
});

Deno.test("validate() reports values JSON cannot represent by their paths", async () => {
  const validated = (await kernelRegistry()).validate("work_order.v1", {
    goal: "x",
    inputs: { n: NaN, when: undefined },
  });
  const valid = validated.ok;
  const issues = issuesOf(validated);
  assertEquals(valid, false);
  assertEquals(issues.map((i) => [i.code, i.path]), [
    ["non_finite_number", "$.inputs.n"],
    ["not_json", "$.inputs.when"],
  ]);
});

Deno.test("assertValid() throws a ValidationError naming subject, schema, origin and path", async () => {
  const registry = await kernelRegistry();
  registry.assertValid("gate_result.v1", VALID["gate_result.v1"]);
  const bad = { ...broken("gate_result.v1"), duration_ms: -1, reasons: "none" };
  assertThrows(
    () => registry.assertValid("gate_result.v1", bad, { subject: "Gate output" }),
    (err: unknown) => {
      assert(err instanceof ValidationError);
      assertEquals(
        err.message,
        "Gate output does not match schema gate_result.v1 (origin kernel): " +
          '$.status: expected "pass" | "fail" | "error" | "skipped" | "cancelled", got string "passed"; ' +
          "2 more issues at $.reasons, $.duration_ms",
      );
      assertEquals(err.issues.length, 3);
      return true;
    },
  );
});

Deno.test("docs/schemas.md lists every field of every kernel type with its required flag", async () => {
  const docs = await Deno.readTextFile(join(REPO, "docs", "schemas.md"));
  for (const schema of (await kernelRegistry()).list()) {
    const start = docs.indexOf(`### \`${schema.id}\``);
    assert(start >= 0, `docs/schemas.md has no section for ${schema.id}`);
    const end = docs.indexOf("\n### ", start + 1);
    const section = docs.slice(start, end < 0 ? undefined : end);
    const rows = new Map(
      [...section.matchAll(/^\| `([a-z_0-9]+)` +\|.*\| (yes|no) +\|/gm)].map((m) => [m[1], m[2]]),
    );
    const properties = Object.keys(schema.jsonSchema.properties as Record<string, unknown>);
    const required = schema.jsonSchema.required as string[];
    assertEquals([...rows.keys()].sort(), properties.sort(), schema.id);
    for (const field of properties) {
      assertEquals(
        rows.get(field),
        required.includes(field) ? "yes" : "no",
        `${schema.id} ${field}`,
      );
    }
  }
});

Deno.test("concurrent registrations of one id: one wins, the other names both origins", async () => {
  const registry = new SchemaRegistry();
  const results = await Promise.allSettled(["a", "b"].map((origin) =>
    registry.register({
      id: "shared.v1",
      schema: { type: "object" },
      description: "Claimed twice",
      origin,
    })
  ));
  assertEquals(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  const failure = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
  assert(failure.reason instanceof UsageError);
  assert(/origin (a|b): it is already registered from origin (a|b)/.test(failure.reason.message));
});

Deno.test("Ajv is loaded only when a JSON Schema document is registered", async () => {
  for (const root of ["mod.ts", "cli.ts"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", join(REPO, root)],
      stdout: "piped",
    }).output();
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    const modules = new Map<string, { dependencies?: DependencyInfo[] }>(
      info.modules.map((m: { specifier: string }) => [m.specifier, m]),
    );
    const staticallyLoaded = new Set<string>();
    const visit = (specifier: string) => {
      if (staticallyLoaded.has(specifier)) return;
      staticallyLoaded.add(specifier);
      for (const dep of modules.get(specifier)?.dependencies ?? []) {
        if (!dep.isDynamic && dep.code) visit(dep.code.specifier);
      }
    };
    visit(info.roots[0]);
    assert([...staticallyLoaded].some((s) => s.includes("schema_registry.ts")), root);
    assertEquals([...staticallyLoaded].filter((s) => s.includes("ajv")), [], root);
  }
});

interface DependencyInfo {
  code?: { specifier: string };
  isDynamic?: boolean;
}
