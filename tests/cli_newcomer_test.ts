/**
 * What a new user trips over: prompts and failures shown where they are
 * needed, hints that work as typed, one line per error, one JSON document
 * per `--json` failure, help that lists the global options, a mistyped
 * workspace, and nothing left behind in the temp dir.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { KERNEL_VERSION } from "../mod.ts";
import {
  assertCleanError,
  CLI,
  type CliResult,
  lily,
  lilyJson,
  REPO,
  runHint,
  runProgram,
  withTempDir,
} from "./_helpers.ts";

/** Runs `lily` from `cwd` naming the workspace with `--workspace`, as a user elsewhere would. */
function lilyAt(cwd: string, ws: string, args: string[], env: Record<string, string> = {}) {
  return lily([...args, "--workspace", ws], { cwd, env });
}

/** The hint after `label` in the output, e.g. `Details: lily run show …`. */
function hintAfter(text: string, label: string): string {
  const found = text.match(new RegExp(`${label} (lily [^\\n]*?)(?: \\(or add[^\\n]*)?$`, "m"));
  if (!found) throw new Error(`no "${label}" hint in:\n${text}`);
  return found[1];
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** A workspace and, beside it, another directory the user types in. */
async function withWorkspaceElsewhere(fn: (ws: string, cwd: string) => Promise<void>) {
  await withTempDir(async (dir) => {
    const ws = join(dir, "my workspace");
    const cwd = join(dir, "elsewhere");
    await Deno.mkdir(ws);
    await Deno.mkdir(cwd);
    await fn(ws, cwd);
  });
}

Deno.test("a human gate's prompt shows when the run pauses, in run show and when approving; a decided gate says who decided and why; an unknown gate is named", async () => {
  await withWorkspaceElsewhere(async (ws, cwd) => {
    const env = { LILY_USER: "alice" };
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: review
steps:
  - { id: build, shell: "true" }
gates:
  - { id: review, step: build, human: { prompt: "Ship release 1.2?" } }
`,
    );
    const paused = await lilyAt(cwd, ws, ["run", "start", join(ws, "flow.yaml")], env);
    assertEquals(paused.code, 3, paused.stderr);
    assertMatch(paused.stderr, /waits for gate review: "Ship release 1\.2\?"/);
    const runId = paused.stdout.match(/^Run (\S+) /)![1];

    const shown = await lilyAt(cwd, ws, ["run", "show", runId], env);
    assertMatch(shown.stdout, /human gate review on build#1 asks "Ship release 1\.2\?": waiting/);
    const shownJson = JSON.parse((await lilyAt(cwd, ws, ["run", "show", runId, "--json"])).stdout);
    assertEquals(shownJson.human_gates[0].prompt, "Ship release 1.2?");
    assertEquals(shownJson.human_gates[0].status, "waiting");

    // The hint printed when the run paused works as typed, from another directory.
    const approve = hintAfter(paused.stderr, "decide with:");
    const approved = await runHint(`${approve} --reason 'tests are green'`, cwd, env);
    assertEquals(approved.code, 0, approved.stderr);
    assertMatch(approved.stdout, /Gate review on build#1 \("Ship release 1\.2\?"\): approved/);

    const decided = await lilyAt(cwd, ws, ["run", "show", runId], env);
    assertMatch(
      decided.stdout,
      /human gate review on build#1 asks "Ship release 1\.2\?": approved by alice at \d{4}-\d\d-\d\dT[\d:.]+Z: tests are green/,
    );
    const decidedJson = JSON.parse(
      (await lilyAt(cwd, ws, ["run", "show", runId, "--json"])).stdout,
    );
    assertEquals(decidedJson.human_gates[0].reason, "tests are green");
    assertEquals(decidedJson.human_gates[0].decided_by, "alice");

    assertCleanError(
      await lilyAt(cwd, ws, ["approve", runId, "review"], { LILY_USER: "bob" }),
      2,
      /Gate "review" of run \S+ was already approved by alice at \d{4}-[\d\-T:.]+Z; nothing to decide/,
    );
    // After the decision: a gate the workflow lacks is named, with the gates that exist.
    assertCleanError(
      await lilyAt(cwd, ws, ["approve", runId, "reveiw"], env),
      2,
      new RegExp(
        `^lily: Run ${runId}'s workflow has no gate "reveiw" \\(did you mean "review"\\?\\); ` +
          "its human gates: review$",
      ),
    );
    const resumed = await runHint(hintAfter(approved.stdout, "Continue with:"), cwd, env);
    assertEquals(resumed.code, 0, resumed.stderr);
    assertMatch(resumed.stdout, /succeeded/);
  });
});

