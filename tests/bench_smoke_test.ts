import { deepStrictEqual, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("bench --quick --json --no-peers prints one JSON array of figures with finite positive values", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/main.ts", "--quick", "--json", "--no-peers"],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  ok(out.success, `bench exited with code ${out.code}:\n${stderr}`);
  ok(stderr.includes("langgraph: skipped (--no-peers)"), stderr);
  const figures = JSON.parse(new TextDecoder().decode(out.stdout));
  ok(Array.isArray(figures), "expected a JSON array");
  const names: string[] = figures.map((figure: { name: string }) => figure.name);
  for (
    const prefix of [
      "putJson",
      "putFile copy",
      "putFile move",
      "list newest",
      "cli run new",
      "cli provenance",
    ]
  ) {
    ok(names.some((name) => name.startsWith(prefix)), `no ${prefix} figure in ${names.join(", ")}`);
  }
  for (const figure of figures) {
    deepStrictEqual(Object.keys(figure).sort(), [
      "floor",
      "name",
      "ratio",
      "target",
      "unit",
      "value",
    ]);
    ok(typeof figure.name === "string" && figure.name.length > 0);
    ok(typeof figure.unit === "string" && figure.unit.length > 0);
    for (const key of ["value", "floor", "ratio"]) {
      const v = figure[key];
      ok(typeof v === "number" && Number.isFinite(v) && v > 0, `${figure.name}: ${key} is ${v}`);
    }
    ok(figure.target === null || /^(>=|<=) \d/.test(figure.target), figure.target);
  }
});
