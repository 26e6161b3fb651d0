/**
 * `noUncheckedIndexedAccess` (as denoland/std enables it) for the folders
 * that are clean of it: an index or a record lookup may be missing, and the
 * code must say what then. The option is not in deno.json yet because the
 * lower layers still have lookups to fix; a folder joins STRICT once it is
 * clean, and this test keeps it so.
 */

import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { REPO, withTempDir } from "./_helpers.ts";

const STRICT = ["src/core", "src/contracts", "src/kernel", "src/cli"];

async function strictCheck(config: string, targets: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "check",
      "--config",
      config,
      `--lock=${join(REPO, "deno.lock")}`,
      "--frozen",
      ...targets,
    ],
    cwd: REPO,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stderr);
}

Deno.test("core, contracts, the kernel and the CLI type-check with noUncheckedIndexedAccess", async () => {
  await withTempDir(async (dir) => {
    const { imports } = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
    const config = join(dir, "deno.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ imports, compilerOptions: { noUncheckedIndexedAccess: true } }),
    );
    const probe = join(dir, "probe.ts");
    await Deno.writeTextFile(probe, "const a: number[] = [];\nexport const x: number = a[0];\n");
    assert(
      (await strictCheck(config, [probe])).includes("probe.ts"),
      "the strict config flags an unchecked index",
    );
    const output = await strictCheck(config, STRICT.map((folder) => join(REPO, folder)));
    const inStrict = output.split("\n").filter((line) =>
      STRICT.some((folder) => line.includes(`${join(REPO, folder)}/`))
    );
    assertEquals(inStrict, []);
  });
});
