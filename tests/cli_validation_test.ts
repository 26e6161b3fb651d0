import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { assertCleanError, fingerprint, lily, lilyJson, withTempDir } from "./_helpers.ts";
import { BROKEN, broken, VALID } from "./_contract_samples.ts";

Deno.test("lily artifact put rejects an invalid payload of each kernel type and stores nothing", async () => {
  await withTempDir(async (ws) => {
    const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const before = await fingerprint(join(ws, ".iris"));
    for (const id of Object.keys(VALID)) {
      await Deno.writeTextFile(join(ws, "bad.json"), JSON.stringify(broken(id)));
      const result = await lily(
        ["artifact", "put", run_id, "--type", id, "--json-file", "bad.json"],
        { workspace: ws },
      );
      const path = BROKEN[id].path.replaceAll(/[.$[\]]/g, "\\$&");
      assertCleanError(
        result,
        1,
        new RegExp(
          `^lily: Artifact of type ${id.replace(".", "\\.")} does not match schema ` +
            `${id.replace(".", "\\.")} \\(origin kernel\\): ${path}: `,
        ),
      );
      assertEquals(result.stdout, "");
    }
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test("lily artifact put stores valid payloads of kernel types and passes unregistered ones", async () => {
  await withTempDir(async (ws) => {
    const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    await Deno.writeTextFile(join(ws, "wo.json"), JSON.stringify(VALID["work_order.v1"]));
    const ref = await lilyJson<{ artifact_type: string }>(
      ["artifact", "put", run_id, "--type", "work_order.v1", "--json-file", "wo.json"],
      ws,
    );
    assertEquals(ref.artifact_type, "work_order.v1");
    await Deno.writeTextFile(join(ws, "free.json"), '{"goal": 42}');
    const free = await lilyJson<{ artifact_type: string }>(
      ["artifact", "put", run_id, "--type", "scratch.v1", "--json-file", "free.json"],
      ws,
    );
    assertEquals(free.artifact_type, "scratch.v1");
  });
});

Deno.test("lily artifact put checks an envelope against the artifact type it is put as", async () => {
  await withTempDir(async (ws) => {
    const { run_id } = await lilyJson<{ run_id: string }>(["run", "new"], ws);
    const envelope = { schema_id: "gate_result.v1", payload: VALID["gate_result.v1"], meta: {} };
    await Deno.writeTextFile(join(ws, "env.json"), JSON.stringify(envelope));
    const ok = await lilyJson<{ artifact_type: string }>(
      ["artifact", "put", run_id, "--type", "gate_result.v1", "--json-file", "env.json"],
      ws,
    );
    assertEquals(ok.artifact_type, "gate_result.v1");
    const before = await fingerprint(join(ws, ".iris"));
    assertCleanError(
      await lily(
        ["artifact", "put", run_id, "--type", "policy_violation.v1", "--json-file", "env.json"],
        { workspace: ws },
      ),
      1,
      /policy_violation\.v1 .*\$\.schema_id: expected the artifact type "policy_violation\.v1", got string "gate_result\.v1"/,
    );
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test("lily run new rejects an invalid JSON work order before creating any run", async () => {
  await withTempDir(async (ws) => {
    await lily(["run", "new"], { workspace: ws });
    const before = await fingerprint(join(ws, ".iris"));
    const cases: [string, string, RegExp][] = [
      ["bad.json", '{"goal": 7}', /\$\.goal: expected string, got number 7/],
      ["nogoal.json", '{"title": "x"}', /\$\.goal: missing required field, expected string/],
      ["broken.json", '{"goal": "x"', /\$: not valid JSON/],
      ["list.txt", '["goal"]', /\$: expected object, got array of 1/],
    ];
    for (const [name, text, reason] of cases) {
      await Deno.writeTextFile(join(ws, name), text);
      const result = await lily(["run", "new", "--work-order", name], { workspace: ws });
      assertCleanError(
        result,
        1,
        new RegExp(
          `^lily: Work order ${
            name.replace(".", "\\.")
          } does not match schema work_order\\.v1 \\(origin kernel\\): `,
        ),
      );
      assertMatch(result.stderr, reason);
      assertEquals(result.stdout, "");
    }
    assertEquals(await fingerprint(join(ws, ".iris")), before);
  });
});

Deno.test("lily run new accepts a valid JSON work order and a free-text one", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "wo.json"), JSON.stringify(VALID["work_order.v1"]));
    await Deno.writeTextFile(join(ws, "wo.md"), "# Fix it\n\n- keep the tests green\n");
    for (const name of ["wo.json", "wo.md"]) {
      const created = await lilyJson<{ work_order_ref: { artifact_type: string } }>(
        ["run", "new", "--work-order", name],
        ws,
      );
      assertEquals(created.work_order_ref.artifact_type, "work_order.v1");
    }
    const runs = await lilyJson<unknown[]>(["run", "list"], ws);
    assert(runs.length === 2);
  });
});

Deno.test("an empty option value or argument is a usage error, never a quiet default", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: a\nsteps:\n  - { id: s, shell: echo }\n",
    );
    const cases: [string[], RegExp][] = [
      [["-w", "", "run", "list"], /^lily: --workspace needs a value; got an empty string$/],
      [["run", "list", "--workspace="], /^lily: --workspace needs a value; got an empty string$/],
      [["schema", "export", "--out", ""], /^lily: --out needs a value; got an empty string$/],
      [["check", ""], /^lily: <file> needs a value; got an empty string$/],
      [["run", "start", "flow.yaml", "--input", ""], /^lily: --input needs a value/],
    ];
    for (const [args, pattern] of cases) {
      assertCleanError(await lily(args, { cwd: ws }), 2, pattern);
    }
    assertCleanError(
      await lily(["run", "list"], { cwd: ws, env: { LILY_WORKSPACE: "" } }),
      2,
      /^lily: LILY_WORKSPACE is set but empty; unset it or set it to a directory$/,
    );
    assertEquals(
      [...Deno.readDirSync(ws)].map((e) => e.name),
      ["flow.yaml"],
      "nothing was created",
    );
  });
});

Deno.test("schema export --out: a file in the way is a usage error (2), a file-system refusal a failure (1)", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "afile"), "");
    assertCleanError(
      await lily(["schema", "export", "--out", "/proc/nope"], { workspace: ws }),
      1,
      /^lily: Cannot create \/proc\/nope: /,
    );
    assertCleanError(
      await lily(["schema", "export", "--out", "afile"], { workspace: ws }),
      2,
      /^lily: Cannot export schemas to afile: .*give --out a directory$/,
    );
  });
});
