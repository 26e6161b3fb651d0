/**
 * The `agent` pack's patch logic without a disk: a reply's diff, parsing,
 * applying all or nothing, the work order's scope and base hashes.
 */

import { assert, assertEquals, assertThrows } from "./_assert.ts";

/** Asserts `fn` throws an instance of `type` whose message includes `text`. */
function assertThrowsWith(
  fn: () => unknown,
  type: new (message: string) => Error,
  text: string,
): void {
  assertThrows(fn, (err: unknown) => {
    assert(err instanceof type, `expected a ${type.name}, got ${err}`);
    assert(
      err.message.includes(text),
      `${JSON.stringify(err.message)} lacks ${JSON.stringify(text)}`,
    );
    return true;
  });
}
import {
  applyUnifiedDiff,
  basePaths,
  diffOfReply,
  parseUnifiedDiff,
  PatchError,
  touchedPaths,
} from "../packs/agent/unified_patch.ts";
import {
  baseMismatches,
  inScope,
  mismatchMessage,
  ScopeError,
  scopeOf,
  sha256Text,
} from "../packs/agent/patch_scope.ts";
import { EDIT_SYSTEM, editMessages, feedbackText } from "../packs/agent/edit_prompt.ts";

const SOURCE = "export function twice(n: number): number {\n  return n + 2;\n}\n";

const FIX = `--- a/src/twice.ts
+++ b/src/twice.ts
@@ -1,3 +1,3 @@
 export function twice(n: number): number {
-  return n + 2;
+  return n * 2;
 }
`;

Deno.test("diffOfReply: a bare diff, one fenced block, or a clear refusal", () => {
  assertEquals(diffOfReply(FIX), FIX);
  assertEquals(diffOfReply(`Here is the fix:\n\n\`\`\`diff\n${FIX}\`\`\`\nDone.`), FIX);
  assertEquals(diffOfReply(FIX.trimEnd()), FIX);
  assertThrowsWith(
    () => diffOfReply("I think the bug is in twice()."),
    PatchError,
    'The reply is not a unified diff (it starts "I think the bug is in twice().")',
  );
  assertThrowsWith(
    () => diffOfReply(`\`\`\`diff\n${FIX}\`\`\`\n\`\`\`diff\n${FIX}\`\`\`\n`),
    PatchError,
    "The reply holds 2 fenced diffs",
  );
});

Deno.test("parseUnifiedDiff: paths without a/ b/, creations and deletions, and every malformed kind", () => {
  const changes = parseUnifiedDiff(
    FIX + "--- /dev/null\n+++ b/src/new.ts\n@@ -0,0 +1 @@\n+export const x = 1;\n" +
      "--- a/src/old.ts\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n",
  );
  assertEquals(changes.map((c) => [c.oldPath, c.newPath]), [
    ["src/twice.ts", "src/twice.ts"],
    [null, "src/new.ts"],
    ["src/old.ts", null],
  ]);
  assertEquals(touchedPaths(changes), ["src/twice.ts", "src/new.ts", "src/old.ts"]);
  assertEquals([...basePaths(changes)], [
    ["src/twice.ts", true],
    ["src/new.ts", false],
    ["src/old.ts", true],
  ]);
  assertThrowsWith(() => parseUnifiedDiff("just words\n"), PatchError, "The diff changes no file");
  assertThrowsWith(
    () => parseUnifiedDiff("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n x\n"),
    PatchError,
    "The diff cannot be read",
  );
  assertThrowsWith(
    () => parseUnifiedDiff("--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n"),
    PatchError,
    'The diff names "a/../etc/passwd": expected a path without empty, . or .. parts',
  );
  assertThrowsWith(
    () => parseUnifiedDiff("--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n"),
    PatchError,
    "expected a path relative to the workspace",
  );
  assertThrowsWith(() => parseUnifiedDiff(FIX + FIX), PatchError, "changes src/twice.ts twice");
});

Deno.test("applyUnifiedDiff: exact context only, all or nothing", () => {
  const changes = parseUnifiedDiff(FIX);
  const after = applyUnifiedDiff(changes, new Map([["src/twice.ts", SOURCE]]));
  assertEquals(after.get("src/twice.ts"), SOURCE.replace("n + 2", "n * 2"));
  assertThrowsWith(
    () => applyUnifiedDiff(changes, new Map([["src/twice.ts", SOURCE.replace("n + 2", "n+2")]])),
    PatchError,
    "Hunk 1 of src/twice.ts (@@ -1,3) does not match the file",
  );
  assertThrowsWith(
    () => applyUnifiedDiff(changes, new Map([["src/twice.ts", null]])),
    PatchError,
    "The diff changes src/twice.ts, which does not exist",
  );
  const create = parseUnifiedDiff("--- /dev/null\n+++ b/src/twice.ts\n@@ -0,0 +1 @@\n+x\n");
  assertThrowsWith(
    () => applyUnifiedDiff(create, new Map([["src/twice.ts", SOURCE]])),
    PatchError,
    "The diff creates src/twice.ts, which exists already",
  );
  const rename = parseUnifiedDiff(
    "--- a/src/twice.ts\n+++ b/src/double.ts\n@@ -1,3 +1,3 @@\n" + FIX.split("@@\n")[1],
  );
  const renamed = applyUnifiedDiff(rename, new Map([["src/twice.ts", SOURCE]]));
  assertEquals(renamed.get("src/twice.ts"), null);
  assertEquals(renamed.get("src/double.ts"), SOURCE.replace("n + 2", "n * 2"));
});

