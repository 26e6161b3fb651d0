import { assertEquals } from "./_assert.ts";
import { join, relative } from "node:path";
import { KERNEL_VERSION } from "../mod.ts";
import { REPO } from "./_helpers.ts";

/** Layer folders under src/, lowest first; a folder may import only earlier ones. */
const LAYERS = [
  "core",
  "store",
  "contracts",
  "graph",
  "runtime",
  "gates",
  "policy",
  "observe",
  "packs",
  "kernel",
  "cli",
];

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

Deno.test("no layer imports a higher layer", async () => {
  const violations: string[] = [];
  const src = join(REPO, "src");
  for await (const file of sourceFiles(src)) {
    const layer = relative(src, file).split("/")[0];
    const rank = LAYERS.indexOf(layer);
    assertEquals(rank >= 0, true, `${file} is in an unknown layer folder ${layer}`);
    const text = await Deno.readTextFile(file);
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)) {
      const target = relative(src, join(file, "..", match[1])).split("/")[0];
      const targetRank = LAYERS.indexOf(target);
      if (targetRank > rank) violations.push(`${relative(REPO, file)} imports ${match[1]}`);
    }
  }
  assertEquals(violations, []);
});

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

Deno.test("importing mod.ts loads no CLI dependency", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", join(REPO, "mod.ts")],
    stdout: "piped",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const modules = new Map<string, InfoModule>(
    info.modules.map((m: InfoModule) => [m.specifier, m]),
  );
  const reached = new Set<string>();
  const visit = (specifier: string) => {
    if (reached.has(specifier)) return;
    reached.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code) visit(dep.code.specifier);
    }
  };
  visit(info.roots[0]);
  const cli = [...reached].filter((s) => s.includes("/src/cli/") || s.includes("commander"));
  assertEquals(cli, []);
  assertEquals(reached.size > 10, true, "the walk saw the library's modules");
});

Deno.test("the kernel version equals deno.json's version", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  assertEquals(KERNEL_VERSION, config.version);
});
