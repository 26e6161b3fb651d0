import { median } from "./stats.ts";

function expect(actual: number, expected: number, what: string): void {
  if (!Object.is(actual, expected)) throw new Error(`${what} should be ${expected}, got ${actual}`);
}

Deno.test("median() of sorted numbers", () => {
  expect(median([1, 2, 3]), 2, "median([1, 2, 3])");
  expect(median([1, 2, 3, 4]), 2.5, "median([1, 2, 3, 4])");
});

Deno.test("median() of unsorted numbers", () => {
  expect(median([10, 2, 9]), 9, "median([10, 2, 9])");
});

Deno.test("median() of nothing is NaN", () => {
  expect(median([]), NaN, "median([])");
});