const FAILING = `name: failing
steps:
  - id: compile
    shell: "echo progress; for i in $(seq 1 14); do echo problem-$i >&2; done; exit 1"
`;

Deno.test("a failed step shows its stderr's last lines and a command that prints the whole log; the reason is printed once", async () => {
  await withWorkspaceElsewhere(async (ws, cwd) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FAILING);
    const run = await lilyAt(cwd, ws, ["run", "start", join(ws, "flow.yaml")]);
    assertEquals(run.code, 1, run.stderr);
    const all = run.stdout + run.stderr;
    assertEquals(count(all, "Exited with code 1"), 1, all);
    for (let i = 5; i <= 14; i++) assertMatch(run.stderr, new RegExp(`^\\s+problem-${i}$`, "m"));
    assertEquals(count(run.stderr, "problem-4\n"), 0, "only the last 10 lines");
    const whole = await runHint(hintAfter(run.stderr, "whole stderr:"), cwd);
    assertEquals(whole.code, 0, whole.stderr);
    assertEquals(whole.stdout, Array.from({ length: 14 }, (_, i) => `problem-${i + 1}\n`).join(""));

    const details = await runHint(hintAfter(run.stdout, "Details:"), cwd);
    assertEquals(details.code, 0, details.stderr);
    assertEquals(count(details.stdout, "Exited with code 1"), 1, details.stdout);
    assertMatch(details.stdout, /failed: compile#1: Exited with code 1/);
    assertMatch(details.stdout, /^\s+problem-14$/m);
    const again = await runHint(hintAfter(details.stdout, "whole stderr:"), cwd);
    assertEquals(again.stdout, whole.stdout);
  });
});

Deno.test("a failed gate shows its reason (in text and --json), its stderr's last lines and the command that prints it", async () => {
  await withWorkspaceElsewhere(async (ws, cwd) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      `name: gated
steps:
  - { id: build, shell: "true" }
gates:
  - { id: lint, step: build, shell: "echo 'src/a.ts:3 unused variable' >&2; exit 4" }
`,
    );
    const run = await lilyAt(cwd, ws, ["run", "start", join(ws, "flow.yaml")]);
    assertEquals(run.code, 1, run.stderr);
    assertMatch(run.stderr, /gate lint on build#1: fail\n\s+Exited with code 4\n/);
    assertMatch(run.stderr, /^\s+src\/a\.ts:3 unused variable$/m);
    const log = await runHint(hintAfter(run.stderr, "whole stderr:"), cwd);
    assertEquals(log.stdout, "src/a.ts:3 unused variable\n");
    const runId = run.stdout.match(/^Run (\S+) /)![1];
    const shown = await lilyAt(cwd, ws, ["run", "show", runId]);
    assertMatch(shown.stdout, /failed: build#1: required gate lint: fail \(Exited with code 4\)/);
    assertMatch(shown.stdout, /^\s+src\/a\.ts:3 unused variable$/m);
    const [failure] = JSON.parse((await lilyAt(cwd, ws, ["run", "show", runId, "--json"])).stdout)
      .failures;
    assertEquals(failure.gate_id, "lint");
    // --json says what the text says, the cause included.
    assertEquals(failure.message, "required gate lint: fail (Exited with code 4)");
  });
});

