import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { issuesOf } from "../src/core/issue.ts";
import { z } from "zod";
import {
  kernelRegistry,
  SchemaRegistry,
  validateJsonFile,
  validateJsonText,
} from "../contracts.ts";
import { NotFoundError, ValidationError } from "../mod.ts";
import { validationError, workOrderCheck } from "../src/contracts/validation.ts";
import { withTempDir } from "./_helpers.ts";

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("validate() reports every issue with its JSON path, expected and found", async () => {
  const registry = new SchemaRegistry();
  await registry.register({
    id: "pipeline.v1",
    description: "A pipeline",
    origin: "test",
    schema: z.object({
      name: z.string().min(3),
      retries: z.int().min(0).max(5),
      mode: z.enum(["fast", "safe"]),
      steps: z.array(z.object({ id: z.string(), timeout_s: z.number().optional() })).min(1),
      owner: z.union([z.string(), z.null()]),
    }),
  });
  const validated = registry.validate("pipeline.v1", {
    name: "ab",
    retries: 9,
    mode: "slow",
    steps: [{ id: "a" }, { timeout_s: "10" }],
    owner: 4,
  });
  const valid = validated.ok;
  const issues = issuesOf(validated);
  assertEquals(valid, false);
  assertEquals(
    issues.map(({ path, message, expected, found }) => ({ path, message, expected, found })),
    [
      {
        path: "$.name",
        message: 'expected string of >= 3 characters, got string "ab"',
        expected: "string of >= 3 characters",
        found: 'string "ab"',
      },
      {
        path: "$.retries",
        message: "expected number <= 5, got number 9",
        expected: "number <= 5",
        found: "number 9",
      },
      {
        path: "$.mode",
        message: 'expected "fast" | "safe", got string "slow"',
        expected: '"fast" | "safe"',
        found: 'string "slow"',
      },
      {
        path: "$.steps[1].id",
        message: "missing required field, expected string",
        expected: "string",
        found: "missing",
      },
      {
        path: "$.steps[1].timeout_s",
        message: 'expected number, got string "10"',
        expected: "number",
        found: 'string "10"',
      },
      {
        path: "$.owner",
        message: "expected string | null, got number 4",
        expected: "string | null",
        found: "number 4",
      },
    ],
  );
});

Deno.test("issue paths quote keys that are not identifiers", async () => {
  const registry = new SchemaRegistry();
  await registry.register({
    id: "env.v1",
    description: "Environment variables",
    origin: "test",
    schema: z.record(z.string(), z.string()),
  });
  const issues = issuesOf(registry.validate("env.v1", { "MY-VAR": 1, ok: "x" }));
  assertEquals(issues.map((i) => i.path), ['$["MY-VAR"]']);
});

Deno.test("validationError() keeps every issue and lists the paths of the rest on one line", () => {
  const issues = Array.from({ length: 8 }, (_, i) => ({
    code: "invalid_type",
    path: `$.items[${i}]`,
    message: "expected string, got number 1",
  }));
  const err = validationError({ subject: "Batch", schemaId: "b.v1", origin: "p", issues });
  assert(err instanceof ValidationError);
  assertEquals(
    err.message,
    "Batch does not match schema b.v1 (origin p): $.items[0]: expected string, got number 1; " +
      "7 more issues at $.items[1], $.items[2], $.items[3], $.items[4], $.items[5] " +
      "and 2 other places",
  );
  assert(!err.message.includes("\n"));
  assertEquals(err.issues, issues);
});

Deno.test("validateJsonText() turns text that is not JSON into an invalid_json issue at $", async () => {
  const registry = await kernelRegistry();
  const result = validateJsonText(registry, { schemaId: "work_order.v1", text: "{goal: 1" });
  assertEquals(result.ok, false);
  assertEquals(issuesOf(result).length, 1);
  assertEquals(issuesOf(result)[0].code, "invalid_json");
  assertEquals(issuesOf(result)[0].path, "$");
  assert(issuesOf(result)[0].message.startsWith("not valid JSON: "), issuesOf(result)[0].message);
  assert(
    validateJsonText(registry, { schemaId: "work_order.v1", text: '\uFEFF{"goal":"x"}' }).ok,
  );
  assertThrows(
    () => validateJsonText(registry, { schemaId: "nope.v1", text: "{}" }),
    NotFoundError,
  );
});

Deno.test("validateJsonFile() reads the file and reports a missing one as not found", async () => {
  await withTempDir(async (dir) => {
    const registry = await kernelRegistry();
    await Deno.writeTextFile(`${dir}/wo.json`, '{"goal": ["x"]}');
    const result = await validateJsonFile(registry, {
      schemaId: "work_order.v1",
      path: `${dir}/wo.json`,
    });
    assertEquals(issuesOf(result).map((i) => i.path), ["$.goal"]);
    await assertRejects(
      () => validateJsonFile(registry, { schemaId: "work_order.v1", path: `${dir}/none.json` }),
      NotFoundError,
      "does not exist",
    );
  });
});

Deno.test("workOrderCheck() validates JSON work orders and accepts free text", async () => {
  const check = workOrderCheck(await kernelRegistry());
  check(encode('{"goal": "Ship the release"}'), "wo.json");
  check(encode("# Fix the flaky test\n\nIt fails on Mondays.\n"), "wo.md");
  check(encode("Fix the flaky test"), "wo.txt");
  assertThrows(
    () => check(encode('{"goal": 1}'), "wo.txt"),
    ValidationError,
    "Work order wo.txt does not match schema work_order.v1 (origin kernel): $.goal",
  );
  assertThrows(
    () => check(encode("goal: ship"), "wo.JSON"),
    ValidationError,
    "Work order wo.JSON does not match schema work_order.v1 (origin kernel): $: not valid JSON",
  );
});

Deno.test("workOrderCheck() accepts anything when the registry has no work_order.v1", () => {
  workOrderCheck(new SchemaRegistry())(encode('{"goal": 1}'), "wo.json");
});
