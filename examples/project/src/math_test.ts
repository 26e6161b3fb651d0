import { add, mean } from "./math.ts";

Deno.test("add() adds", () => {
  if (add(2, 3) !== 5) throw new Error("2 + 3 should be 5");
});

Deno.test("mean() of nothing is 0", () => {
  if (mean([]) !== 0) throw new Error("mean([]) should be 0");
});
