/**
 * The public surface: every entry point listed in deno.json is documented
 * line by line in docs/api.md, internals stay out of it, and the library
 * entry loads no CLI code.
 */

import { assert, assertEquals } from "./_assert.ts";
import { REPO } from "./_helpers.ts";
import { join } from "node:path";

const ENTRIES = [
  "mod.ts",
  "workflow.ts",
  "store.ts",
  "contracts.ts",
  "executors.ts",
  "testing.ts",
  "pack.ts",
];

async function exportedNames(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", entry],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    nodes: Record<string, { symbols: { name: string }[] }>;
  };
  return Object.values(doc.nodes).flatMap((n) => n.symbols.map((s) => s.name)).sort();
}

function documentedNames(page: string, entry: string): string[] {
  const start = page.indexOf(`(${entry})\n`);
  if (start < 0) throw new Error(`docs/api.md has no section for ${entry}`);
  const end = page.indexOf("\n## ", start);
  const section = page.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^- `([A-Za-z_$][\w$]*)` \(/gm)].map((m) => m[1]).sort();
}

Deno.test("docs/api.md lists every export of every entry point, and nothing else", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  const listed = Object.values(config.exports as Record<string, string>)
    .map((path) => path.replace(/^\.\//, "")).filter((path) => path !== "cli.ts").sort();
  assertEquals(listed, [...ENTRIES].sort(), "the library entry points in deno.json");
  const page = await Deno.readTextFile(join(REPO, "docs", "api.md"));
  for (const entry of ENTRIES) {
    assertEquals(documentedNames(page, entry), await exportedNames(entry), entry);
  }
});

Deno.test("internals are not public: no entry exports the helpers behind the kernel", async () => {
  const internals = [
    "writeAll",
    "killProcessGroup",
    "createLogFile",
    "syncDir",
    "refuseSymlink",
    "prepareAttemptDirs",
    "materializeInputs",
    "findCycles",
    "executeRun",
    "startRun",
    "runWorkflow",
    "resumeRun",
    "verifyStore",
  ];
  for (const entry of ENTRIES) {
    const names = new Set(await exportedNames(entry));
    const leaked = internals.filter((name) => names.has(name));
    assertEquals(leaked, [], `${entry} exports internals`);
  }
  const mod = await exportedNames("mod.ts");
  assert(mod.includes("createKernel") && mod.includes("defineWorkflow"));
});
