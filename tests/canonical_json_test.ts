import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { canonicalBytes, canonicalForm, canonicalHash, canonicalJson } from "../contracts.ts";
import { ValidationError } from "../mod.ts";
import { jsonIssues } from "../src/core/canonical_json.ts";
import { formatIssuePath } from "../src/core/issue.ts";
import { REPO } from "./_helpers.ts";

const VECTORS = join(REPO, "tests", "testdata", "rfc8785");

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function doubleFromHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

function rejection(value: unknown): ValidationError {
  let caught: unknown;
  try {
    canonicalJson(value);
  } catch (err) {
    caught = err;
  }
  assert(caught instanceof ValidationError, `expected a ValidationError, got ${caught}`);
  return caught;
}

for (const name of ["arrays", "french", "structures", "unicode", "values", "weird"]) {
  Deno.test(`canonicalJson() gives the RFC 8785 bytes of the ${name} vector`, async () => {
    const input = JSON.parse(await Deno.readTextFile(join(VECTORS, "input", `${name}.json`)));
    const expected = await Deno.readFile(join(VECTORS, "output", `${name}.json`));
    assertEquals(canonicalBytes(input), expected);
    assertEquals(canonicalHash(input), sha256(expected));
  });
}

Deno.test("canonicalJson() serializes the RFC 8785 Appendix B numbers exactly", async () => {
  const lines = (await Deno.readTextFile(join(VECTORS, "numbers.csv"))).trim().split("\n");
  assert(lines.length >= 25);
  for (const line of lines) {
    const [hex, expected] = line.split(",");
    const value = doubleFromHex(hex);
    if (expected === "error") {
      assertThrows(() => canonicalJson(value), ValidationError, hex);
    } else {
      assertEquals(canonicalJson(value), expected, `${hex} -> ${expected}`);
      assertEquals(canonicalJson([value]), `[${expected}]`);
    }
  }
});

Deno.test("canonicalJson() writes the RFC's number examples the shortest way", () => {
  assertEquals(canonicalJson(1e21), "1e+21");
  assertEquals(canonicalJson(333333333.33333329), "333333333.3333333");
  assertEquals(canonicalJson(-0), "0");
  assertEquals(
    canonicalJson({ n: [4.5, 2e-3, 1e-27, 1e30, 100] }),
    '{"n":[4.5,0.002,1e-27,1e+30,100]}',
  );
});

Deno.test("canonicalJson() orders keys by UTF-16 code units, not code points or locale", () => {
  // U+1F602 is the surrogate pair D83D DE02, which sorts before U+FB33 by
  // code unit although its code point is larger.
  const value = {
    "\uFB33": 1,
    "\u{1F602}": 2,
    "\u00F6": 3,
    "a": 4,
    "B": 5,
    "": 6,
    "10": 7,
    "1": 8,
  };
  assertEquals(
    canonicalJson(value),
    '{"":6,"1":8,"10":7,"B":5,"a":4,"\u00F6":3,"\u{1F602}":2,"\uFB33":1}',
  );
});

Deno.test("canonicalJson() escapes only what JSON requires and keeps other text as UTF-8", () => {
  assertEquals(
    canonicalJson("\u20ac$\u000F\nA'B\"\\/\u007f\u0080</script>"),
    '"\u20ac$\\u000f\\nA\'B\\"\\\\/\u007f\u0080</script>"',
  );
  assertEquals(canonicalJson("\b\f\r\t\u0000"), '"\\b\\f\\r\\t\\u0000"');
  assertEquals(canonicalBytes("A\u030a"), new Uint8Array([0x22, 0x41, 0xcc, 0x8a, 0x22]));
});

Deno.test("canonicalJson() rejects NaN and Infinity, naming the JSON path", () => {
  const err = rejection({ scores: [1, NaN], limits: { max: Infinity, min: -Infinity } });
  assertEquals(err.issues.map((i) => [i.code, i.path]), [
    ["non_finite_number", "$.scores[1]"],
    ["non_finite_number", "$.limits.max"],
    ["non_finite_number", "$.limits.min"],
  ]);
  assert(err.message.includes("$.scores[1]"), err.message);
  assert(err.message.includes("NaN"), err.message);
});

Deno.test("canonicalJson() rejects undefined, BigInt, functions and symbols, naming the path", () => {
  const cases: [unknown, string, string][] = [
    [{ a: undefined }, "$.a", "undefined"],
    [[1, undefined], "$[1]", "undefined"],
    [{ big: 10n }, "$.big", "BigInt 10n"],
    [{ steps: [{ run: () => 1 }] }, "$.steps[0].run", "function"],
    [{ tag: Symbol("x") }, "$.tag", "symbol"],
    [{ "odd key": { when: new Date(0) } }, '$["odd key"].when', "Date"],
    [undefined, "$", "undefined"],
  ];
  for (const [value, path, what] of cases) {
    const err = rejection(value);
    assertEquals(err.issues[0].path, path);
    assert(err.message.includes(path) && err.message.includes(what), err.message);
  }
});

Deno.test("canonicalJson() rejects cycles, naming where the value refers back", () => {
  const node: Record<string, unknown> = { name: "root", children: [] };
  (node.children as unknown[]).push({ parent: node });
  const err = rejection(node);
  assertEquals(err.issues[0].code, "cycle");
  assertEquals(err.issues[0].path, "$.children[0].parent");
});

Deno.test("canonicalJson() accepts a value shared twice without a cycle", () => {
  const shared = { x: 1 };
  assertEquals(canonicalJson({ a: shared, b: shared }), '{"a":{"x":1},"b":{"x":1}}');
});

Deno.test("canonicalJson() rejects lone surrogates in strings and keys, naming the path", () => {
  const err = rejection({ text: ["ok \u{1F602}", "bad \uD83D"], ["\uDE02"]: 1 });
  assertEquals(err.issues.map((i) => [i.code, i.path]), [
    ["lone_surrogate", "$.text[1]"],
    ["lone_surrogate", '$["\\ude02"]'],
  ]);
});

Deno.test("jsonIssues() lists every problem and is empty for plain JSON", () => {
  assertEquals(jsonIssues({ a: [1, "x", null, true, { b: {} }] }), []);
  assertEquals(jsonIssues({ a: NaN, b: [undefined] }).map((i) => i.path), ["$.a", "$.b[0]"]);
});

Deno.test("formatIssuePath() writes identifiers with dots and everything else in brackets", () => {
  assertEquals(formatIssuePath([]), "$");
  assertEquals(formatIssuePath(["steps", 0, "id"]), "$.steps[0].id");
  assertEquals(formatIssuePath(["env", "MY-VAR", "1x"]), '$.env["MY-VAR"]["1x"]');
});

Deno.test("canonicalForm() gives matching text, bytes and hash in one pass", () => {
  const form = canonicalForm({ z: [true, null], a: "\u00e9" });
  assertEquals(form.text, '{"a":"\u00e9","z":[true,null]}');
  assertEquals(form.bytes, new TextEncoder().encode(form.text));
  assertEquals(form.sha256, sha256(form.bytes));
  assertEquals(form.sha256, canonicalHash({ a: "\u00e9", z: [true, null] }));
});
