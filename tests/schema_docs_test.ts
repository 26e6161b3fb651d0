/**
 * docs/schemas.md says which kernel types the kernel produces today and
 * which are reserved for later layers; this keeps that honest.
 */

import { assertEquals } from "./_assert.ts";
import { lily, lilyJson, REPO, withTempDir } from "./_helpers.ts";
import { join } from "node:path";

function listedTypes(doc: string, label: string): string[] {
  const start = doc.indexOf(`- **${label}`);
  if (start < 0) throw new Error(`docs/schemas.md has no "${label}" list`);
  const ends = [doc.indexOf("\n- ", start + 1), doc.indexOf("\n\n", start)].filter((i) => i > 0);
  const item = doc.slice(start, Math.min(...ends));
  return [...item.matchAll(/`([a-z0-9_/.-]+\.v\d+)`/g)].map((m) => m[1]).sort();
}

async function sourcesMentioning(id: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts") && entry.name !== "kernel_schemas.ts") {
        if ((await Deno.readTextFile(path)).includes(id)) out.push(path);
      }
    }
  }
  await walk(join(REPO, "src"));
  return out;
}

Deno.test("docs/schemas.md lists the kernel types produced today and those reserved for later", async () => {
  const doc = await Deno.readTextFile(join(REPO, "docs", "schemas.md"));
  const produced = listedTypes(doc, "Produced by the kernel today");
  const reserved = listedTypes(doc, "Reserved for later layers");
  await withTempDir(async (ws) => {
    const kernel = (await lilyJson<{ id: string; origin: string }[]>(["schema", "list"], ws))
      .filter((s) => s.origin === "kernel").map((s) => s.id).sort();
    assertEquals([...produced, ...reserved].sort(), kernel, "every kernel type is in one list");

    await Deno.writeTextFile(join(ws, "wo.json"), JSON.stringify({ goal: "ship" }));
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: all
inputs:
  order: { type: work_order.v1 }
steps:
  - { id: build, shell: "echo built", inputs: { order: inputs.order } }
  - id: flaky
    shell: '[ "$LILY_ATTEMPT" != 1 ]'
    on_fail: { goto: flaky, max: 1 }
  - id: ask
    llm: { model: m, prompt: hi, output: answer }
    outputs: { answer: { type: answer.v1, path: answer.txt } }
gates:
  - { id: check, step: build, shell: "true" }
`,
    );
    const ran = await lily(["run", "start", "flow.yaml", "--input", "order=wo.json"], {
      workspace: ws,
      env: { LILY_LLM: "fake" },
    });
    assertEquals(ran.code, 0, ran.stderr);
    const [{ run_id: runId }] = await lilyJson<{ run_id: string }[]>(["run", "list"], ws);
    const { run_state } = await lilyJson<{ run_state: { inputs: Record<string, string> } }>(
      ["run", "show", runId],
      ws,
    );
    const order = await lilyJson<{ storage_kind: string }>(
      ["artifact", "show", run_state.inputs.order],
      ws,
    );
    const option = order.storage_kind === "json" ? "--json-file" : "--file";
    const replaced = await lily(
      ["artifact", "replace", runId, run_state.inputs.order, option, "wo.json", "--reason", "r"],
      { workspace: ws },
    );
    assertEquals(replaced.code, 0, replaced.stderr);
    assertEquals(
      (await lily(["run", "new", "--work-order", "wo.json"], { workspace: ws })).code,
      0,
    );
    await Deno.writeTextFile(
      join(ws, "refused.yaml"),
      `name: refused
steps:
  - { id: peek, command: [cat, wo.json], policy: { tools: ["true"] } }
`,
    );
    assertEquals((await lily(["run", "start", "refused.yaml"], { workspace: ws })).code, 1);
    const written = new Set(
      (await lilyJson<{ artifact_type: string }[]>(["artifact", "list"], ws))
        .map((r) => r.artifact_type),
    );
    assertEquals(kernel.filter((id) => written.has(id)), produced, "produced types are written");
    for (const id of reserved) {
      assertEquals(await sourcesMentioning(id), [], `${id} is reserved: no kernel code names it`);
    }
  });
});
