/**
 * The shipped `deno` pack: `deno/test` on a tiny project with a failing
 * test leaves a `deno/test_report.v1`, `deno/passed` fails naming it, the
 * tool gates judge a project, and the tools run confined — a test that
 * tries to write the workspace and outside it cannot, while the same run
 * without the sandbox (the control) can.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { parseJunitReport } from "../packs/deno/junit_report.ts";
import { lily, lilyJson, SANDBOX_ENV, SANDBOXED, withTempDir } from "./_helpers.ts";

const TESTS = `const sub = (a: number, b: number): number => a - b;
Deno.test("adds", () => {
  if (sub(3, 1) !== 2) throw new Error("bad difference");
});
Deno.test("subtracts", () => {
  if (sub(2, 1) !== 0) throw new Error("expected 0, got 1");
});
Deno.test({ name: "later", ignore: true, fn: () => {} });
`;

const WORKFLOW = `name: tests
steps:
  - id: test
    uses: deno/test
gates:
  - id: green
    step: test
    uses: deno/passed
`;

interface Report {
  passed: number;
  failed: number;
  ignored: number;
  total: number;
  failures: { name: string; file: string; line: number | null; message: string }[];
}

async function reportOf(ws: string): Promise<Report> {
  const [ref] = await lilyJson<{ artifact_id: string }[]>(
    ["artifact", "list", "--type", "deno/test_report.v1"],
    ws,
  );
  const got = await lily(["artifact", "get", ref.artifact_id], { workspace: ws });
  return JSON.parse(got.stdout) as Report;
}

Deno.test("deno/test records a deno/test_report.v1 of a project with a failing test, and deno/passed fails naming it", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "math_test.ts"), TESTS);
    await Deno.writeTextFile(join(ws, "flow.yaml"), WORKFLOW);
    const run = await lily(["run", "start", "flow.yaml"], { workspace: ws, env: SANDBOX_ENV });
    assertEquals(run.code, 1, run.stderr);
    assertMatch(
      run.stderr,
      /gate green on test#1: fail\n\s+1 of 3 tests failed: subtracts \(\.\/math_test\.ts:5\): Uncaught Error: expected 0, got 1/,
    );
    const report = await reportOf(ws);
    assertEquals(
      {
        passed: report.passed,
        failed: report.failed,
        ignored: report.ignored,
        total: report.total,
      },
      { passed: 1, failed: 1, ignored: 1, total: 3 },
    );
    assertEquals(report.failures.map((f) => [f.name, f.file, f.line, f.message]), [
      ["subtracts", "./math_test.ts", 5, "Uncaught Error: expected 0, got 1"],
    ]);
  });
});

Deno.test("deno/test with require_pass fails the step; deno/fmt, deno/lint and deno/check gates judge the project", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "math_test.ts"), TESTS);
    await Deno.writeTextFile(
      join(ws, "strict.yaml"),
      "name: strict\nsteps:\n  - id: test\n    uses: deno/test\n    with: { require_pass: true }\n",
    );
    const strict = await lily(["run", "start", "strict.yaml"], { workspace: ws, env: SANDBOX_ENV });
    assertEquals(strict.code, 1);
    assertMatch(strict.stderr, /test#1 failed[^\n]*: 1 of 3 tests failed: subtracts/);
    const none = await lilyJson<unknown[]>(
      ["artifact", "list", "--type", "deno/test_report.v1"],
      ws,
    );
    assertEquals(none, [], "a failed attempt keeps no report");

    await Deno.writeTextFile(join(ws, "ugly.ts"), "export const x:number=1\n");
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: tools
steps:
  - id: tools
    shell: "true"
gates:
  - id: fmt
    step: tools
    uses: deno/fmt
    required: false
  - id: lint
    step: tools
    uses: deno/lint
  - id: check
    step: tools
    uses: deno/check
`,
    );
    const run = await lily(["run", "start", "flow.yaml", "--jobs", "1"], {
      workspace: ws,
      env: SANDBOX_ENV,
    });
    assertEquals(run.code, 0, run.stderr);
    assertMatch(run.stderr, /gate fmt on tools#1: fail \(optional\)[\s\S]*ugly\.ts/);
    assertMatch(run.stderr, /gate lint on tools#1: pass/);
    assertMatch(run.stderr, /gate check on tools#1: pass/);
  });
});

const ESCAPE_TESTS = `Deno.test("writes the workspace", () => {
  Deno.writeTextFileSync("inside.txt", "written");
});
Deno.test("writes outside the workspace", () => {
  Deno.writeTextFileSync(new URL("../outside.txt", import.meta.url), "written");
});
`;

/** Runs the escape tests with Deno's own write permission, so only the sandbox can stop them. */
async function escapeRun(root: string, env: Record<string, string>): Promise<Report> {
  const ws = join(root, "ws");
  await Deno.mkdir(ws);
  await Deno.writeTextFile(join(ws, "escape_test.ts"), ESCAPE_TESTS);
  await Deno.writeTextFile(
    join(ws, "flow.yaml"),
    "name: escape\nsteps:\n  - id: test\n    uses: deno/test\n    with: { args: [--allow-read, --allow-write] }\n",
  );
  const run = await lily(["run", "start", "flow.yaml"], { workspace: ws, env });
  assertEquals(run.code, 0, run.stderr);
  return await reportOf(ws);
}

