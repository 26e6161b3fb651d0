/**
 * Packs: loading from a folder, a file URL and an `npm:` specifier (served
 * from a local fixture through the kernel's injected importer: the machine
 * has no registry holding a Lily pack), every loader error, and that a
 * broken pack stops only the commands that use it.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createKernel, envFrom, type PackRecord } from "../mod.ts";
import { lily, lilyJson, REPO, SANDBOX_ENV, SANDBOXED, withTempDir } from "./_helpers.ts";

const FIXTURES = join(REPO, "tests", "testdata", "packs");
const fixtureUrl = (name: string) => pathToFileURL(join(FIXTURES, name, "mod.ts")).href;

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2));
}

/** A pack written into the workspace's own folder, importing Lily by file URL. */
async function writeFolderPack(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const lilyPack = pathToFileURL(join(REPO, "pack.ts")).href;
  await Deno.writeTextFile(
    join(dir, "mod.ts"),
    `import { z } from "zod";
import { definePack, stepTemplate } from ${JSON.stringify(lilyPack)};
export default definePack({
  name: "mine",
  version: "0.0.1",
  steps: {
    note: stepTemplate({
      description: "writes a note",
      params: z.strictObject({ text: z.string() }),
      expand: (p) => ({
        shell: "printf '%s' " + JSON.stringify(p.text) + " > \\"$LILY_OUTPUT_DIR/note.txt\\"",
        outputs: { note: { type: "note.v1", path: "note.txt" } },
      }),
    }),
  },
});
`,
  );
}

Deno.test("a pack in a folder named in lily.json loads, and a workflow uses its template", async () => {
  await withTempDir(async (ws) => {
    await writeFolderPack(join(ws, "packs", "mine"));
    await writeJson(join(ws, "lily.json"), { packs: { mine: "./packs/mine" } });
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      "name: f\nsteps:\n  - id: n\n    uses: mine/note\n    with: { text: hi there }\n",
    );
    const { packs } = await lilyJson<{ packs: PackRecord[] }>(["pack", "list"], ws);
    const mine = packs.find((p) => p.name === "mine");
    assertEquals(mine?.status, "loaded");
    assertEquals(mine?.from, "lily.json");
    assertEquals(packs.map((p) => p.name), ["deno", "agent", "mine"]);
    const run = await lily(["run", "start", "flow.yaml"], { workspace: ws, env: SANDBOX_ENV });
    assertEquals(run.code, 0, run.stderr);
    const listed = await lilyJson<{ type: string }[]>(
      ["artifact", "list", "--type", "note.v1"],
      ws,
    );
    assertEquals(listed.length, 1);
  });
});

Deno.test("a pack given by file URL loads; pack show lists its items with descriptions and parameter schemas", async () => {
  await withTempDir(async (ws) => {
    await writeJson(join(ws, "lily.json"), { packs: { acme: fixtureUrl("acme") } });
    const { pack } = await lilyJson<{ pack: PackRecord }>(["pack", "show", "acme"], ws);
    assert(pack.status === "loaded");
    assertEquals(pack.version, "1.2.0");
    assertEquals(pack.lily, ">=0.1.0 <1.0.0");
    assertEquals(
      pack.items.map((i) => `${i.kind} ${i.id}`),
      [
        "schema acme/greeting.v1",
        "executor acme/greet",
        "step acme/greet",
        "gate acme/nonempty",
        "route acme/again",
      ],
    );
    const greet = pack.items.find((i) => i.kind === "step")!;
    assertEquals(greet.description, "greets someone");
    const props = greet.schema?.properties as Record<string, { description?: string }>;
    assertEquals(props.name.description, "who to greet");
    assertEquals(greet.schema?.required, ["name"]);
    const text = await lily(["pack", "show", "acme"], { workspace: ws });
    assertEquals(text.code, 0);
    assertMatch(text.stdout, /step acme\/greet: greets someone\n {2}with\.name: who to greet/);
    const unknown = await lily(["pack", "show", "nope"], { workspace: ws });
    assertEquals(unknown.code, 1);
    assertMatch(unknown.stderr, /No pack named "nope"; known: deno, agent, acme/);
  });
});

