import { assertEquals } from "./_assert.ts";
import { join, relative } from "node:path";
import { KERNEL_VERSION } from "../mod.ts";
import { REPO } from "./_helpers.ts";

/**
 * Layer folders under src/, lowest first; a folder may import only itself and
 * earlier ones. `policy` (pure compilers: confinement → flags and mounts,
 * retry, routes) sits below `runtime`, which applies what it compiles, as
 * Temporal's worker depends on its workflow package (ARCHITECTURE.md (c) 3).
 */
const LAYERS = [
  "core",
  "store",
  "contracts",
  "graph",
  "policy",
  "runtime",
  "gates",
  "observe",
  "packs",
  "kernel",
  "cli",
] as const;

type Layer = typeof LAYERS[number];

/**
 * The external modules each layer may import, by import-map name or `node:`
 * module (STYLE.md rule 11: a dependency lives behind the layer that owns
 * it). Taken from the tree as it stands; widening a row is a decision, so
 * name it in the commit.
 *
 * | module | only in |
 * |---|---|
 * | `node:sqlite` | store |
 * | `yaml` | graph |
 * | `ajv`, `ajv-formats` | contracts |
 * | `commander`, `@commander-js/extra-typings` | cli |
 * | `canonicalize` | core |
 * | `zod` | store, contracts, graph, runtime, packs |
 * | `node:crypto` | core, store |
 * | `node:path` | store, contracts, graph, policy, runtime, packs, cli |
 * | `@opentelemetry/api` | observe |
 * | `import()` of a computed specifier | packs (the pack loader imports the modules `lily.json` names) |
 */
const ALLOWED_EXTERNAL: Readonly<Record<Layer, readonly string[]>> = {
  core: ["canonicalize", "node:crypto"],
  store: ["node:crypto", "node:path", "node:sqlite", "zod"],
  contracts: ["ajv", "ajv-formats", "node:path", "zod"],
  graph: ["node:path", "yaml", "zod"],
  policy: ["node:path"],
  runtime: ["node:path", "zod"],
  gates: [],
  observe: ["@opentelemetry/api"],
  packs: ["(a computed specifier)", "node:path", "zod"],
  kernel: [],
  cli: ["@commander-js/extra-typings", "commander", "node:path"],
};

/**
 * Files and folders that decide and must not act: no `Deno.` (no I/O, no
 * environment, no process), no wall clock, no randomness, no timers, so they
 * can be tested without a disk and replayed. A rule applies to the files that
 * exist.
 */
const PURE = [
  "src/graph/",
  "src/policy/",
  "src/runtime/run_decider.ts",
  "src/runtime/route_decider.ts",
  "src/runtime/replay_decider.ts",
  "src/runtime/run_events.ts",
  "src/runtime/executors/llm_retry.ts",
  "src/kernel/gc_plan.ts",
  "src/observe/provenance_facts.ts",
  "src/observe/provenance_graph.ts",
  "src/observe/provenance_run_facts.ts",
  "src/observe/provenance_tree.ts",
  "src/observe/provenance_diagram.ts",
  "src/runtime/cache_decider.ts",
  "src/runtime/cache_key.ts",
  "src/observe/cache_explain.ts",
  "src/runtime/run_simulation.ts",
  "src/runtime/simulation_walk.ts",
  "src/observe/run_facts.ts",
  "src/observe/run_diff.ts",
  "src/observe/output_drift.ts",
];

/**
 * Files under {@linkcode PURE} that still act, each with what it does; the
 * test fails once an entry is no longer needed, so the list only shrinks.
 */
const PURITY_EXEMPT: Readonly<Record<string, string>> = {
  "src/graph/workflow_loader.ts": "reads the workflow file or stdin (Deno.readFile, Deno.stdin) " +
    "next to the pure parseWorkflow; the read belongs to the caller (kernel or cli)",
};

/** Calls that read the clock, draw randomness or schedule work, by `object.property`. */
const IMPURE_MEMBERS = new Set([
  "Date.now",
  "performance.now",
  "Math.random",
  "crypto.randomUUID",
  "crypto.getRandomValues",
]);
const IMPURE_CALLS = new Set(["setTimeout", "setInterval", "queueMicrotask"]);

/** The size past which a file or a function is reported (not failed). */
const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;

interface Located {
  readonly what: string;
  readonly line: number;
}

interface FunctionSize {
  readonly name: string;
  readonly line: number;
  readonly lines: number;
}