Deno.test({
  name:
    "deno/test cannot write the workspace or outside it; the same run unsandboxed (the control) can",
  ignore: !SANDBOXED,
  fn: async () => {
    await withTempDir(async (root) => {
      const confined = await escapeRun(root, {});
      // The workspace is mounted read-only; outside it the sandbox has only its own
      // throwaway tmpfs, so that write lands nowhere on the host.
      const refused = confined.failures.map((f) => [f.name, f.message]);
      assertEquals(refused[0], [
        "writes the workspace",
        "Uncaught Error: Read-only file system (os error 30): writefile 'inside.txt'",
      ]);
      assertEquals(await exists(join(root, "ws", "inside.txt")), false);
      assertEquals(await exists(join(root, "outside.txt")), false);
    });
    await withTempDir(async (root) => {
      const control = await escapeRun(root, { LILY_SANDBOX: "off" });
      assertEquals(control.passed, 2, JSON.stringify(control.failures));
      assertEquals(await Deno.readTextFile(join(root, "ws", "inside.txt")), "written");
      assertEquals(await Deno.readTextFile(join(root, "outside.txt")), "written");
    });
  },
});

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("Deno's JUnit report is read with its entities, skipped tests and self-closing test cases", () => {
  const report = parseJunitReport(`<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="4" failures="1" errors="0" time="0.022">
  <testsuite name="./a_test.ts" tests="4" disabled="1" errors="0" failures="1">
    <testcase name="ok" classname="./a_test.ts" time="0.000" line="1" col="6">
    </testcase>
    <testcase name="quick" classname="./a_test.ts" time="0.000" line="2" col="6"/>
    <testcase name="&quot;quoted&quot; &amp; &#x3C;odd&#62;" classname="./a_test.ts" time="0.002" line="3" col="6">
      <failure message="Uncaught Error: a &lt; b">Error: a &lt; b
    at file:///a_test.ts:3:55</failure>
    </testcase>
    <testcase name="later" classname="./a_test.ts" time="0.000" line="9" col="6">
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>`);
  assertEquals({ ...report, failures: [] }, {
    passed: 2,
    failed: 1,
    ignored: 1,
    total: 4,
    failures: [],
  });
  assertEquals(report.failures[0].name, '"quoted" & <odd>');
  assertEquals(report.failures[0].message, "Uncaught Error: a < b");
  assert(report.failures[0].details.startsWith("Error: a < b\n    at file:///a_test.ts:3:55"));
  let refused = "";
  try {
    parseJunitReport("<html></html>");
  } catch (err) {
    refused = (err as Error).message;
  }
  assertEquals(refused, "expected a JUnit XML report with a <testsuites> element");
});
