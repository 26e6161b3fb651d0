/**
 * Every shell example in README.md and docs/*.md runs as shown: each
 * ```sh, ```console (its `$ ` lines) and ```shell block is run, in order,
 * in a temporary copy of the checkout with `deno task install`'s `lily` on
 * PATH, and every command must exit 0. A run or artifact id shown in an
 * earlier command's output (`Created run <id>`) stands for the id the real
 * run printed at that place. A block whose info string holds `no-test` is not
 * run (kept to the few that cannot run in a test: the suite itself, the
 * benchmarks).
 */

import { assertEquals } from "./_assert.ts";
import { REPO, withTempDir } from "./_helpers.ts";
import { join } from "node:path";

/** One command of a documentation example. */
interface DocCommand {
  readonly file: string;
  readonly line: number;
  readonly command: string;
  /** The output the documentation shows under it (console blocks). */
  readonly shown: string;
}

const SHELL_LANGS = new Set(["sh", "console", "shell", "bash"]);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * Extracts the shell commands of a Markdown file's runnable fenced blocks.
 *
 * @param file The file's name, for messages.
 * @param text The file's text.
 * @returns The commands in order.
 */
export function docCommands(file: string, text: string): DocCommand[] {
  const lines = text.split("\n");
  const out: DocCommand[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = lines[i].match(/^```(\S*)(.*)$/);
    i++;
    if (!open) continue;
    const body: { text: string; line: number }[] = [];
    while (i < lines.length && !lines[i].startsWith("```")) {
      body.push({ text: lines[i], line: i + 1 });
      i++;
    }
    i++;
    if (!SHELL_LANGS.has(open[1]) || open[2].includes("no-test")) continue;
    const console = open[1] === "console";
    for (let j = 0; j < body.length; j++) {
      let text = body[j].text;
      if (console && !text.startsWith("$ ")) continue;
      if (console) text = text.slice(2);
      if (!console && (text.trim() === "" || text.trimStart().startsWith("#"))) continue;
      const line = body[j].line;
      while (text.endsWith("\\") && j + 1 < body.length) {
        text = text.slice(0, -1) + body[++j].text.replace(/^\s+/, " ");
      }
      const shown: string[] = [];
      while (console && j + 1 < body.length && !body[j + 1].text.startsWith("$ ")) {
        shown.push(body[++j].text);
      }
      out.push({ file, line, command: text, shown: shown.join("\n") });
    }
  }
  return out;
}

/** Maps the ids a document shows to the ids the real commands printed. */
function learnIds(shown: string, actual: string, ids: Map<string, string>): void {
  for (const line of shown.split("\n")) {
    for (const match of line.matchAll(UUID)) {
      if (ids.has(match[0])) continue;
      // The words before the id (a timestamp dropped) locate it in the real output.
      const prefix = line.slice(0, match.index).replace(/^\[[^\]]*\]\s*/, "");
      if (!/[a-z]/i.test(prefix)) continue;
      const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const found = actual.match(new RegExp(`${escaped}(${UUID.source})`));
      if (found) ids.set(match[0], found[1]);
    }
  }
}

async function copyCheckout(to: string): Promise<void> {
  const entries = ["deno.json", "deno.lock", "cli.ts", "mod.ts", "pack.ts", "executors.ts"];
  for (const entry of [...entries, "src", "examples", "packs"]) {
    await new Deno.Command("cp", { args: ["-r", join(REPO, entry), join(to, entry)] }).output();
  }
}

Deno.test("every shell example in README.md and docs/ runs as shown", async () => {
  const files = [
    "README.md",
    ...[...Deno.readDirSync(join(REPO, "docs"))]
      .filter((e) => e.name.endsWith(".md")).map((e) => `docs/${e.name}`).sort(),
  ];
  await withTempDir(async (tmp) => {
    const checkout = join(tmp, "lily");
    const home = join(tmp, "home");
    await Deno.mkdir(checkout);
    await Deno.mkdir(home);
    await copyCheckout(checkout);
    const env = {
      DENO_INSTALL_ROOT: join(home, ".deno"),
      PATH: `${join(home, ".deno", "bin")}:${Deno.env.get("PATH")}`,
      NO_COLOR: "1",
      TMPDIR: tmp,
    };
    let ran = 0;
    for (const file of files) {
      const ids = new Map<string, string>();
      let cwd = checkout;
      for (const doc of docCommands(file, await Deno.readTextFile(join(REPO, file)))) {
        const command = doc.command.replace(UUID, (id) => ids.get(id) ?? id);
        const cd = command.match(/^cd (\S+)$/);
        if (cd) {
          cwd = join(cwd, cd[1]);
          continue;
        }
        const out = await new Deno.Command("bash", {
          args: ["-c", `{ ${command}\n} 2>&1`],
          cwd,
          env,
          stdout: "piped",
          stderr: "piped",
          stdin: "null",
        }).output();
        const output = new TextDecoder().decode(out.stdout);
        assertEquals(
          out.code,
          0,
          `${doc.file}:${doc.line}: \`${command}\` exited ${out.code}:\n${output}`,
        );
        learnIds(doc.shown, output, ids);
        ran++;
      }
    }
    if (ran < 5) throw new Error(`only ${ran} documented commands ran; the extractor is broken`);
  });
});