/** What one source file imports, which impure things it touches, and its functions. */
interface FileFacts {
  readonly path: string;
  readonly lines: number;
  readonly imports: readonly Located[];
  readonly impure: readonly Located[];
  readonly functions: readonly FunctionSize[];
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

type FunctionNode =
  | Deno.lint.FunctionDeclaration
  | Deno.lint.FunctionExpression
  | Deno.lint.ArrowFunctionExpression;

function functionName(node: FunctionNode): string {
  if (node.type === "FunctionDeclaration" && node.id) return node.id.name;
  const parent = node.parent;
  if (parent.type === "VariableDeclarator" && parent.id.type === "Identifier") {
    return parent.id.name;
  }
  if (
    (parent.type === "MethodDefinition" || parent.type === "Property" ||
      parent.type === "PropertyDefinition")
  ) {
    if (parent.key.type === "Identifier") return parent.key.name;
    if (parent.key.type === "PrivateIdentifier") return `#${parent.key.name}`;
  }
  return "(anonymous)";
}

/** Parses a file with Deno's own parser (a lint plugin run on it) and collects its facts. */
function analyse(path: string, text: string): FileFacts {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const imports: Located[] = [];
  const impure: Located[] = [];
  const functions: FunctionSize[] = [];
  const source = (node: Deno.lint.Node, value: Deno.lint.Node | null | undefined) => {
    if (!value) return;
    const what = value.type === "Literal" && typeof value.value === "string"
      ? value.value
      : "(a computed specifier)";
    imports.push({ what, line: lineOf(node.range[0]) });
  };
  const fn = (node: FunctionNode) => {
    const [start, end] = node.range;
    functions.push({
      name: functionName(node),
      line: lineOf(start),
      lines: lineOf(end) - lineOf(start) + 1,
    });
  };
  const plugin: Deno.lint.Plugin = {
    name: "architecture",
    rules: {
      facts: {
        create: () => ({
          ImportDeclaration: (node) => source(node, node.source),
          ExportAllDeclaration: (node) => source(node, node.source),
          ExportNamedDeclaration: (node) => source(node, node.source),
          ImportExpression: (node) => source(node, node.source),
          TSImportType(node) {
            if (node.argument.type === "TSLiteralType") source(node, node.argument.literal);
          },
          MemberExpression(node) {
            if (node.object.type !== "Identifier" || node.property.type !== "Identifier") return;
            const member = `${node.object.name}.${node.property.name}`;
            if (node.object.name === "Deno" || IMPURE_MEMBERS.has(member)) {
              impure.push({ what: member, line: lineOf(node.range[0]) });
            }
          },
          TSQualifiedName(node) {
            if (node.left.type === "Identifier" && node.left.name === "Deno") {
              impure.push({ what: `Deno.${node.right.name}`, line: lineOf(node.range[0]) });
            }
          },
          NewExpression(node) {
            if (
              node.callee.type === "Identifier" && node.callee.name === "Date" &&
              node.arguments.length === 0
            ) {
              impure.push({ what: "new Date()", line: lineOf(node.range[0]) });
            }
          },
          CallExpression(node) {
            if (node.callee.type === "Identifier" && IMPURE_CALLS.has(node.callee.name)) {
              impure.push({ what: node.callee.name, line: lineOf(node.range[0]) });
            }
          },
          FunctionDeclaration: fn,
          FunctionExpression: fn,
          ArrowFunctionExpression: fn,
        }),
      },
    },
  };
  Deno.lint.runPlugin(plugin, path, text);
  return {
    path,
    lines: lineStarts.length - (text.endsWith("\n") ? 1 : 0),
    imports,
    impure,
    functions,
  };
}

let cached: Promise<FileFacts[]> | undefined;

/** Every `.ts` file under src/, analysed once for all the tests here. */
function srcFacts(): Promise<FileFacts[]> {
  cached ??= (async () => {
    const facts: FileFacts[] = [];
    for await (const file of sourceFiles(join(REPO, "src"))) {
      facts.push(analyse(relative(REPO, file), await Deno.readTextFile(file)));
    }
    return facts.sort((a, b) => a.path.localeCompare(b.path));
  })();
  return cached;
}

function layerOf(path: string): Layer | undefined {
  const folder = path.split("/")[1];
  return LAYERS.find((layer) => layer === folder);
}

/** The external module a non-relative specifier names: `npm:zod@4/mini` → `zod`. */
function externalModule(specifier: string): string {
  if (specifier.startsWith("node:")) return specifier.split("/")[0];
  const bare = specifier.replace(/^(npm|jsr):\/?/, "");
  const parts = bare.split("/");
  const name = bare.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  return name.replace(/(?<=.)@.*$/, "");
}

/** What is wrong with one import of `file`, or `null` when it is allowed. */
function importViolation(file: string, specifier: string): string | null {
  const layer = layerOf(file)!;
  if (specifier.startsWith(".")) {
    const target = relative(join(REPO, "src"), join(REPO, file, "..", specifier));
    if (target.startsWith("..")) return "imports a module outside src/";
    const targetLayer = layerOf(`src/${target}`);
    if (targetLayer === undefined) return "imports an unknown layer folder";
    return LAYERS.indexOf(targetLayer) > LAYERS.indexOf(layer)
      ? `imports the higher layer ${targetLayer}`
      : null;
  }
  if (/^(https?|file|data|blob):|^\//.test(specifier)) {
    return "imports by URL or absolute path instead of an import-map name";
  }
  if (/^(npm|jsr):/.test(specifier)) {
    return "bypasses deno.json's import map; import it by its import-map name";
  }
  const module = externalModule(specifier);
  return ALLOWED_EXTERNAL[layer].includes(module)
    ? null
    : `imports ${module}, which ${layer} may not use (allowed: ${
      ALLOWED_EXTERNAL[layer].join(", ") || "none"
    })`;
}

Deno.test("every file under src/ is in a layer folder", async () => {
  const strays = (await srcFacts()).map((f) => f.path).filter((p) => layerOf(p) === undefined);
  assertEquals(strays, []);
});

Deno.test("no layer imports a higher layer, and each imports only its allowed external modules", async () => {
  const violations: string[] = [];
  for (const facts of await srcFacts()) {
    for (const { what, line } of facts.imports) {
      const problem = importViolation(facts.path, what);
      if (problem) violations.push(`${facts.path}:${line} "${what}": ${problem}`);
    }
  }
  assertEquals(violations, []);
});

Deno.test("the import check catches upward, foreign and unmapped imports", () => {
  const cases: [string, string, boolean][] = [
    ["src/graph/scheduler.ts", "../runtime/run_events.ts", false],
    ["src/policy/retry.ts", "../runtime/run_events.ts", false],
    ["src/runtime/run_decider.ts", "../policy/retry.ts", true],
    ["src/store/store.ts", "../../mod.ts", false],
    ["src/graph/workflow_loader.ts", "yaml", true],
    ["src/runtime/run_loop.ts", "yaml", false],
    ["src/contracts/x.ts", "ajv/dist/2020.js", true],
    ["src/runtime/run_loop.ts", "node:sqlite", false],
    ["src/store/sqlite/sqlite_artifact_index.ts", "node:sqlite", true],
    ["src/kernel/kernel.ts", "@commander-js/extra-typings", false],
    ["src/cli/main.ts", "@commander-js/extra-typings", true],
    ["src/graph/workflow.ts", "npm:zod@4.6.7", false],
    ["src/core/ids.ts", "https://deno.land/std/uuid/mod.ts", false],
  ];
  const verdicts = cases.map(([file, specifier]) => importViolation(file, specifier) === null);
  assertEquals(verdicts, cases.map(([, , allowed]) => allowed));
  assertEquals(
    externalModule("npm:@commander-js/extra-typings@15.1.0/sub"),
    "@commander-js/extra-typings",
  );
  assertEquals(externalModule("node:fs/promises"), "node:fs");
});

Deno.test("planner files use no Deno API, clock, randomness or timers", async () => {
  const violations: string[] = [];
  const stillImpure = new Set<string>();
  for (const facts of await srcFacts()) {
    if (
      !PURE.some((rule) => rule.endsWith("/") ? facts.path.startsWith(rule) : facts.path === rule)
    ) {
      continue;
    }
    if (facts.impure.length > 0 && facts.path in PURITY_EXEMPT) {
      stillImpure.add(facts.path);
      continue;
    }
    for (const { what, line } of facts.impure) {
      violations.push(`${facts.path}:${line} uses ${what}`);
    }
  }
  assertEquals(violations, []);
  const stale = Object.keys(PURITY_EXEMPT).filter((path) => !stillImpure.has(path));
  assertEquals(stale, [], "remove these from PURITY_EXEMPT: they no longer act, or are gone");
});

Deno.test("files over 400 lines and functions over 80 lines are reported", async () => {
  const report: string[] = [];
  for (const facts of await srcFacts()) {
    if (facts.lines > MAX_FILE_LINES) report.push(`${facts.path}: ${facts.lines} lines`);
    for (const fn of facts.functions) {
      if (fn.lines > MAX_FUNCTION_LINES) {
        report.push(`${facts.path}:${fn.line} ${fn.name}: ${fn.lines} lines`);
      }
    }
  }
  if (report.length > 0) {
    console.warn(
      `Over ${MAX_FILE_LINES} lines per file or ${MAX_FUNCTION_LINES} per function ` +
        `(a smell, not a failure):\n  ${report.join("\n  ")}`,
    );
  }
  const sizes = (await srcFacts()).flatMap((f) => f.functions);
  assertEquals(
    sizes.length > 100 && sizes.every((fn) => fn.lines >= 1),
    true,
    "functions were measured",
  );
});

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

Deno.test("importing mod.ts loads no CLI dependency", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", join(REPO, "mod.ts")],
    stdout: "piped",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const modules = new Map<string, InfoModule>(
    info.modules.map((m: InfoModule) => [m.specifier, m]),
  );
  const reached = new Set<string>();
  const visit = (specifier: string) => {
    if (reached.has(specifier)) return;
    reached.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code) visit(dep.code.specifier);
    }
  };
  visit(info.roots[0]);
  const cli = [...reached].filter((s) => s.includes("/src/cli/") || s.includes("commander"));
  assertEquals(cli, []);
  assertEquals(reached.size > 10, true, "the walk saw the library's modules");
});

Deno.test("the kernel version equals deno.json's version", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  assertEquals(KERNEL_VERSION, config.version);
});
