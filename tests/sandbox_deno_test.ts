/**
 * Escape attempts against a deno step's sandbox: what Deno's permission
 * flags cannot stop (static and `text` imports, symbolic links) and the
 * bubblewrap root must. Each attempt is first shown to work with the flags
 * alone (for symbolic links: to be refused by the kernel's permission
 * broker, which resolves them), so a test that passes proves the sandbox
 * closed a real hole.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { withTempDir } from "./_helpers.ts";
import type { ExecutionContext, ExecutionResult } from "../src/runtime/executors/executor.ts";
import { DenoExecutor } from "../src/runtime/executors/deno_executor.ts";
import { attemptContext, bwrapTest, type FixtureConfinement } from "./_executor_fixtures.ts";

function bwrapDenoTest(name: string, fn: (sandboxed: DenoExecutor) => Promise<void>): void {
  bwrapTest(name, (bwrap) => fn(new DenoExecutor({ bubblewrap: bwrap })));
}

const flagsOnly = new DenoExecutor({ bubblewrap: false });

interface Outcome {
  result: ExecutionResult;
  stdout: string;
  stderr: string;
}

/** Writes `source` as a module in the workspace and runs it as a deno step. */
async function runModule(
  deno: DenoExecutor,
  ws: string,
  source: string,
  overrides: Partial<ExecutionContext> & FixtureConfinement = {},
): Promise<Outcome> {
  const name = `m${crypto.randomUUID().slice(0, 8)}.ts`;
  await Deno.writeTextFile(join(ws, name), source);
  // The flags alone are --no-sandbox; a bubblewrap executor runs in the sandbox.
  const ctx = await attemptContext(ws, { sandbox: deno !== flagsOnly, ...overrides });
  const result = await deno.execute({ kind: "deno", module: name, args: [] }, ctx);
  const read = (path: string) => Deno.readTextFile(path).catch(() => "");
  return { result, stdout: await read(ctx.stdoutPath), stderr: await read(ctx.stderrPath) };
}

function textImport(path: string): string {
  return `import s from ${JSON.stringify(path)} with { type: "text" };\nconsole.log(s);\n`;
}

/** A workspace with a store, and a secret dir outside it. */
async function withSetup(
  fn: (ws: string, secretDir: string) => Promise<void>,
  secretParent?: string,
): Promise<void> {
  await withTempDir(async (ws) => {
    await Deno.mkdir(join(ws, ".iris", "runs"), { recursive: true });
    await Deno.writeTextFile(join(ws, ".iris", "index.sqlite"), "index bytes");
    const secretDir = await Deno.makeTempDir({ dir: secretParent, prefix: "lily_ssh_test_" });
    try {
      await Deno.writeTextFile(join(secretDir, "id_rsa"), "PRIVATE KEY");
      await fn(ws, secretDir);
    } finally {
      await Deno.remove(secretDir, { recursive: true });
    }
  });
}

bwrapDenoTest(
  "deno step under bubblewrap cannot text-import a file outside the workspace",
  async (sandboxed) => {
    await withSetup(async (ws, secretDir) => {
      const module = textImport(join(secretDir, "id_rsa"));
      const unconfined = await runModule(flagsOnly, ws, module);
      assertEquals(unconfined.stdout, "PRIVATE KEY\n", "the flags alone let a text import through");

      const confined = await runModule(sandboxed, ws, module);
      assertEquals(confined.result.status, "failed");
      assertEquals(confined.result.summary.sandbox, "bubblewrap");
      assertEquals(confined.stdout, "");
      assertMatch(confined.stderr, /Module not found|No such file/);
      const etc = await runModule(sandboxed, ws, textImport("/etc/hostname"));
      assertEquals(etc.result.status, "failed", "no /etc in the sandbox");
    });
  },
);

bwrapDenoTest(
  "deno step under bubblewrap cannot see files under $HOME, such as ~/.ssh",
  async (sandboxed) => {
    const home = Deno.env.get("HOME");
    assert(home, "HOME is set");
    await withSetup(async (ws, secretDir) => {
      const module = textImport(join(secretDir, "id_rsa"));
      assertEquals((await runModule(flagsOnly, ws, module)).stdout, "PRIVATE KEY\n");
      const confined = await runModule(sandboxed, ws, module);
      assertEquals(confined.result.status, "failed");
      assertEquals(confined.stdout, "");
      // Deno itself still finds its module cache under $HOME.
      const ok = await runModule(sandboxed, ws, 'console.log("ran");\n');
      assertEquals(ok.result.status, "succeeded", ok.stderr);
      assertEquals(ok.stdout, "ran\n");
    }, home);
  },
);

