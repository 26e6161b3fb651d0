/**
 * A style check run as a `deno` step: it may read the workspace and write
 * only its output dir; it has no network, no subprocesses and no other env.
 */
const outputDir = Deno.env.get("LILY_OUTPUT_DIR")!;
const findings: { file: string; line: number; problem: string }[] = [];
let files = 0;
for await (const entry of Deno.readDir("src")) {
  if (!entry.name.endsWith(".ts")) continue;
  files++;
  const lines = (await Deno.readTextFile(`src/${entry.name}`)).split("\n");
  lines.forEach((text, i) => {
    if (text.length > 100) findings.push({ file: entry.name, line: i + 1, problem: "too long" });
    if (/\s+$/.test(text)) {
      findings.push({ file: entry.name, line: i + 1, problem: "trailing space" });
    }
  });
}
await Deno.writeTextFile(`${outputDir}/lint.json`, JSON.stringify({ files, findings }));
console.log(`checked ${files} files, ${findings.length} findings`);