Deno.test("an npm: specifier in lily.json is imported as written (served from a local fixture) and its templates, kinds and schemas run", async () => {
  await withTempDir(async (ws) => {
    const specifier = "npm:@acme/lily-pack@1.2.0";
    await writeJson(join(ws, "lily.json"), { packs: { acme: specifier } });
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: f",
        "steps:",
        "  - id: hello",
        "    uses: acme/greet",
        "    with: { name: world }",
        "gates:",
        "  - id: nonempty",
        "    step: hello",
        "    uses: acme/nonempty",
        "",
      ].join("\n"),
    );
    const asked: string[] = [];
    const kernel = createKernel({
      workspace: ws,
      env: envFrom({ ...SANDBOX_ENV, PATH: Deno.env.get("PATH") ?? "" }),
      importPack: (url) => {
        asked.push(url);
        return import(url === specifier ? fixtureUrl("acme") : url);
      },
    });
    try {
      const acme = await kernel.packs.show("acme");
      assertEquals(acme.status, "loaded");
      assertEquals(acme.specifier, specifier);
      assert(asked.includes(specifier));
      const { state } = await kernel.runs.start({ file: join(ws, "flow.yaml") });
      assertEquals(state.status, "succeeded", JSON.stringify(state.steps, null, 1));
    } finally {
      kernel.close();
    }
    const greetings = await lilyJson<{ artifact_id: string }[]>(
      ["artifact", "list", "--type", "acme/greeting.v1"],
      ws,
    );
    assertEquals(greetings.length, 1);
  });
});

/** A lily.json naming every kind of bad pack. */
const BAD_PACKS = {
  broken: "broken",
  noexport: "noexport",
  invalid: "invalid",
  future: "future",
  deno: "imposter",
  misnamed: "acme",
  missing: "does-not-exist",
};

Deno.test("every loader error is reported with its pack, item and reason, and stops nothing that does not use the pack", async () => {
  await withTempDir(async (ws) => {
    await writeJson(join(ws, "lily.json"), {
      packs: Object.fromEntries(
        Object.entries(BAD_PACKS).map(([name, dir]) => [name, fixtureUrl(dir)]),
      ),
    });
    const { packs } = await lilyJson<{ packs: PackRecord[] }>(["pack", "list"], ws);
    const reasons = Object.fromEntries(
      packs.filter((p) => p.from === "lily.json").map((p) => [
        p.name,
        p.status === "failed"
          ? p.issues.map((i) => `${i.item ?? "-"}: ${i.reason}`).join(" | ")
          : "loaded",
      ]),
    );
    assertMatch(
      reasons.broken,
      /^-: cannot import .*broken\/mod\.ts: .*the broken pack cannot start/,
    );
    assertMatch(reasons.noexport, /exports no pack; expected export default definePack/);
    assertMatch(reasons.invalid, /invalid\/nothing: expected an expand function/);
    assertMatch(reasons.invalid, /other\/run: expected the kind to be invalid\/<name>/);
    assertMatch(
      reasons.future,
      /version mismatch: pack future@2\.0\.0 needs Lily >=9\.0\.0; this is Lily 0\.1\.0/,
    );
    assertMatch(
      reasons.deno,
      /pack name deno collides with the pack already loaded from .*packs\/deno\/mod\.ts \(shipped\)/,
    );
    assertMatch(reasons.misnamed, /the module defines pack acme, but lily\.json names it misnamed/);
    assertMatch(reasons.missing, /cannot import .*does-not-exist/);
    assertEquals(packs.find((p) => p.name === "deno" && p.from === "shipped")?.status, "loaded");
    const listed = await lily(["pack", "list"], { workspace: ws });
    assertEquals(listed.code, 0);
    assertMatch(listed.stdout, /broken\s+failed/);

    // A workflow that uses no broken pack runs; one that does is refused at its line.
    await Deno.writeTextFile(
      join(ws, "ok.yaml"),
      "name: ok\nsteps:\n  - id: a\n    shell: echo hi\n",
    );
    const ok = await lily(["run", "start", "ok.yaml"], { workspace: ws, env: SANDBOX_ENV });
    assertEquals(ok.code, 0, ok.stderr);
    await Deno.writeTextFile(
      join(ws, "bad.yaml"),
      "name: bad\nsteps:\n  - id: a\n    shell: echo hi\n  - id: b\n    uses: broken/thing\n",
    );
    const bad = await lily(["check", "bad.yaml"], { workspace: ws });
    assertEquals(bad.code, 2);
    assertMatch(
      bad.stderr,
      /bad\.yaml:6 steps\.b\.uses: step template "broken\/thing" is unavailable: pack broken failed to load: cannot import/,
    );
    await Deno.writeTextFile(
      join(ws, "kind.yaml"),
      "name: k\nsteps:\n  - id: a\n    run: { kind: future/x }\n",
    );
    const kind = await lily(["check", "kind.yaml"], { workspace: ws });
    assertEquals(kind.code, 2);
    assertMatch(
      kind.stderr,
      /kind\.yaml:4 steps\.a\.run\.kind: executor kind "future\/x" is unavailable: pack future failed to load: version mismatch/,
    );
  });
});

