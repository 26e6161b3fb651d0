/**
 * A process that cannot start says why: a missing or non-directory cwd, a
 * program that is not on PATH, not there, a directory, not executable, of a
 * format this machine cannot run, or naming a `#!` interpreter that does not
 * exist. For steps and for gates, with bubblewrap and without it.
 */

import { assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { runInBubblewrap } from "../src/runtime/executors/bubblewrap.ts";
import { CommandExecutor } from "../src/runtime/executors/command_executor.ts";
import { runProcessTree } from "../src/runtime/executors/process_tree.ts";
import { attemptContext, bwrapTest, HOST_ROOT_MOUNTS, PATH } from "./_executor_fixtures.ts";
import { lily, withTempDir } from "./_helpers.ts";

/** An ELF header (64-bit, little-endian, executable) for a machine this one does not run. */
function foreignElf(): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  bytes[16] = 2;
  bytes[18] = Deno.build.arch === "x86_64" ? 183 : 62;
  return bytes;
}

const FOREIGN = Deno.build.arch === "x86_64" ? "aarch64" : "x86_64";

/** Each cause: the runner fields of a step or gate, and the message expected, given the workspace. */
const CAUSES: Record<string, { runner: string; message: (ws: string) => string }> = {
  no_cwd: {
    runner: 'command: ["true"], cwd: missing',
    message: (ws) =>
      `Working directory "${ws}/missing" does not exist; create it first or change the cwd`,
  },
  shell_no_cwd: {
    runner: 'shell: "echo hi", cwd: missing',
    message: (ws) =>
      `Working directory "${ws}/missing" does not exist; create it first or change the cwd`,
  },
  file_cwd: {
    runner: 'command: ["true"], cwd: afile',
    message: (ws) => `Working directory "${ws}/afile" is not a directory; expected a directory`,
  },
  not_on_path: {
    runner: "command: [lily-no-such-program]",
    message: () => 'Program "lily-no-such-program" not found on PATH; install it or give its path',
  },
  no_file: {
    runner: "command: [./nope.sh]",
    message: (ws) =>
      `Program "./nope.sh" does not exist (looked for ${ws}/nope.sh); check its path`,
  },
  directory: {
    runner: "command: [./adir]",
    message: (ws) => `Program "./adir" is a directory (${ws}/adir); expected an executable file`,
  },
  not_executable: {
    runner: "command: [./plain.sh]",
    message: (ws) =>
      `Program "./plain.sh" cannot be executed: permission denied (${ws}/plain.sh has no ` +
      "execute permission; chmod +x would allow it)",
  },
  binary: {
    runner: "command: [./junk.bin]",
    message: () =>
      'Program "./junk.bin" cannot be executed: exec format error ' +
      "(neither a #! script nor an executable for this machine)",
  },
  other_machine: {
    runner: "command: [./other.elf]",
    message: () =>
      'Program "./other.elf" cannot be executed: exec format error ' +
      `(built for ${FOREIGN}; this machine is ${Deno.build.arch})`,
  },
  bad_interpreter: {
    runner: "command: [./py.sh]",
    message: () =>
      'Program "./py.sh" cannot be executed: the interpreter its #! line names, ' +
      '"/usr/bin/lily-no-such-python", does not exist',
  },
  crlf: {
    runner: "command: [./crlf.sh]",
    message: () =>
      'Program "./crlf.sh" cannot be executed: the interpreter its #! line names, ' +
      '"/bin/sh\\r", does not exist (the file has Windows line endings)',
  },
  deno_no_cwd: {
    runner: "deno: m.ts, cwd: missing",
    message: (ws) =>
      `Working directory "${ws}/missing" does not exist; create it first or change the cwd`,
  },
};

async function plantFiles(ws: string): Promise<void> {
  await Deno.writeTextFile(join(ws, "afile"), "");
  await Deno.mkdir(join(ws, "adir"));
  await Deno.writeTextFile(join(ws, "plain.sh"), "echo hi\n", { mode: 0o644 });
  await Deno.writeFile(join(ws, "junk.bin"), new Uint8Array([1, 0, 2, 0, 3]), { mode: 0o755 });
  await Deno.writeFile(join(ws, "other.elf"), foreignElf(), { mode: 0o755 });
  await Deno.writeTextFile(join(ws, "py.sh"), "#!/usr/bin/lily-no-such-python\nprint(1)\n", {
    mode: 0o755,
  });
  await Deno.writeTextFile(join(ws, "crlf.sh"), "#!/bin/sh\r\necho hi\r\n", { mode: 0o755 });
  await Deno.writeTextFile(join(ws, "m.ts"), "console.log('ran');\n");
  await Deno.chmod(join(ws, "plain.sh"), 0o644);
}

async function artifactJson(ws: string, id: string): Promise<{ reasons: string[] }> {
  const got = await lily(["artifact", "get", id], { workspace: ws });
  assertEquals(got.code, 0, got.stderr);
  return JSON.parse(got.stdout);
}

