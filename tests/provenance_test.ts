/**
 * `lily provenance` through the CLI in temp workspaces: an artifact three
 * steps deep in all four formats, the directions and depth, lineage across
 * runs (`--input NAME=@ARTIFACT_ID`), a gate's policy violation, and bad input.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { join } from "node:path";
import {
  assertCleanError,
  type CliResult,
  lily,
  lilyJson,
  SANDBOX_ENV,
  withTempDir,
} from "./_helpers.ts";

/** Three steps in a chain from a run input; `c` has a passing gate and an optional gate that the policy refuses. */
const CHAIN = [
  "name: chain",
  "inputs:",
  "  seed: { type: seed.v1 }",
  "steps:",
  "  - id: a",
  '    shell: cat "$LILY_INPUT_SEED" > "$LILY_OUTPUT_DIR/a.txt"',
  "    inputs: { seed: inputs.seed }",
  "    outputs:",
  "      a: { type: note.v1, kind: text, path: a.txt }",
  "  - id: b",
  '    shell: cat "$LILY_INPUT_A" > "$LILY_OUTPUT_DIR/b.txt"; echo b >> "$LILY_OUTPUT_DIR/b.txt"',
  "    inputs: { a: steps.a.outputs.a }",
  "    outputs:",
  "      b: { type: note.v1, kind: text, path: b.txt }",
  "  - id: c",
  '    shell: cat "$LILY_INPUT_B" > "$LILY_OUTPUT_DIR/c.txt"; echo c >> "$LILY_OUTPUT_DIR/c.txt"',
  "    inputs: { b: steps.b.outputs.b }",
  "    outputs:",
  "      c: { type: report.v1, kind: text, path: c.txt }",
  "gates:",
  '  - { id: nonempty, step: c, shell: test -s "$LILY_INPUT_C" }',
  '  - { id: audit, step: c, command: [od, x], required: false, policy: { tools: ["true"] } }',
  "",
].join("\n");

/** A second workflow that reads a report (from another run, by `@ID`). */
const CONSUMER = [
  "name: consumer",
  "inputs:",
  "  report: { type: report.v1 }",
  "steps:",
  "  - id: summarize",
  '    shell: wc -c < "$LILY_INPUT_REPORT" > "$LILY_OUTPUT_DIR/n.txt"',
  "    inputs: { report: inputs.report }",
  "    outputs:",
  "      n: { type: count.v1, kind: text, path: n.txt }",
  "",
].join("\n");

interface Node {
  artifact_id: string;
  run_id: string;
  sha256: string;
  role: string;
  distance: number;
  run_input: string | null;
  produced_by: {
    step: string;
    attempt: number;
    cause: string;
    status: string;
    inputs: { name: string; artifact_id: string; sha256: string }[];
  } | null;
  gates: {
    gate_id: string;
    status: string;
    required: boolean;
    result_id: string;
    violations: { kind: string; target: string }[];
  }[];
  violations: unknown[];
}

interface Graph {
  root: string;
  direction: string;
  depth: number | null;
  nodes: Node[];
  edges: { from: string; to: string; via: string | null; input: string | null }[];
  runs: { run_id: string; workflow_name: string; status: string; environment: unknown }[];
}

interface Chain {
  ws: string;
  runId: string;
  seed: string;
  a: string;
  b: string;
  c: string;
}