Deno.test("an invalid lily.json is refused with its line, and lily.json's JSON Schema in docs/ is the one generated", async () => {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(
      join(ws, "lily.json"),
      '{\n  "packs": {\n    "Bad Name": "x"\n  }\n}\n',
    );
    const listed = await lily(["pack", "list"], { workspace: ws });
    assertEquals(listed.code, 2);
    assertMatch(listed.stderr, /lily\.json:3 packs\.Bad Name: expected a pack name/);
    await Deno.writeTextFile(join(ws, "lily.json"), '{\n  "pakcs": {}\n}\n');
    const typo = await lily(["pack", "list", "--json"], { workspace: ws });
    assertEquals(typo.code, 2);
    assertMatch(
      JSON.parse(typo.stdout).error.message,
      /lily\.json:2 \(root\): Unrecognized key: "pakcs"/,
    );
    const runs = await lily(["run", "list"], { workspace: ws });
    assertEquals(runs.code, 0, "a command that reads no workflow does not read lily.json");
  });
  const shown = await lily(["schema", "show", "lily.json"]);
  const onDisk = JSON.parse(await Deno.readTextFile(join(REPO, "docs", "lily.schema.json")));
  assertEquals(onDisk, JSON.parse(shown.stdout), "run deno task schemas");
});

Deno.test("a run of a workflow made from templates resumes: the stored file is read again with the packs", async () => {
  await withTempDir(async (ws) => {
    await writeFolderPack(join(ws, "packs", "mine"));
    await writeJson(join(ws, "lily.json"), { packs: { mine: "./packs/mine" } });
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: f",
        "steps:",
        "  - id: n",
        "    uses: mine/note",
        "    with: { text: once }",
        "  - id: after",
        "    needs: [n]",
        "    shell: test -f flag",
        "",
      ].join("\n"),
    );
    const first = await lily(["run", "start", "flow.yaml", "--json"], {
      workspace: ws,
      env: SANDBOX_ENV,
    });
    assertEquals(first.code, 1);
    const runId = JSON.parse(first.stdout).run_id as string;
    await Deno.writeTextFile(join(ws, "flag"), "");
    const resumed = await lily(["run", "resume", runId], { workspace: ws, env: SANDBOX_ENV });
    assertEquals(resumed.code, 0, resumed.stderr);
    const notes = await lilyJson<unknown[]>(["artifact", "list", "--type", "note.v1"], ws);
    assertEquals(notes.length, 1, "the templated step is not run again");
  });
});

Deno.test({
  name:
    "lily.json's policy is where a workflow's policy starts: its write: [] confines a step until the workflow gives write",
  ignore: !SANDBOXED,
  fn: async () => {
    await withTempDir(async (ws) => {
      await writeJson(join(ws, "lily.json"), { policy: { write: [] } });
      const flow = (policy: string) =>
        `name: f\n${policy}steps:\n  - id: touch\n    shell: touch made.txt\n`;
      await Deno.writeTextFile(join(ws, "flow.yaml"), flow(""));
      const confined = await lily(["run", "start", "flow.yaml"], { workspace: ws });
      assertEquals(confined.code, 1);
      assertMatch(confined.stderr, /Read-only file system/);
      assertEquals(await Deno.lstat(join(ws, "made.txt")).then(() => true, () => false), false);
      await Deno.writeTextFile(join(ws, "flow.yaml"), flow('policy: { write: ["."] }\n'));
      const allowed = await lily(["run", "start", "flow.yaml"], { workspace: ws });
      assertEquals(allowed.code, 0, allowed.stderr);
      assert((await Deno.lstat(join(ws, "made.txt"))).isFile);
    });
  },
});

Deno.test("lily.json's llm section configures the provider, and an invalid one is refused at its line", async () => {
  await withTempDir(async (ws) => {
    await writeJson(join(ws, "lily.json"), { llm: { provider: "fake", script: "replies.json" } });
    await writeJson(join(ws, "replies.json"), { ask: ["forty-two"] });
    await Deno.writeTextFile(
      join(ws, "flow.yaml"),
      [
        "name: f",
        "steps:",
        "  - id: ask",
        "    llm: { model: any, prompt: what is six times seven?, output: answer }",
        "    outputs: { answer: { type: answer.v1, path: answer.txt } }",
        "",
      ].join("\n"),
    );
    const run = await lily(["run", "start", "flow.yaml"], { workspace: ws, env: SANDBOX_ENV });
    assertEquals(run.code, 0, run.stderr);
    const [answer] = await lilyJson<{ artifact_id: string }[]>(
      ["artifact", "list", "--type", "answer.v1"],
      ws,
    );
    const text = await lily(["artifact", "get", answer.artifact_id], { workspace: ws });
    assertEquals(text.stdout.trim(), "forty-two");
    await Deno.writeTextFile(
      join(ws, "lily.json"),
      '{\n  "llm": {\n    "provider": "gpt"\n  }\n}\n',
    );
    const bad = await lily(["run", "start", "flow.yaml"], { workspace: ws, env: SANDBOX_ENV });
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /lily\.json:3 llm\.provider: /);
  });
});