Deno.test("a step that cannot start names the cause: cwd, PATH, path, permission, format, #!", async () => {
  await withTempDir(async (ws) => {
    await plantFiles(ws);
    // One run per cause: a run stops at its first failed step.
    for (const [id, cause] of Object.entries(CAUSES)) {
      await Deno.writeTextFile(
        join(ws, `${id}.yaml`),
        `name: ${id}\nsteps:\n  - { id: ${id}, ${cause.runner} }\n`,
      );
      const result = await lily(["run", "start", `${id}.yaml`, "--json"], { workspace: ws });
      assertEquals(result.code, 1, result.stderr);
      const attempt = JSON.parse(result.stdout).run_state.steps[id].attempts[0];
      assertEquals([attempt.status, attempt.exit_code], ["failed", null], id);
      assertEquals(attempt.message, cause.message(ws), id);
    }
  });
});

Deno.test("a gate that cannot start names the cause and is recorded as an error", async () => {
  await withTempDir(async (ws) => {
    await plantFiles(ws);
    const gates = Object.entries(CAUSES).map(([id, cause]) =>
      `  - { id: ${id}, step: build, required: false, ${cause.runner} }`
    );
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: spawn\nsteps:\n  - { id: build, shell: "true" }\ngates:\n${gates.join("\n")}\n`,
    );
    const result = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
    assertEquals(result.code, 0, result.stderr);
    const gatesRun = JSON.parse(result.stdout).run_state.steps.build.attempts[0].gates;
    for (const [id, cause] of Object.entries(CAUSES)) {
      assertEquals(gatesRun[id].status, "error", id);
      const payload = await artifactJson(ws, gatesRun[id].result_id);
      assertEquals(payload.reasons, [cause.message(ws)], id);
    }
  });
});

Deno.test("a spawn that fails after the checks still names the working directory", async () => {
  await withTempDir(async (ws) => {
    const ctx = await attemptContext(ws);
    await Deno.writeTextFile(join(ws, "afile"), "");
    // runProcessTree spawns without checking first, as after a race with the checks.
    const spawn = async (cwd: string) =>
      await runProcessTree("/bin/sh", { ...ctx, args: ["-c", "true"], cwd });
    const missing = await spawn(join(ws, "gone"));
    assertEquals([missing.status, missing.exitCode], ["failed", null]);
    assertEquals(
      missing.message,
      `Working directory "${ws}/gone" does not exist; create it first or change the cwd`,
    );
    const file = await spawn(join(ws, "afile"));
    assertEquals(
      file.message,
      `Working directory "${ws}/afile" is not a directory; expected a directory`,
    );
  });
});

Deno.test("without bubblewrap a step and a gate that cannot start name the cause too", async () => {
  await withTempDir(async (ws) => {
    const executor = new CommandExecutor({ bubblewrap: false });
    for (const readOnlyWorkspace of [false, true]) {
      const ctx = await attemptContext(ws, { env: { PATH }, readOnlyWorkspace });
      const noCwd = await executor.execute(
        { kind: "command", argv: ["sh", "-c", "true"] },
        { ...ctx, cwd: join(ws, "missing") },
      );
      assertEquals(noCwd.message, CAUSES.no_cwd.message(ws));
      const notOnPath = await executor.execute(
        { kind: "command", argv: ["lily-no-such-program"] },
        ctx,
      );
      assertEquals(notOnPath.message, CAUSES.not_on_path.message(ws));
    }
  });
});

bwrapTest("bubblewrap's own exec and chdir errors are translated", async (bwrap) => {
  await withTempDir(async (ws) => {
    const ctx = await attemptContext(ws, { env: { PATH } });
    const run = async (argv: string[], cwd: string) =>
      await runInBubblewrap(argv, { ...ctx, bwrap, cwd, mounts: HOST_ROOT_MOUNTS });
    const missing = await run([join(ws, "vanished")], ws);
    assertEquals(missing.exitCode, null);
    assertEquals(
      missing.message,
      `Program "${ws}/vanished" cannot be executed inside the bubblewrap sandbox: ` +
        "it, or the interpreter or loader it names, does not exist",
    );
    await Deno.writeTextFile(join(ws, "plain"), "", { mode: 0o644 });
    await Deno.chmod(join(ws, "plain"), 0o644);
    const denied = await run([join(ws, "plain")], ws);
    assertEquals(
      denied.message,
      `Program "${ws}/plain" cannot be executed inside the bubblewrap sandbox: permission denied`,
    );
    // A cwd that exists on the host but not in the sandbox.
    await Deno.mkdir(join(ws, "sub"));
    const hidden = await runInBubblewrap(["/bin/true"], {
      ...ctx,
      bwrap,
      cwd: join(ws, "sub"),
      mounts: [...HOST_ROOT_MOUNTS, { mode: "hidden", path: ws }],
    });
    assertEquals(
      hidden.message,
      `Working directory "${ws}/sub" does not exist inside the bubblewrap sandbox; ` +
        "expected a directory the sandbox mounts",
    );
  });
});