bwrapDenoTest(
  "deno step under bubblewrap cannot text-import the store's index",
  async (sandboxed) => {
    await withSetup(async (ws) => {
      const module = textImport("./.iris/index.sqlite");
      const unconfined = await runModule(flagsOnly, ws, module);
      assertEquals(unconfined.stdout, "index bytes\n", "the flags alone let a text import through");
      const confined = await runModule(sandboxed, ws, module);
      assertEquals(confined.result.status, "failed");
      assertEquals(confined.stdout, "");
    });
  },
);

bwrapDenoTest(
  "deno step under bubblewrap cannot read or write through a workspace symlink to a dir outside",
  async (sandboxed) => {
    await withSetup(async (ws, secretDir) => {
      await Deno.symlink(secretDir, join(ws, "sshlink"));
      const read = 'console.log(await Deno.readTextFile("sshlink/id_rsa"));\n';
      const write = 'await Deno.writeTextFile("sshlink/planted.txt", "planted");\n';
      const imported = textImport("./sshlink/id_rsa");

      // Without bubblewrap the broker resolves the link (the flags alone follow it).
      for (const source of [read, write]) {
        const brokered = await runModule(flagsOnly, ws, source);
        assertEquals(brokered.result.status, "failed", source);
        assertEquals(brokered.stdout, "", source);
        assertMatch(brokered.stderr, /Lily policy: .*sshlink.* leads to .*outside every/);
        assertEquals(brokered.result.violations?.[0]?.decidedBy, "broker");
      }

      for (const source of [read, write, imported]) {
        for (const readOnlyWorkspace of [false, true]) {
          const confined = await runModule(sandboxed, ws, source, { readOnlyWorkspace });
          assertEquals(confined.result.status, "failed", source);
          assertEquals(confined.stdout, "", source);
        }
      }
      const entries = [];
      for await (const entry of Deno.readDir(secretDir)) entries.push(entry.name);
      assertEquals(entries, ["id_rsa"]);
      assertEquals(await Deno.readTextFile(join(secretDir, "id_rsa")), "PRIVATE KEY");
    });
  },
);

bwrapDenoTest(
  "deno step under bubblewrap cannot write the module cache through a workspace symlink",
  async (sandboxed) => {
    const home = Deno.env.get("HOME") ?? "/";
    const cache = Deno.env.get("DENO_DIR") ?? join(home, ".cache", "deno");
    await withSetup(async (ws) => {
      await Deno.symlink(cache, join(ws, "cachelink"));
      const planted = join(cache, `lily_planted_${crypto.randomUUID()}`);
      const name = planted.slice(cache.length + 1);
      const result = await runModule(
        sandboxed,
        ws,
        `await Deno.writeTextFile(${JSON.stringify(`cachelink/${name}`)}, "poison");\n`,
      );
      try {
        assertEquals(result.result.status, "failed");
        // The broker refuses it first (the real path is outside every write path);
        // bubblewrap, which binds the cache read-only, is the wall behind.
        assertMatch(
          result.stderr,
          /Lily policy: .*cachelink.* leads to .*outside every write path/,
        );
        assertEquals(await Deno.lstat(planted).catch(() => "absent"), "absent");
      } finally {
        await Deno.remove(planted).catch(() => {});
      }
    });
  },
);

bwrapDenoTest(
  "deno step under bubblewrap still imports npm packages already in the module cache",
  async (sandboxed) => {
    await withSetup(async (ws) => {
      // The kernel's own dependency, cached by the time these tests run.
      const outcome = await runModule(
        sandboxed,
        ws,
        'import canonicalize from "npm:canonicalize@5.1.0";\nconsole.log(canonicalize({ b: 1, a: 2 }));\n',
      );
      assertEquals(outcome.result.status, "succeeded", outcome.stderr);
      assertEquals(outcome.stdout, '{"a":2,"b":1}\n');
    });
  },
);
