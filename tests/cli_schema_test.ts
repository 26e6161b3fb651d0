import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { assertCleanError, lily, withTempDir } from "./_helpers.ts";
import { VALID } from "./_contract_samples.ts";

const KERNEL_IDS = Object.keys(VALID).sort();
/** The types `schema list` shows in a workspace without lily.json: the kernel's and the shipped packs'. */
const PACK_IDS = ["agent/patch.v1", "agent/test_report.v1", "deno/test_report.v1"];
const LISTED = [...KERNEL_IDS, ...PACK_IDS].sort();
const originOf = (id: string) => id.includes("/") ? id.slice(0, id.indexOf("/")) : "kernel";

Deno.test("lily schema list shows every kernel and shipped pack type with its origin and description", async () => {
  await withTempDir(async (ws) => {
    const human = await lily(["schema", "list"], { workspace: ws });
    assertEquals(human.code, 0, human.stderr);
    const lines = human.stdout.trim().split("\n");
    assertMatch(lines[0], /^ID\s+ORIGIN\s+DESCRIPTION$/);
    assertEquals(lines.slice(1).map((l) => l.split(/\s+/)[0]), LISTED);
    assert(lines.slice(1).every((l) => l.split(/\s+/)[1] === originOf(l.split(/\s+/)[0])));
    const json = await lily(["schema", "list", "--json"], { workspace: ws });
    const listed = JSON.parse(json.stdout) as { id: string; origin: string; version: number }[];
    assertEquals(listed.map((s) => s.id), LISTED);
    assert(listed.every((s) => s.origin === originOf(s.id) && s.version === 1));
  });
});

Deno.test("lily schema show prints a type's JSON Schema", async () => {
  await withTempDir(async (ws) => {
    const result = await lily(["schema", "show", "gate_result.v1"], { workspace: ws });
    assertEquals(result.code, 0, result.stderr);
    const schema = JSON.parse(result.stdout);
    assertEquals(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
    assertEquals(schema.title, "gate_result.v1");
    assertEquals(schema.properties.status.enum, ["pass", "fail", "error", "skipped", "cancelled"]);
    assert(schema.required.includes("gate_id"));
  });
});

Deno.test("lily schema show and validate reject an unknown id in one line naming the known ids", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "x.json"), "{}");
    for (
      const args of [["schema", "show", "nope.v1"], ["schema", "validate", "nope.v1", "x.json"]]
    ) {
      const result = await lily(args, { workspace: ws });
      assertCleanError(
        result,
        1,
        /^lily: Unknown schema "nope\.v1": expected one of .*work_order\.v1.*lily schema list/,
      );
      assertEquals(result.stdout, "");
    }
  });
});

Deno.test("lily schema export writes one <id>.schema.json per type and an index", async () => {
  await withTempDir(async (ws) => {
    const result = await lily(["schema", "export", "--out", "out/schemas"], { workspace: ws });
    assertEquals(result.code, 0, result.stderr);
    assertMatch(result.stdout, new RegExp(`Exported ${LISTED.length} schemas to out/schemas`));
    const dir = join(ws, "out", "schemas");
    const files = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assertEquals(
      files,
      [...KERNEL_IDS.map((id) => `${id}.schema.json`), "agent", "deno", "index.json"].sort(),
    );
    assert((await Deno.stat(join(dir, "deno", "test_report.v1.schema.json"))).isFile);
    const index = JSON.parse(await Deno.readTextFile(join(dir, "index.json")));
    assertEquals(index.schemas.map((s: { id: string }) => s.id), LISTED);
    assertEquals(index.schemas[0].file, `${LISTED[0]}.schema.json`);
    for (const id of LISTED) {
      const shown = await lily(["schema", "show", id], { workspace: ws });
      assertEquals(
        JSON.parse(await Deno.readTextFile(join(dir, `${id}.schema.json`))),
        JSON.parse(shown.stdout),
      );
    }
  });
});

Deno.test("lily schema export defaults to ./schemas and --json prints the index", async () => {
  await withTempDir(async (ws) => {
    const result = await lily(["schema", "export", "--json"], { workspace: ws });
    assertEquals(result.code, 0, result.stderr);
    const index = JSON.parse(result.stdout);
    assertEquals(index.dir, "schemas");
    assertEquals(index.schemas.length, LISTED.length);
    assert((await Deno.stat(join(ws, "schemas", "index.json"))).isFile);
  });
});

Deno.test("lily schema validate exits 0 for a valid file", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "wo.json"), JSON.stringify(VALID["work_order.v1"]));
    const result = await lily(["schema", "validate", "work_order.v1", "wo.json"], {
      workspace: ws,
    });
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout.trim(), "wo.json is a valid work_order.v1");
    const json = await lily(["schema", "validate", "work_order.v1", "wo.json", "--json"], {
      workspace: ws,
    });
    assertEquals(JSON.parse(json.stdout), { valid: true, issues: [] });
  });
});

Deno.test("lily schema validate exits 1 listing every issue as path: message", async () => {
  await withTempDir(async (ws) => {
    const bad = { ...VALID["gate_result.v1"], status: "ok", duration_ms: -5, reasons: [1] };
    await Deno.writeTextFile(join(ws, "gate.json"), JSON.stringify(bad));
    const result = await lily(["schema", "validate", "gate_result.v1", "gate.json"], {
      workspace: ws,
    });
    assertCleanError(
      result,
      1,
      /^lily: gate\.json does not match schema gate_result\.v1: 3 issues$/,
    );
    assertEquals(result.stdout.trim().split("\n"), [
      '$.status: expected "pass" | "fail" | "error" | "skipped" | "cancelled", got string "ok"',
      "$.reasons[0]: expected string, got number 1",
      "$.duration_ms: expected number >= 0, got number -5",
    ]);
    const json = await lily(["schema", "validate", "gate_result.v1", "gate.json", "--json"], {
      workspace: ws,
    });
    assertEquals(json.code, 1);
    const doc = JSON.parse(json.stdout);
    assertEquals(doc.valid, false);
    assertEquals(doc.issues.map((i: { path: string }) => i.path), [
      "$.status",
      "$.reasons[0]",
      "$.duration_ms",
    ]);
    assert(doc.issues.every((i: { message: string }) => i.message.length > 0));
  });
});

Deno.test("lily schema validate reports a file that is not JSON, or is missing, in one line", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "broken.json"), '{"goal": ');
    const broken = await lily(["schema", "validate", "work_order.v1", "broken.json"], {
      workspace: ws,
    });
    assertCleanError(broken, 1, /broken\.json does not match schema work_order\.v1: 1 issue$/);
    assertMatch(broken.stdout, /^\$: not valid JSON: /);
    assertCleanError(
      await lily(["schema", "validate", "work_order.v1", "none.json"], { workspace: ws }),
      1,
      /^lily: File none\.json does not exist$/,
    );
  });
});

Deno.test("lily schema commands never create a store", async () => {
  await withTempDir(async (ws) => {
    await lily(["schema", "list"], { workspace: ws });
    await lily(["schema", "show", "work_order.v1"], { workspace: ws });
    await Deno.writeTextFile(join(ws, "wo.json"), '{"goal": "x"}');
    await lily(["schema", "validate", "work_order.v1", "wo.json"], { workspace: ws });
    assertEquals(await Deno.stat(join(ws, ".iris")).catch(() => null), null);
  });
});