Deno.test("hints in errors from lower layers carry --workspace when it is not the cwd", async () => {
  await withWorkspaceElsewhere(async (ws, cwd) => {
    await lily(["run", "new"], { workspace: ws });
    const json = await lilyJson<{ artifact_id: string }>(
      [
        "artifact",
        "put",
        (await lilyJson<{ run_id: string }[]>(["run", "list"], ws))[0].run_id,
        "--type",
        "note.v1",
        "--text-file",
        CLI,
      ],
      ws,
    );
    const path = await lilyAt(cwd, ws, ["artifact", "path", json.artifact_id]);
    assertCleanError(path, 2, /is a text artifact, not a file; print it with `lily artifact get/);
    assert(!path.stderr.includes("openPath"));
    const suggested = path.stderr.match(/`(lily [^`]+)`/)![1];
    const got = await runHint(suggested, cwd);
    assertEquals(got.stdout, await Deno.readTextFile(CLI));
  });
});

Deno.test("every error is one line: commander's suggestion joined, JSON parse messages, usage without (outputHelp)", async () => {
  await withTempDir(async (ws) => {
    const typo = await lily(["run", "shw"], { workspace: ws });
    assertCleanError(typo, 2, /unknown command 'shw' \(Did you mean show\?\)/);
    const option = await lily(["run", "list", "--jsn"], { workspace: ws });
    assertCleanError(option, 2, /unknown option '--jsn' \(Did you mean --json\?\)/);

    const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    await Deno.writeTextFile(join(ws, "bad.json"), '{\n  "a": 1,\n  "b": nope\n}\n');
    assertCleanError(
      await lily(["artifact", "put", run_id, "--type", "x.v1", "--json-file", "bad.json"], {
        workspace: ws,
      }),
      2,
      /bad\.json is not valid JSON/,
    );
    await Deno.writeTextFile(join(ws, "wo.json"), '{\n  "goal": \n}\n');
    const order = await lily(["run", "new", "--work-order", "wo.json"], { workspace: ws });
    assertEquals(order.stderr.trim().split("\n").length, 1, order.stderr);

    for (const args of [[], ["run"], ["artifact"], ["schema"]]) {
      const bare = await lily(args, { workspace: ws });
      assertEquals(bare.code, 2, `lily ${args.join(" ")}`);
      assertMatch(bare.stderr, /^Usage: lily/);
      assert(!bare.stderr.includes("outputHelp"), bare.stderr);
    }
  });
});

Deno.test("--json on failure prints one JSON error document on stdout, with the same exit code", async () => {
  await withTempDir(async (ws) => {
    const cases: [string[], number, string][] = [
      [["run", "list", "--bogus"], 2, "usage"],
      [["frobnicate"], 2, "usage"],
      [["run", "show"], 2, "usage"],
      [["run", "show", "not-a-uuid"], 2, "usage"],
      [["run", "show", crypto.randomUUID()], 1, "not_found"],
      [["run", "start", "missing.yaml"], 1, "not_found"],
      [["run", "start", "--jobs", "0", "missing.yaml"], 2, "usage"],
      [["artifact", "get", crypto.randomUUID()], 1, "not_found"],
      [["schema", "show", "nope.v1"], 1, "not_found"],
      [["approve", crypto.randomUUID(), "gate"], 1, "not_found"],
      [["run", "list", "--workspace", join(ws, "nope")], 1, "not_found"],
    ];
    await lily(["run", "new"], { workspace: ws });
    for (const [args, code, kind] of cases) {
      const human = await lily(args, { workspace: ws });
      const result: CliResult = await lily([...args, "--json"], { workspace: ws });
      const what = `lily ${args.join(" ")} --json`;
      assertEquals(result.code, human.code, what);
      assertEquals(result.code, code, `${what}: ${result.stderr}`);
      assertEquals(result.stderr.trim().split("\n").length, 1, `${what}: ${result.stderr}`);
      const doc = JSON.parse(result.stdout);
      assertEquals(Object.keys(doc), ["error"], what);
      assertEquals(doc.error.code, kind, what);
      assertEquals(typeof doc.error.message, "string", what);
      assertEquals(`lily: ${doc.error.message}`, result.stderr.trim(), what);
    }
  });
});

Deno.test("every subcommand's --help lists the global options", async () => {
  const commands = [
    ["run"],
    ["run", "new"],
    ["run", "list"],
    ["run", "show"],
    ["run", "start"],
    ["run", "resume"],
    ["run", "cancel"],
    ["approve"],
    ["artifact", "put"],
    ["artifact", "get"],
    ["artifact", "show"],
    ["artifact", "path"],
    ["artifact", "list"],
    ["verify"],
    ["schema", "list"],
    ["schema", "show"],
    ["schema", "export"],
    ["schema", "validate"],
  ];
  await withTempDir(async (ws) => {
    for (const command of commands) {
      const help = await lily([...command, "--help"], { workspace: ws });
      assertEquals(help.code, 0, command.join(" "));
      for (const option of ["--workspace", "--json", "--debug"]) {
        assert(help.stdout.includes(option), `lily ${command.join(" ")} --help lacks ${option}`);
      }
    }
  });
});

Deno.test("a workspace that does not exist is an error naming it, and nothing is created", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "wrokspace");
    await Deno.writeTextFile(
      join(dir, "flow.yaml"),
      `name: x\nsteps:\n  - { id: a, shell: "true" }\n`,
    );
    const commands = [
      ["run", "new"],
      ["run", "start", join(dir, "flow.yaml")],
      ["run", "list"],
      ["artifact", "list"],
      ["verify"],
    ];
    for (const args of commands) {
      const result = await lily([...args, "--workspace", missing], { cwd: dir });
      assertCleanError(result, 1, new RegExp(`Workspace ${missing} does not exist`));
      assertEquals(await Deno.stat(missing).catch(() => null), null, args.join(" "));
    }
    const file = await lily(["run", "new", "--workspace", join(dir, "flow.yaml")], { cwd: dir });
    assertCleanError(file, 2, /is not a directory/);
    await Deno.mkdir(join(dir, "fresh"));
    assertEquals(
      (await lily(["run", "new", "--workspace", join(dir, "fresh")], { cwd: dir })).code,
      0,
    );
    assertEquals(
      [...Deno.readDirSync(join(dir, "fresh"))].map((e) => e.name),
      [".iris"],
      "a store creates only its .iris/",
    );
  });
});

