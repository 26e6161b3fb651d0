import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { openStore } from "../store.ts";
import { readRunState } from "../src/runtime/run_starter.ts";
import { assertCleanError, CLI, type CliResult, lily, lilyJson, withTempDir } from "./_helpers.ts";

/** Runs a bash command line with `$LILY` set to the CLI, stdin optionally fed. */
async function bash(
  script: string,
  workspace: string,
  stdin?: string,
): Promise<CliResult> {
  const child = new Deno.Command("bash", {
    args: ["-c", script],
    cwd: workspace,
    env: {
      LILY: `${Deno.execPath()} run -A --quiet ${CLI}`,
      LILY_WORKSPACE: workspace,
      NO_COLOR: "1",
    },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

const FLOW = [
  "name: plan",
  "inputs:",
  "  wo: { type: work_order.v1 }",
  "  notes: { type: notes.v1, required: false }",
  "steps:",
  "  - id: test",
  "    needs: [build]",
  "    command: [echo, test]",
  "  - id: build",
  "    shell: echo build",
  "    inputs: { wo: inputs.wo }",
  "  - id: docs",
  "    shell: echo docs",
  "gates:",
  "  - id: lint",
  "    step: build",
  '    command: ["true"]',
  "    required: false",
  "",
].join("\n");

Deno.test("lily check validates a workflow and its inputs, prints the plan and creates nothing", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    await Deno.writeTextFile(join(ws, "wo.json"), JSON.stringify({ goal: "ship it" }));
    const text = await lily(["check", "flow.yaml", "--input", "wo=wo.json"], { workspace: ws });
    assertEquals(text.code, 0, text.stderr);
    assertEquals(text.stdout.trim().split("\n"), [
      'flow.yaml is valid: workflow "plan", 3 steps, 1 gate, 2 inputs',
      "Inputs:",
      "  wo (work_order.v1, required): wo.json",
      "  notes (notes.v1, optional): not given",
      "Steps, in scheduling order:",
      "  1. build  shell: echo build",
      "     gate lint (optional)  command: true",
      "  2. test  command: echo test  (after build)",
      "  3. docs  shell: echo docs",
    ]);
    const json = await lilyJson<{
      valid: boolean;
      steps: { id: string; executor: string; needs: string[]; gates: { id: string }[] }[];
    }>(["check", "flow.yaml", "--input", "wo=wo.json"], ws);
    assertEquals(json.valid, true);
    assertEquals(json.steps.map((s) => [s.id, s.executor, s.needs, s.gates.map((g) => g.id)]), [
      ["build", "command", [], ["lint"]],
      ["test", "command", ["build"], []],
      ["docs", "command", [], []],
    ]);
    assertEquals(await exists(join(ws, ".iris")), false);
  });
});

Deno.test("lily check exits 2 for an invalid workflow or input, and still creates nothing", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    await Deno.writeTextFile(join(ws, "bad.json"), JSON.stringify({ goal: 3 }));
    await Deno.writeTextFile(join(ws, "broken.yaml"), FLOW.replace("needs: [build]", "needs: [x]"));
    assertCleanError(
      await lily(["check", "broken.yaml"], { workspace: ws }),
      2,
      /^lily: broken\.yaml:7 steps\.test\.needs\[0\]: unknown step "x"/,
    );
    assertCleanError(
      await lily(["check", "flow.yaml"], { workspace: ws }),
      2,
      /Missing run input "wo" \(work_order\.v1\)/,
    );
    assertCleanError(
      await lily(["check", "flow.yaml", "--input", "wo=nope.json"], { workspace: ws }),
      1,
      /Run input "wo": file nope\.json does not exist/,
    );
    assertCleanError(
      await lily(["check", "flow.yaml", "--input", "wo=bad.json"], { workspace: ws }),
      2,
      /Run input "wo": bad\.json does not match schema work_order\.v1/,
    );
    assertCleanError(
      await lily(
        ["check", "flow.yaml", "--input", "wo=@0190b5a8-0000-7000-8000-000000000000"],
        { workspace: ws },
      ),
      1,
      /artifact 0190b5a8-0000-7000-8000-000000000000 does not exist/,
    );
    // A missing file (or artifact) is not found, exit 1, in check as in run start.
    for (const command of ["check", "run start"]) {
      assertCleanError(
        await lily([...command.split(" "), "missing.yaml"], { workspace: ws }),
        1,
        /^lily: Workflow file missing\.yaml does not exist$/,
      );
    }
    const json = await lily(["check", "broken.yaml", "--json"], { workspace: ws });
    assertEquals(json.code, 2);
    assertEquals(await exists(join(ws, ".iris")), false);
  });
});

