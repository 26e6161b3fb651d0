import { assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { KERNEL_VERSION } from "../mod.ts";
import { REPO, withTempDir } from "./_helpers.ts";

/**
 * `deno compile` needs the denort runtime: from DENORT_BIN, or downloaded.
 * Probe once; when neither works the test is ignored with the reason printed.
 */
async function compileBlocker(): Promise<string | undefined> {
  if (Deno.env.get("DENORT_BIN")) return undefined;
  const probe = await Deno.makeTempDir({ prefix: "lily_compile_probe_" });
  try {
    await Deno.writeTextFile(join(probe, "empty.ts"), "");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["compile", "--quiet", "--output", join(probe, "empty"), join(probe, "empty.ts")],
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return undefined;
    const lines = new TextDecoder().decode(out.stderr).split("\n").map((l) => l.trim());
    const reason = lines.find((l) => /download|dns|lookup|network|connect/i.test(l)) ??
      lines.find((l) => l.length > 0) ?? "unknown error";
    return `deno compile cannot get its runtime (set DENORT_BIN to a denort binary): ${reason.trim()}`;
  } finally {
    await Deno.remove(probe, { recursive: true });
  }
}

const blocker = await compileBlocker();
if (blocker) console.log(`skipped: deno task compile: ${blocker}`);

Deno.test({
  name: "deno task compile builds a standalone lily binary that runs",
  ignore: blocker !== undefined,
  fn: async () => {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["task", "compile"],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
    const binary = join(REPO, "dist", "lily");
    await withTempDir(async (ws) => {
      const version = await new Deno.Command(binary, { args: ["--version"] }).output();
      assertEquals(new TextDecoder().decode(version.stdout).trim(), KERNEL_VERSION);
      const created = await new Deno.Command(binary, {
        args: ["run", "new", "--workspace", ws],
        stdout: "piped",
      }).output();
      assertMatch(new TextDecoder().decode(created.stdout), /^Created run /);
    });
  },
});