async function demo(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return await runProgram(Deno.execPath(), ["task", "--quiet", "demo", ...args], {
    cwd: REPO,
    env,
  });
}

Deno.test("deno task demo: --help prints usage, a bad argument is one usage line, the temporary workspace is removed", async () => {
  const help = await demo(["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /^Usage: deno task demo \[--workspace DIR\] \[--keep\]/);
  assertCleanError(await demo(["--workspace"]), 2, /--workspace needs a directory/);
  assertCleanError(await demo(["--frobnicate"]), 2, /unknown argument "--frobnicate"/);
  await withTempDir(async (tmp) => {
    const ran = await demo([], { TMPDIR: tmp });
    assertEquals(ran.code, 0, ran.stderr);
    assertEquals([...Deno.readDirSync(tmp)], [], "the demo's workspace is removed");
    const kept = await demo(["--keep"], { TMPDIR: tmp });
    assertEquals(kept.code, 0, kept.stderr);
    assertEquals([...Deno.readDirSync(tmp)].length, 1, "--keep keeps it");
  });
});

Deno.test("deno task demo --workspace DIR: every command it shows and every hint lily prints works as typed", async () => {
  await withTempDir(async (dir) => {
    const ws = join(dir, "demo ws");
    const ran = await demo(["--workspace", ws]);
    assertEquals(ran.code, 0, ran.stderr);
    const commands = [...`${ran.stdout}\n${ran.stderr}`.matchAll(/(?:^\$ |: )(lily [^\n]*)/gm)]
      .map((m) => m[1]);
    assert(commands.length >= 7, `too few commands shown: ${commands.join("; ")}`);
    for (const command of commands) {
      assert(command.endsWith(`--workspace '${ws}'`), `does not name the workspace: ${command}`);
    }
    const details = commands.find((c) => c.startsWith("lily run show "))!;
    const typed = await new Deno.Command("sh", {
      args: ["-c", details.replace(/^lily /, `"${Deno.execPath()}" run -A --quiet "${CLI}" `)],
      cwd: REPO,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(typed.code, 0, new TextDecoder().decode(typed.stderr));
    assertMatch(new TextDecoder().decode(typed.stdout), /Status: succeeded/);
  });
});

Deno.test("deno task install installs a lily command that runs", async () => {
  await withTempDir(async (root) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "install"],
      cwd: REPO,
      env: { DENO_INSTALL_ROOT: root, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const version = await new Deno.Command(join(root, "bin", "lily"), {
      args: ["--version"],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(version.stdout).trim(), KERNEL_VERSION);
  });
});

Deno.test("a killed put_loop child leaves nothing in the system temp dir", async () => {
  await withTempDir(async (dir) => {
    const tmp = join(dir, "tmp");
    const ws = join(dir, "ws");
    await Deno.mkdir(tmp);
    await Deno.mkdir(ws);
    const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(REPO, "tests", "testdata", "put_loop.ts"),
        ws,
        run_id,
        "forever",
        "t",
      ],
      env: { TMPDIR: tmp },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (count(seen, "put ") < 3) seen += (await reader.read()).value ?? "";
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    assertEquals([...Deno.readDirSync(tmp)], []);
  });
});