Deno.test("scopeOf reads constraints.paths; inScope is equality or a directory prefix", () => {
  const scope = scopeOf({ goal: "g", constraints: { paths: ["src/", "./README.md", "lib//"] } });
  assertEquals(scope, ["src", "README.md", "lib"]);
  assert(inScope("src/twice.ts", scope));
  assert(inScope("README.md", scope));
  assert(!inScope("src_old/x.ts", scope));
  assert(!inScope("README.md.bak", scope));
  assert(!inScope("tests/twice_test.ts", scope));
  assert(inScope("anything/at/all", scopeOf({ goal: "g", constraints: { paths: ["."] } })));
  assertThrowsWith(() => scopeOf({ goal: "g" }), ScopeError, "expected constraints.paths");
  assertThrowsWith(
    () => scopeOf({ goal: "g", constraints: ["no tests"] }),
    ScopeError,
    "names no files in scope",
  );
  assertThrowsWith(
    () => scopeOf({ goal: "g", constraints: { paths: ["src/*.ts"] } }),
    ScopeError,
    'constraints.paths[0] of the work order ("src/*.ts"): expected a file or directory, not a glob',
  );
  assertThrowsWith(
    () => scopeOf({ goal: "g", constraints: { paths: ["../up"] } }),
    ScopeError,
    "expected a path without empty, . or .. parts",
  );
});

Deno.test("baseMismatches names each file that changed, appeared or vanished since the patch was made", () => {
  const a = sha256Text("a\n");
  assertEquals(a, "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7");
  const bases = [
    { path: "same", base_sha256: a },
    { path: "changed", base_sha256: a },
    { path: "created", base_sha256: null },
    { path: "vanished", base_sha256: a },
  ];
  const now = new Map<string, string | null>([
    ["same", a],
    ["changed", sha256Text("b\n")],
    ["created", a],
    ["vanished", null],
  ]);
  const found = baseMismatches(bases, now);
  assertEquals(found.map((m) => m.path), ["changed", "created", "vanished"]);
  assertEquals(
    mismatchMessage(found[0]),
    "changed is not the file the patch was made against (sha256 87428fc52280… expected, " +
      `${sha256Text("b\n").slice(0, 12)}… found)`,
  );
  assertEquals(mismatchMessage(found[1]).includes("absent expected"), true);
});

Deno.test("feedbackText puts each kind of failing record in words; editMessages says which round it is", () => {
  const gate = JSON.stringify({
    gate_id: "green",
    step_id: "test",
    status: "fail",
    reasons: ["1 of 3 tests failed: sorts (./a_test.ts:3): expected 9, got 2"],
  });
  assertEquals(
    feedbackText("gate_result.v1", gate),
    "Gate green on step test: fail\n1 of 3 tests failed: sorts (./a_test.ts:3): expected 9, got 2",
  );
  const failure = JSON.stringify({
    step_id: "apply",
    attempt: 1,
    status: "failed",
    message: "Policy violation: agent/apply_patch refused to write a_test.ts: outside the scope",
  });
  assertEquals(
    feedbackText("step_failure.v1", failure),
    "Step apply attempt 1: failed: Policy violation: agent/apply_patch refused to write a_test.ts: outside the scope",
  );
  const report = JSON.stringify({
    passed: 1,
    failed: 1,
    total: 2,
    failures: [{ name: "sorts", file: "./a_test.ts", message: "expected 9, got 2" }],
  });
  assertEquals(
    feedbackText("deno/test_report.v1", report),
    "1 of 2 tests failed:\n- sorts (./a_test.ts): expected 9, got 2",
  );
  assertEquals(feedbackText("note.v1", "plain words"), "plain words");

  const request = {
    workOrder: { goal: "Fix it", acceptance_criteria: ["tests pass"] },
    scope: ["src"],
    files: [{ path: "src/a.ts", text: "export const a = 1;\n", sha256: sha256Text("") }],
    skipped: ["src/logo.png"],
    system: EDIT_SYSTEM,
  };
  const [system, first] = editMessages({ ...request, feedback: null });
  assertEquals(system, { role: "system", content: EDIT_SYSTEM });
  assert(first.content.includes("Goal: Fix it"));
  assert(first.content.includes("- tests pass"));
  assert(first.content.includes("## src/a.ts\n\n```\nexport const a = 1;\n```"));
  assert(first.content.includes("Not shown (binary or too large): src/logo.png"));
  assert(first.content.includes("None yet: this is the first attempt."));
  const [, again] = editMessages({ ...request, feedback: "Gate green on step test: fail" });
  assert(again.content.includes("it failed:\n\nGate green on step test: fail"));
  assert(!again.content.includes("None yet"));
});
