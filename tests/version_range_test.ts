/** Pack version ranges (`lily: "^0.1.0"`): the subset of npm's range syntax packs use. */

import { assertEquals } from "./_assert.ts";
import { isVersion, isVersionRange, satisfies } from "../pack.ts";

Deno.test("ranges hold the versions npm's would, for the forms packs use", () => {
  const cases: [string, string, boolean][] = [
    ["0.1.0", "^0.1.0", true],
    ["0.1.9", "^0.1.0", true],
    ["0.2.0", "^0.1.0", false],
    ["1.9.9", "^1.2.3", true],
    ["1.2.2", "^1.2.3", false],
    ["2.0.0", "^1.2.3", false],
    ["0.0.3", "^0.0.3", true],
    ["0.0.4", "^0.0.3", false],
    ["1.2.9", "~1.2.3", true],
    ["1.3.0", "~1.2.3", false],
    ["1.9.0", "~1", true],
    ["0.1.5", ">=0.1.0 <0.2.0", true],
    ["0.2.0", ">=0.1.0 <0.2.0", false],
    ["0.1.0", ">0.1.0", false],
    ["0.1.1", ">0.1.0", true],
    ["0.1.7", "<=0.1", true],
    ["0.2.0", "<=0.1", false],
    ["3.4.5", "3.x", true],
    ["4.0.0", "3.x", false],
    ["9.9.9", "*", true],
    ["1.2.3", "1.2.3", true],
    ["1.2.4", "=1.2.3", false],
    ["1.5.0", ">=1.0.0 <2.0.0 || >=3.0.0", true],
    ["2.5.0", ">=1.0.0 <2.0.0 || >=3.0.0", false],
    ["3.1.0", ">= 1.0.0 < 2.0.0 || >= 3.0.0", true],
  ];
  for (const [version, range, expected] of cases) {
    assertEquals(satisfies(version, range), expected, `${version} in ${range}`);
  }
});

Deno.test("malformed versions and ranges are told apart from valid ones", () => {
  assertEquals(["1.0.0", "v1.2.3", "1.0.0-beta.1"].map(isVersion), [true, true, true]);
  assertEquals(["1.0", "one", ""].map(isVersion), [false, false, false]);
  assertEquals(["^1", ">=1 <2", "1.x || 2.x"].map(isVersionRange), [true, true, true]);
  assertEquals(["", "banana", ">=>1", "^1.2.3.4"].map(isVersionRange), [
    false,
    false,
    false,
    false,
  ]);
  assertEquals(satisfies("nope", "*"), false);
});