async function startRun(ws: string, args: string[]): Promise<Record<string, unknown>> {
  const result = await lily(["run", "start", ...args, "--json"], {
    workspace: ws,
    env: SANDBOX_ENV,
  });
  assertEquals(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

type RunDoc = {
  run_id: string;
  run_state: {
    inputs: Record<string, string>;
    steps: Record<string, { outputs: Record<string, string> }>;
  };
};

async function withChain(fn: (chain: Chain) => Promise<void>): Promise<void> {
  await withTempDir(async (ws) => {
    await Deno.writeTextFile(join(ws, "flow.yaml"), CHAIN);
    await Deno.writeTextFile(join(ws, "seed.txt"), "seed\n");
    const run = await startRun(ws, ["flow.yaml", "--input", "seed=seed.txt"]) as unknown as RunDoc;
    const steps = run.run_state.steps;
    await fn({
      ws,
      runId: run.run_id,
      seed: run.run_state.inputs.seed,
      a: steps.a.outputs.a,
      b: steps.b.outputs.b,
      c: steps.c.outputs.c,
    });
  });
}

async function provenance(ws: string, args: string[]): Promise<CliResult> {
  return await lily(["provenance", ...args], { workspace: ws });
}

async function graphOf(ws: string, args: string[]): Promise<Graph> {
  return await lilyJson<Graph>(["provenance", ...args], ws);
}

async function sha(ws: string, id: string): Promise<string> {
  return (await lilyJson<{ sha256: string }>(["artifact", "show", id], ws)).sha256;
}

function ids(graph: Graph): string[] {
  return graph.nodes.map((n) => n.artifact_id).sort();
}

/** Checks every line of a Mermaid flowchart against the statements Lily writes. */
function assertMermaidFlowchart(lines: string[]): { nodes: string[]; edges: [string, string][] } {
  assertEquals(lines[0], "flowchart LR");
  const label = String.raw`"[^"\n]*"`;
  const nodes: string[] = [];
  const edges: [string, string][] = [];
  let open = 0;
  for (const line of lines.slice(1)) {
    const node = line.match(new RegExp(String.raw`^\s+(a\d+)\[${label}\]$`));
    const edge = line.match(new RegExp(String.raw`^\s+(a\d+) -->(?:\|${label}\|)? (a\d+)$`));
    if (new RegExp(String.raw`^\s+subgraph run\d+ \[${label}\]$`).test(line)) open++;
    else if (/^\s+end$/.test(line)) open--;
    else if (node) nodes.push(node[1]);
    else if (edge) edges.push([edge[1], edge[2]]);
    else if (!/^\s+classDef root [a-z-]+:\w+$|^\s+class a\d+ root$/.test(line)) {
      throw new Error(`Not a flowchart statement: ${line}`);
    }
    assert(open === 0 || open === 1, line);
  }
  assertEquals(open, 0);
  for (const [from, to] of edges) assert(nodes.includes(from) && nodes.includes(to));
  return { nodes, edges };
}

/** Runs Graphviz on DOT text; `null` when `dot` is not installed. */
async function graphviz(text: string): Promise<{ code: number; stderr: string } | null> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("dot", {
      args: ["-Tsvg"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("provenance of an artifact three steps deep: json, tree, dot and mermaid", async () => {
  await withChain(async ({ ws, runId, seed, a, b, c }) => {
    const graph = await graphOf(ws, [c]);
    assertEquals([graph.root, graph.direction, graph.depth], [c, "up", null]);
    assertEquals(ids(graph), [seed, a, b, c].sort());
    const byId = new Map(graph.nodes.map((n) => [n.artifact_id, n]));
    const root = byId.get(c)!;
    assertEquals(root.role, "root");
    assertEquals(
      [
        root.produced_by?.step,
        root.produced_by?.attempt,
        root.produced_by?.cause,
        root.produced_by?.status,
      ],
      ["c", 1, "first", "succeeded"],
    );
    assertEquals(root.produced_by?.inputs, [{
      name: "b",
      artifact_id: b,
      sha256: await sha(ws, b),
    }]);
    assertEquals(byId.get(b)!.produced_by?.inputs, [{
      name: "a",
      artifact_id: a,
      sha256: await sha(ws, a),
    }]);
    assertEquals(byId.get(a)!.produced_by?.inputs, [{
      name: "seed",
      artifact_id: seed,
      sha256: await sha(ws, seed),
    }]);
    assertEquals([byId.get(seed)!.produced_by, byId.get(seed)!.run_input], [null, "seed"]);
    assertEquals(graph.nodes.map((n) => [n.artifact_id, n.distance]), [[c, 0], [b, 1], [a, 2], [
      seed,
      3,
    ]]);
    assertEquals(
      graph.edges.map((e) => [e.from, e.to, e.via, e.input]),
      [[b, c, "c#1", "b"], [a, b, "b#1", "a"], [seed, a, "a#1", "seed"]],
    );
    // Gates of the producing attempt, with the optional gate's policy violation.
    assertEquals(root.gates.map((g) => [g.gate_id, g.status, g.required]), [
      ["nonempty", "pass", true],
      ["audit", "error", false],
    ]);
    const audit = root.gates[1];
    assertEquals(audit.violations.map((v) => [v.kind, v.target]), [["run", "/usr/bin/od"]]);
    const result = await lilyJson<{ artifact_type: string }>(
      ["artifact", "show", audit.result_id],
      ws,
    );
    assertEquals(result.artifact_type, "gate_result.v1");
    assertEquals(graph.runs.map((r) => [r.run_id, r.workflow_name, r.status]), [[
      runId,
      "chain",
      "succeeded",
    ]]);

    const formatJson = await provenance(ws, [c, "--format", "json"]);
    assertEquals(JSON.parse(formatJson.stdout), graph);

    const tree = await provenance(ws, [c, "--format", "tree"]);
    assertEquals(tree.code, 0, tree.stderr);
    assertEquals((await provenance(ws, [c])).stdout, tree.stdout, "tree is the default format");
    const lines = tree.stdout.split("\n");
    assertMatch(lines[0], new RegExp(`^report\\.v1 "c\\.c" ${c}$`));
    for (
      const expected of [
        `  produced by: step c attempt 1 (first, succeeded, exit 0) as output c,`,
        `  input b: ${b} sha256 ${await sha(ws, b)}`,
        `  gate nonempty: pass (required), result `,
        `  gate audit: error (optional), result ${audit.result_id}`,
        `    violation `,
        `made from:`,
        `  ← [1] note.v1 "b.b" ${b} (input b of c#1)`,
        `      input a: ${a} sha256 ${await sha(ws, a)}`,
        `    ← [2] note.v1 "a.a" ${a} (input a of b#1)`,
        `      ← [3] seed.v1 "seed" ${seed} (input seed of a#1)`,
        `          produced by: run input seed, given by `,
      ]
    ) {
      assert(
        lines.some((l) => l.startsWith(expected)),
        `no line starting ${expected}:\n${tree.stdout}`,
      );
    }

    const dot = await provenance(ws, [c, "--format", "dot"]);
    assertEquals(dot.code, 0, dot.stderr);
    assertMatch(dot.stdout, /^digraph provenance \{/);
    for (const [from, to, via] of [[b, c, "c#1"], [a, b, "b#1"], [seed, a, "a#1"]]) {
      assert(dot.stdout.includes(`"${from}" -> "${to}" [label="${via}"];`), dot.stdout);
    }
    assertMatch(
      dot.stdout,
      new RegExp(
        `"${c}" \\[label="report\\.v1 \\\\"c\\.c\\\\"\\\\n${c}\\\\n.*gates: nonempty pass, audit error\\\\nviolations: 1", style=bold`,
      ),
    );
    const rendered = await graphviz(dot.stdout);
    if (rendered === null) {
      console.warn("dot is not installed: the DOT output was not given to Graphviz");
    } else assertEquals(rendered, { code: 0, stderr: "" });

    const mermaid = await provenance(ws, [c, "--format", "mermaid"]);
    assertEquals(mermaid.code, 0, mermaid.stderr);
    const chart = assertMermaidFlowchart(mermaid.stdout.trimEnd().split("\n"));
    assertEquals(chart.nodes, ["a0", "a1", "a2", "a3"]);
    assertEquals(chart.edges, [["a1", "a0"], ["a2", "a1"], ["a3", "a2"]]);
    assertMatch(mermaid.stdout, /a0\["report\.v1 #quot;c\.c#quot;<br\/>/);
    assertMatch(mermaid.stdout, /a1 -->\|"c#35;1"\| a0/);
  });
});

Deno.test("provenance --up, --down, --both and --depth", async () => {
  await withChain(async ({ ws, seed, a, b, c }) => {
    assertEquals(ids(await graphOf(ws, [b, "--up"])), [b, a, seed].sort());
    const down = await graphOf(ws, [b, "--down"]);
    assertEquals(ids(down), [b, c].sort());
    assertEquals(down.nodes.map((n) => n.role), ["root", "descendant"]);
    assertEquals(down.edges.map((e) => [e.from, e.to, e.via]), [[b, c, "c#1"]]);
    const both = await graphOf(ws, [b, "--both"]);
    assertEquals(ids(both), [seed, a, b, c].sort());
    assertEquals(
      Object.fromEntries(both.nodes.map((n) => [n.artifact_id, [n.role, n.distance]])),
      { [b]: ["root", 0], [a]: ["ancestor", 1], [c]: ["descendant", 1], [seed]: ["ancestor", 2] },
    );
    assertEquals(ids(await graphOf(ws, [c, "--depth", "1"])), [c, b].sort());
    assertEquals(ids(await graphOf(ws, [c, "--depth", "0"])), [c]);
    assertEquals(ids(await graphOf(ws, [seed, "--down", "--depth", "2"])), [seed, a, b].sort());
    const tree = await provenance(ws, [b, "--both", "--depth", "1"]);
    assertMatch(tree.stdout, /\nmade from \(depth 1\):\n {2}← \[1\] note\.v1 "a\.a"/);
    assertMatch(tree.stdout, /\nused by \(depth 1\):\n {2}→ \[1\] report\.v1 "c\.c"/);
    assert(!tree.stdout.includes("seed.v1"), tree.stdout);
    // Its gate results are made from it too: they are shown as gates, not as descendants.
    const leaf = await provenance(ws, [c, "--down"]);
    assertMatch(leaf.stdout, /\nused by:\n {2}nothing in the store\n$/);
  });
});

Deno.test("provenance follows @ARTIFACT_ID inputs (run input and step input) across runs, up and down", async () => {
  await withChain(async ({ ws, runId, seed, a, b, c }) => {
    await Deno.writeTextFile(join(ws, "consumer.yaml"), CONSUMER);
    const second = await startRun(ws, [
      "consumer.yaml",
      "--input",
      `report=@${c}`,
    ]) as unknown as RunDoc;
    const n = second.run_state.steps.summarize.outputs.n;
    const up = await graphOf(ws, [n]);
    assertEquals(ids(up), [seed, a, b, c, n].sort());
    const report = up.nodes.find((x) => x.artifact_id === c)!;
    assertEquals([report.run_id, report.produced_by?.step, report.run_input], [runId, "c", null]);
    assertEquals(up.nodes.find((x) => x.artifact_id === n)!.produced_by?.inputs, [
      { name: "report", artifact_id: c, sha256: await sha(ws, c) },
    ]);
    assertEquals(up.runs.map((r) => [r.run_id, r.workflow_name]), [
      [second.run_id, "consumer"],
      [runId, "chain"],
    ]);
    assertEquals(up.edges[0], { from: c, to: n, via: "summarize#1", input: "report" });
    // A step may also name another run's artifact itself: `inputs: { NAME: "@ID" }`.
    await Deno.writeTextFile(
      join(ws, "direct.yaml"),
      [
        "name: direct",
        "steps:",
        "  - id: quote",
        '    shell: cat "$LILY_INPUT_REPORT" > "$LILY_OUTPUT_DIR/q.txt"',
        `    inputs: { report: "@${c}" }`,
        "    outputs:",
        "      q: { type: quote.v1, kind: text, path: q.txt }",
        "",
      ].join("\n"),
    );
    const third = await startRun(ws, ["direct.yaml"]) as unknown as RunDoc;
    const q = third.run_state.steps.quote.outputs.q;
    const quoted = await graphOf(ws, [q, "--depth", "1"]);
    assertEquals(quoted.edges, [{ from: c, to: q, via: "quote#1", input: "report" }]);
    assertEquals(quoted.runs.map((r) => r.run_id), [third.run_id, runId]);
    const down = await graphOf(ws, [a, "--down"]);
    assertEquals(ids(down), [a, b, c, n, q].sort());
    assertEquals(down.nodes.find((x) => x.artifact_id === n)!.run_id, second.run_id);
    assertEquals(down.nodes.find((x) => x.artifact_id === q)!.run_id, third.run_id);
    const dot = await provenance(ws, [a, "--down", "--format", "dot"]);
    assertEquals(dot.stdout.match(/subgraph cluster_\d+/g)?.length, 3);
    assertMatch(dot.stdout, new RegExp(`label="run ${second.run_id} \\(consumer\\)"`));
    const rendered = await graphviz(dot.stdout);
    if (rendered !== null) assertEquals(rendered.code, 0, rendered.stderr);
    const chart = assertMermaidFlowchart(
      (await provenance(ws, [a, "--down", "--format", "mermaid"])).stdout.trimEnd().split("\n"),
    );
    assertEquals(chart.nodes.length, 5);
  });
});

Deno.test("provenance escapes names in DOT and Mermaid", async () => {
  await withChain(async ({ ws, runId }) => {
    const run = { run_id: runId };
    await Deno.writeTextFile(join(ws, "x.txt"), "x");
    const put = async (name: string, inputs: string[]) =>
      (await lilyJson<{ artifact_id: string }>([
        "artifact",
        "put",
        run.run_id,
        "--type",
        "note.v1",
        "--text-file",
        "x.txt",
        "--name",
        name,
        ...inputs.flatMap((i) => ["--input", i]),
      ], ws)).artifact_id;
    const odd = await put('say "hi" <b> | #1 `x` \\ end', []);
    const made = await put("made", [odd]);
    const graph = await graphOf(ws, [made]);
    assertEquals(graph.edges, [{ from: odd, to: made, via: null, input: null }]);
    assertEquals(graph.nodes[1].produced_by, null);
    const dot = await provenance(ws, [made, "--format", "dot"]);
    assert(dot.stdout.includes('say \\"hi\\" <b> | #1 `x` \\\\ end'), dot.stdout);
    const rendered = await graphviz(dot.stdout);
    if (rendered !== null) assertEquals(rendered, { code: 0, stderr: "" });
    const mermaid = (await provenance(ws, [made, "--format", "mermaid"])).stdout;
    assertMermaidFlowchart(mermaid.trimEnd().split("\n"));
    assert(mermaid.includes("say #quot;hi#quot; #lt;b#gt; #124; #35;1 #96;x#96; \\ end"), mermaid);
    const tree = await provenance(ws, [odd, "--down"]);
    assertMatch(tree.stdout, /produced by: cli \(human\), outside any step/);
  });
});

Deno.test("provenance: an unknown artifact is exit 1 on one line; bad flags are exit 2", async () => {
  await withChain(async ({ ws, c }) => {
    const unknown = crypto.randomUUID();
    assertCleanError(
      await provenance(ws, [unknown]),
      1,
      new RegExp(`Artifact ${unknown} does not exist`),
    );
    const json = await provenance(ws, [unknown, "--json"]);
    assertEquals(json.code, 1);
    assertEquals(JSON.parse(json.stdout).error.code, "not_found");
    assertCleanError(
      await provenance(ws, [c, "--up", "--down"]),
      2,
      /at most one of --up, --down and --both/,
    );
    assertCleanError(await provenance(ws, [c, "--depth", "-1"]), 2, /depth/);
    assertCleanError(await provenance(ws, [c, "--depth", "two"]), 2, /Invalid --depth "two"/);
    assertCleanError(
      await provenance(ws, [c, "--format", "svg"]),
      2,
      /svg.*tree, json, dot, mermaid/,
    );
    assertCleanError(
      await provenance(ws, [c, "--format", "dot", "--json"]),
      2,
      /--json prints the json format/,
    );
    assertCleanError(await provenance(ws, ["not-an-id"]), 2, /artifact id/);
    assertCleanError(await provenance(ws, []), 2, /missing required argument/);
  });
  await withTempDir(async (ws) => {
    assertCleanError(await provenance(ws, [crypto.randomUUID()]), 1, /store|\.iris|workspace/i);
  });
});

Deno.test("provenance shows a run's environment snapshot, and a replacement (lily artifact replace --continue) both ways", async () => {
  await withChain(async ({ ws, runId, a, b, c }) => {
    const records = await lilyJson<{
      environment_snapshot: { artifact_id: string };
      records: { record_id: string; step_id: string; attempt: number }[];
    }>(["run", "show", runId], ws);
    const env = records.environment_snapshot;
    const cRecord = records.records.find((r) => r.step_id === "c" && r.attempt === 1)!;
    const first = await graphOf(ws, [c, "--depth", "0"]);
    const snapshot = first.runs[0].environment as {
      artifact_id: string;
      snapshot: Record<string, unknown>;
    };
    assertEquals(snapshot.artifact_id, env.artifact_id);
    assertEquals(snapshot.snapshot.deno_version, Deno.version.deno);
    assertEquals(
      (first.nodes[0].produced_by as unknown as { record_id: string }).record_id,
      cRecord.record_id,
    );
    assertMatch(
      (await provenance(ws, [c])).stdout,
      new RegExp(`\n {2}record: ${cRecord.record_id}\n`),
    );
    await Deno.writeTextFile(join(ws, "b2.txt"), "better b\n");
    const replaced = await lily([
      "artifact",
      "replace",
      runId,
      b,
      "--text-file",
      "b2.txt",
      "--reason",
      "b was wrong",
      "--continue",
    ], { workspace: ws, env: { ...SANDBOX_ENV, LILY_USER: "ana" } });
    assertEquals(replaced.code, 0, replaced.stderr);
    const shown = await lilyJson<RunDoc>(["run", "show", runId], ws);
    const c2 = shown.run_state.steps.c.outputs.c;
    const [record] = await lilyJson<{ artifact_id: string }[]>([
      "artifact",
      "list",
      "--type",
      "artifact_replacement.v1",
    ], ws);
    const up = await graphOf(ws, [c2]);
    assertEquals(up.runs[0].environment, snapshot);
    const byId = new Map(up.nodes.map((n) => [n.artifact_id, n]));
    const producer = byId.get(c2)!.produced_by as unknown as Record<string, unknown>;
    assertEquals([producer.step, producer.attempt, producer.cause, producer.supersedes], [
      "c",
      2,
      "replace",
      1,
    ]);
    const b2 = (producer.inputs as { artifact_id: string }[])[0].artifact_id;
    assertEquals(ids(up).includes(b), true, "the replacement is made from the original");
    const replacement = {
      record_id: record.artifact_id,
      original_artifact_id: b,
      replacement_artifact_id: b2,
      reason: "b was wrong",
      replaced_by: "ana",
    };
    for (const id of [b, b2]) {
      const node = byId.get(id) as unknown as { replacements: Record<string, unknown>[] };
      const { replaced_at, ...rest } = node.replacements[0];
      assertEquals([node.replacements.length, rest], [1, replacement]);
      assertMatch(String(replaced_at), /^\d{4}-\d\d-\d\dT/);
    }
    // The record is made from b and b2: it is shown on them, not as a descendant.
    const down = await graphOf(ws, [b, "--down"]);
    assertEquals(ids(down), [b, b2, c, c2].sort());
    const tree = (await provenance(ws, [c2])).stdout;
    assertMatch(
      tree,
      new RegExp(
        `\n {2}environment: deno ${
          Deno.version.deno.replaceAll(".", "\\.")
        }, ${Deno.build.os} ${Deno.build.arch}, lily [^ ]+ \\(environment_snapshot\\.v1 ${env.artifact_id}\\)\n`,
      ),
    );
    assertMatch(
      tree,
      /produced by: step c attempt 2 \(replace, succeeded, exit 0, supersedes attempt 1\)/,
    );
    assert(tree.includes(`replaces ${b} by ana at `), tree);
    assert(tree.includes(`replaced by ${b2} by ana at `), tree);
    assertMatch(
      (await provenance(ws, [b, "--format", "mermaid"])).stdout,
      /b#35;1 succeeded<br\/>replaced"\]/,
    );
    assertEquals(ids(await graphOf(ws, [a, "--down"])), [a, b, b2, c, c2].sort());
  });
});

Deno.test("provenance of a diamond: a shared ancestor is one node, written once in the tree", async () => {
  await withTempDir(async (ws) => {
    const out = (name: string) => [
      "    outputs:",
      `      ${name}: { type: note.v1, kind: text, path: ${name}.txt }`,
    ];
    await Deno.writeTextFile(
      join(ws, "diamond.yaml"),
      [
        "name: diamond",
        "steps:",
        "  - id: top",
        '    shell: echo top > "$LILY_OUTPUT_DIR/t.txt"',
        ...out("t"),
        "  - id: left",
        '    shell: cat "$LILY_INPUT_T" > "$LILY_OUTPUT_DIR/l.txt"',
        "    inputs: { t: steps.top.outputs.t }",
        ...out("l"),
        "  - id: right",
        '    shell: cat "$LILY_INPUT_T" > "$LILY_OUTPUT_DIR/r.txt"; echo r >> "$LILY_OUTPUT_DIR/r.txt"',
        "    inputs: { t: steps.top.outputs.t }",
        ...out("r"),
        "  - id: bottom",
        '    shell: cat "$LILY_INPUT_L" "$LILY_INPUT_R" > "$LILY_OUTPUT_DIR/b.txt"',
        "    inputs: { l: steps.left.outputs.l, r: steps.right.outputs.r }",
        ...out("b"),
        "",
      ].join("\n"),
    );
    const run = await startRun(ws, ["diamond.yaml"]) as unknown as RunDoc;
    const o = (step: string, name: string) => run.run_state.steps[step].outputs[name];
    const [t, l, r, b] = [o("top", "t"), o("left", "l"), o("right", "r"), o("bottom", "b")];
    const up = await graphOf(ws, [b]);
    assertEquals(
      up.nodes.map((n) => [n.artifact_id, n.distance]).sort(),
      [[t, 2], [l, 1], [r, 1], [b, 0]].sort(),
    );
    assertEquals(
      up.edges.map((e) => `${e.from}>${e.to} ${e.via} ${e.input}`).sort(),
      [`${l}>${b} bottom#1 l`, `${r}>${b} bottom#1 r`, `${t}>${l} left#1 t`, `${t}>${r} right#1 t`]
        .sort(),
    );
    const tree = (await provenance(ws, [b])).stdout;
    assertEquals(
      tree.split("\n").filter((line) => line.includes(`note.v1 "top.t" ${t}`)).length,
      2,
    );
    assertMatch(
      tree,
      new RegExp(`← \\[2\\] note\\.v1 "top\\.t" ${t} \\(input t of right#1\\) \\(shown above\\)`),
    );
    const down = await graphOf(ws, [t, "--down"]);
    assertEquals(ids(down), [t, l, r, b].sort());
    const rendered = await graphviz(
      (await provenance(ws, [t, "--down", "--format", "dot"])).stdout,
    );
    if (rendered !== null) assertEquals(rendered, { code: 0, stderr: "" });
  });
});

Deno.test("provenance lists a gates-only evaluation (lily run rerun --gates-only) among an artifact's gates", async () => {
  await withChain(async ({ ws, runId, c }) => {
    const dry = await lily(["run", "rerun", runId, "--gates-only", "--gate", "nonempty"], {
      workspace: ws,
      env: SANDBOX_ENV,
    });
    assertEquals(dry.code, 0, dry.stderr);
    const graph = await graphOf(ws, [c, "--depth", "0"]);
    const gates = graph.nodes[0].gates as unknown as Record<string, unknown>[];
    assertEquals(gates.map((g) => [g.evaluation, g.gate_id, g.status, g.required]), [
      ["run", "nonempty", "pass", true],
      ["run", "audit", "error", false],
      ["gates_only", "nonempty", "pass", true],
    ]);
    const result = await lilyJson<{ value: { evaluation: string } }>([
      "artifact",
      "get",
      String(gates[2].result_id),
    ], ws);
    assertEquals(result.value.evaluation, "gates_only");
    assertMatch(
      (await provenance(ws, [c, "--depth", "0"])).stdout,
      new RegExp(
        `\n {2}gate nonempty: pass \\(required\\), result ${
          gates[2].result_id
        }, a gates-only evaluation\n`,
      ),
    );
  });
});