Deno.test("a command step with timeout: 597h running sleep 1 succeeds", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: long\nsteps:\n  - id: nap\n    shell: sleep 1\n    timeout: 597h\n",
    );
    const result = await lily(["run", "start", "flow.yaml"], { workspace: ws });
    assertEquals(result.code, 0, result.stderr);
    assertMatch(result.stdout, /succeeded/);
  });
});

Deno.test("run start reads a workflow from a pipe, /dev/stdin or -, stores those bytes, and resume uses them", async () => {
  await withTempDir(async (ws) => {
    const flow = "name: piped\nsteps:\n  - id: a\n    shell: test -f ready\n";
    await Deno.writeTextFile(join(ws, "flow.yaml"), flow);
    const substituted = await bash("$LILY run start <(cat flow.yaml) --json", ws);
    assertEquals(substituted.code, 1, substituted.stderr);
    const { run_id: runId } = JSON.parse(substituted.stdout);
    // What was stored is what was read, and it parses again for resume.
    await Deno.writeTextFile(join(ws, "ready"), "");
    await Deno.writeTextFile(join(ws, "flow.yaml"), "edited: after the run started\n");
    const resumed = await lily(["run", "resume", runId], { workspace: ws });
    assertEquals(resumed.code, 0, resumed.stderr);
    const stdin = await bash("$LILY run start /dev/stdin", ws, flow);
    assertEquals(stdin.code, 0, stdin.stderr);
    const dash = await bash("$LILY run start - --json", ws, flow);
    assertEquals(dash.code, 0, dash.stderr);
    const store = await openStore(ws);
    try {
      for (const id of [runId, JSON.parse(dash.stdout).run_id]) {
        const state = await readRunState(store, id);
        const { ref, bytes } = await store.artifacts.readBytes(state.workflow_ref!);
        assertEquals(new TextDecoder().decode(bytes), flow);
        assertEquals(ref.rel_path.endsWith("/workflow.yaml"), true);
      }
    } finally {
      store.close();
    }
  });
});

Deno.test("run start checks inputs, llm providers and functions before the store or any run exists", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
    await Deno.writeTextFile(
      join(ws, "ask.yaml"),
      "name: ask\nsteps:\n  - id: ask\n    llm: { model: m, prompt: hi, output: o }\n" +
        "    outputs: { o: { type: o.v1, path: o.txt } }\n",
    );
    assertCleanError(
      await lily(["run", "start", "ask.yaml"], { workspace: ws }),
      2,
      /^lily: Step ask is an llm step, and no LLM provider is configured: set LILY_LLM to fake, openai or anthropic/,
    );
    assertCleanError(
      await lily(["run", "start", "flow.yaml"], { workspace: ws }),
      2,
      /Missing run input "wo"/,
    );
    await Deno.writeTextFile(
      join(ws, "fn.yaml"),
      "name: fn\nsteps:\n  - id: a\n    fn: compute\n",
    );
    assertCleanError(
      await lily(["run", "start", "fn.yaml"], { workspace: ws }),
      2,
      /^lily: Step a calls the function "compute", which is not registered/,
    );
    assertEquals(await exists(join(ws, ".iris")), false);
    const fake = await lily(["run", "start", "ask.yaml"], {
      workspace: ws,
      env: { LILY_LLM: "fake" },
    });
    assertEquals(fake.code, 0, fake.stderr);
  });
});

