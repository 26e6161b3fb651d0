import { assertEquals } from "./_assert.ts";
import { join, relative } from "node:path";
import { REPO } from "./_helpers.ts";

/**
 * What only the store may name: its directory layout and its backend
 * modules. Everything else reaches storage through the ports on `Store`.
 */
const REACH_INS: readonly [RegExp, string][] = [
  [/\b(runLayout|storeLayout|RunLayout|StoreLayout)\b/, "the store's file layout"],
  [
    /\.runs\.paths\(|\bstore\.layout\b|\.layout\.(workspace|indexPath|runsDir|storeDir)\b/,
    "a path",
  ],
  [/from "[^"]*\/store\/(fs|sqlite)\/[^"]*"/, "a backend module"],
];

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

Deno.test("no code outside src/store reaches into the store's files: no layout, paths() or backend module", async () => {
  const found: string[] = [];
  for await (const path of sourceFiles(join(REPO, "src"))) {
    const rel = relative(REPO, path);
    if (rel.startsWith("src/store/")) continue;
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines.forEach((line, i) => {
      for (const [pattern, what] of REACH_INS) {
        if (pattern.test(line)) found.push(`${rel}:${i + 1} names ${what}: ${line.trim()}`);
      }
    });
  }
  assertEquals(found, []);
});
