/**
 * The CLI is a front end of the kernel: it drives and reads runs only
 * through `createKernel`'s operations and queries, so a second front end (a
 * web UI) gets the same behaviour and the same views by calling them.
 */

import { assertEquals } from "./_assert.ts";
import { join, relative } from "node:path";
import { REPO } from "./_helpers.ts";

Deno.test("the CLI reaches the run loop, gates and journals only through the kernel (type imports aside)", async () => {
  const cli = join(REPO, "src", "cli");
  const violations: string[] = [];
  for await (const entry of Deno.readDir(cli)) {
    if (!entry.name.endsWith(".ts")) continue;
    const file = join(cli, entry.name);
    const text = await Deno.readTextFile(file);
    for (
      const match of text.matchAll(
        /^import (type )?[^;]*?from "(\.\.\/(?:runtime|gates)\/[^"]+)";/gms,
      )
    ) {
      if (match[1] === undefined) violations.push(`${relative(REPO, file)} imports ${match[2]}`);
    }
  }
  assertEquals(violations, []);
});