Deno.test("artifact put --file and run new --work-order take a pipe, store what they read under a name that says what it is", async () => {
  await withTempDir(async (ws) => {
    const created = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const put = await bash(
      `$LILY artifact put ${created.run_id} --type notes.v1 --file /dev/stdin --json`,
      ws,
      "piped notes\n",
    );
    assertEquals(put.code, 0, put.stderr);
    const ref = JSON.parse(put.stdout);
    assertEquals(ref.size_bytes, "piped notes\n".length);
    // A descriptor's name (`stdin`, `63`) says nothing about the data: stored as `data`.
    assert(ref.rel_path.endsWith("/data"), ref.rel_path);
    const path = await lily(["artifact", "path", ref.artifact_id], { workspace: ws });
    assertEquals(await Deno.readTextFile(path.stdout.trim()), "piped notes\n");
    const withOrder = await bash(
      `$LILY run new --work-order <(echo '{"goal": "from a pipe"}') --json`,
      ws,
    );
    assertEquals(withOrder.code, 0, withOrder.stderr);
    const order = JSON.parse(withOrder.stdout).work_order_ref;
    assert(order.rel_path.endsWith("/work_order.json"), order.rel_path);
  });
});

Deno.test("--input takes a pipe, /dev/stdin or a FIFO in run start and check, reads it once and names it after the input", async () => {
  await withTempDir(async (ws) => {
    const flow = [
      "name: piped-inputs",
      "inputs:",
      "  wo: { type: work_order.v1 }",
      "  notes: { type: notes.v1, required: false }",
      "steps:",
      "  - id: a",
      '    shell: cat "$LILY_INPUT_WO"',
      "    inputs: { wo: inputs.wo, notes: inputs.notes }",
    ].join("\n") + "\n";
    await Deno.writeTextFile(join(ws, "flow.yaml"), flow);
    await Deno.writeTextFile(join(ws, "wo.json"), '{"goal": "piped"}');
    const checked = await bash("$LILY check flow.yaml --input wo=<(cat wo.json) --json", ws);
    assertEquals(checked.code, 0, checked.stderr);
    const invalid = await bash(`$LILY check flow.yaml --input wo=<(echo '{"goal": 5}')`, ws);
    assertCleanError(
      invalid,
      2,
      /^lily: Run input "wo": \/dev\/fd\/\d+ does not match schema work_order\.v1/,
    );
    const started = await bash(
      "$LILY run start flow.yaml --input wo=<(cat wo.json) --input notes=/dev/stdin --json",
      ws,
      "piped notes\n",
    );
    assertEquals(started.code, 0, started.stderr);
    const fifo = join(ws, "wo.fifo");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(made.success);
    const fromFifo = await bash(
      "cat wo.json > wo.fifo & $LILY run start flow.yaml --input wo=wo.fifo --json",
      ws,
    );
    assertEquals(fromFifo.code, 0, fromFifo.stderr);
    const store = await openStore(ws);
    try {
      for (const out of [started, fromFifo]) {
        const state = await readRunState(store, JSON.parse(out.stdout).run_id);
        const wo = await store.artifacts.readBytes(state.inputs.wo);
        assertEquals(JSON.parse(new TextDecoder().decode(wo.bytes)), { goal: "piped" });
        assertEquals(wo.ref.artifact_type, "work_order.v1");
      }
      const state = await readRunState(store, JSON.parse(started.stdout).run_id);
      const notes = await store.artifacts.readBytes(state.inputs.notes);
      assertEquals(new TextDecoder().decode(notes.bytes), "piped notes\n");
      assert(notes.ref.rel_path.endsWith("/notes"), notes.ref.rel_path);
    } finally {
      store.close();
    }
  });
});

Deno.test("an unknown LILY_LLM names itself and the known providers, in check and run start", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "ask.yaml"),
      "name: ask\nsteps:\n  - id: ask\n    llm: { model: m, prompt: hi, output: o }\n" +
        "    outputs: { o: { type: o.v1, path: o.txt } }\n",
    );
    const unknown =
      /^lily: LILY_LLM="gemini" names no LLM provider Lily knows; known: fake, openai, anthropic, /;
    for (const command of [["check"], ["run", "start"]]) {
      assertCleanError(
        await lily([...command, "ask.yaml"], { workspace: ws, env: { LILY_LLM: "gemini" } }),
        2,
        unknown,
      );
    }
    assertEquals(await exists(join(ws, ".iris")), false);
  });
});
