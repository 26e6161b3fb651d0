/**
 * Loading workflows: from YAML or JSON text (with file and line in every
 * error) and from the typed TS API. Both produce the same checked graph.
 *
 * @module
 */

import { basename, extname } from "node:path";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml";
import { type Issue, NotFoundError, UsageError } from "../core/errors.ts";
import { formatIssuePath } from "../core/issue.ts";
import {
  locationLabel,
  normalizeDefinition,
  type PathIssue,
  type WorkflowDefinition,
} from "./workflow_definition.ts";
import { findJsonSyntaxError } from "./_json_syntax.ts";
import type { ExecutorKinds } from "./executor_kind.ts";
import type { PolicySpec } from "./workflow.ts";
import type { WorkflowTemplates } from "./workflow_template.ts";
import { aliasProblems, yamlErrorMessage } from "./_yaml_checks.ts";
import { buildGraph, type WorkflowGraph } from "./workflow_graph.ts";

/** The `yaml` library's bound on how many nodes an alias may expand to (a guard against alias bombs). */
const MAX_ALIAS_COUNT = 100;

/** Joins a message's lines (parsers write several) into one. */
function oneLine(message: string): string {
  return message.trim().replace(/\s*\n\s*/g, " ");
}

/** Options of the workflow loaders. */
export interface WorkflowLoadOptions {
  /**
   * The executor kinds steps and gates may name with `run: { kind, … }`
   * (a pack's, beside the kernel's).
   * @default {executorKinds()}
   */
  readonly kinds?: ExecutorKinds;
  /**
   * The templates steps, gates and routes may use by name (`uses: deno/test`).
   * @default {workflowTemplates()}
   */
  readonly templates?: WorkflowTemplates;
  /** The policy a workflow starts from (the workspace's `lily.json`). */
  readonly defaultPolicy?: PolicySpec;
}

/** A workflow problem, with the line it is on when it came from a file. */
export interface WorkflowIssue extends Issue {
  /**
   * The place as the message names it, steps and gates by id
   * (`steps.build.needs[0]`; `(root)` for the whole file).
   */
  readonly where: string;
  /** 1-based line in the file, when known. */
  readonly line?: number;
}

/** A workflow file or definition is invalid; `issues` lists every problem. */
export class WorkflowError extends UsageError {
  /** Every problem, with path and line. */
  override readonly issues: readonly WorkflowIssue[];

  /**
   * Creates the error; its message has one line per problem.
   *
   * @param source The file name (or `workflow` for the TS API).
   * @param issues Every problem found.
   */
  constructor(source: string, issues: readonly WorkflowIssue[]) {
    super(
      issues.map((i) => `${source}${i.line ? `:${i.line}` : ""} ${i.where}: ${oneLine(i.message)}`)
        .join("\n"),
      { issues },
    );
    this.issues = issues;
  }
}

type YamlNode = Node | null | undefined;

/** Follows one key or index, through aliases and `<<` merge keys. */
function child(doc: Document, node: YamlNode, key: string | number): YamlNode {
  const seen = new Set<unknown>();
  const search = (n: YamlNode): YamlNode => {
    while (isAlias(n) && !seen.has(n)) {
      seen.add(n);
      n = n.resolve(doc) as YamlNode;
    }
    if (isSeq(n) && typeof key === "number") return n.items[key] as YamlNode;
    if (!isMap(n)) return undefined;
    const own = n.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (own) return own.value as YamlNode;
    // A key not written here may come from a merged map; later sources lose.
    for (const pair of n.items) {
      if (!isScalar(pair.key) || typeof pair.key.value !== "symbol") continue;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        const found = search(source as YamlNode);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return search(node);
}

function lineOf(
  doc: Document,
  lines: LineCounter,
  path: readonly (string | number)[],
): number | undefined {
  let node = doc.contents as YamlNode;
  let line = node?.range ? lines.linePos(node.range[0]).line : undefined;
  for (const key of path) {
    node = child(doc, node, key);
    if (!node?.range) break;
    line = lines.linePos(node.range[0]).line;
  }
  return line;
}

function fail(
  source: string,
  issues: readonly PathIssue[],
  raw: unknown,
  line: (path: readonly (string | number)[]) => number | undefined,
): never {
  const located = issues.map((i) => ({
    code: i.code,
    path: formatIssuePath(i.path),
    where: locationLabel(i.path, raw),
    message: i.message,
    line: line(i.path),
  }));
  throw new WorkflowError(source, located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === "\n") line++;
  return line;
}

/** Whether a workflow file is read as JSON: its name ends in `.json` (any case). */
function isJsonWorkflowName(name: string): boolean {
  return extname(name).toLowerCase() === ".json";
}

/**
 * Parses and checks a workflow from YAML or JSON text. A source named
 * `*.json` is parsed as JSON (RFC 8259: a trailing comma or a comment is an
 * error); any other as YAML 1.2, with `<<` merge keys. Top-level keys
 * starting with `x-` are ignored (a place for anchors, as in Docker
 * Compose); every other unknown key is an error.
 *
 * @param text The file's contents.
 * @param source The file name used in error messages; its ending picks the parser.
 * @param options The executor kinds.
 * @returns The checked graph.
 * @throws {WorkflowError} With every problem, as `file:line path: message`.
 */
export function parseWorkflow(
  text: string,
  source = "workflow.yaml",
  options: WorkflowLoadOptions = {},
): WorkflowGraph {
  const json = isJsonWorkflowName(source);
  if (json) {
    const bad = findJsonSyntaxError(text);
    if (bad) {
      throw new WorkflowError(source, [{
        code: "syntax",
        path: "$",
        where: "(root)",
        message: `invalid JSON: ${bad.message}`,
        line: lineAt(text, bad.offset),
      }]);
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
    merge: !json,
  });
  const syntax = (message: string, offset: number | undefined) => ({
    code: "syntax",
    path: "$",
    where: "(root)",
    message: oneLine(message),
    line: offset === undefined ? undefined : lines.linePos(offset).line,
  });
  // Valid JSON is read by JSON.parse; the YAML reading of it only finds lines, and its
  // duplicate keys (which JSON.parse would silently drop).
  const errors = json ? doc.errors.filter((e) => e.code === "DUPLICATE_KEY") : doc.errors;
  if (errors.length > 0) {
    throw new WorkflowError(
      source,
      errors.map((e) => syntax(yamlErrorMessage(e.code, e.message), e.pos[0])),
    );
  }
  const aliases = json ? [] : aliasProblems(doc, lines);
  if (aliases.length > 0) {
    throw new WorkflowError(
      source,
      aliases.map((p) => ({ code: "syntax", path: "$", where: "(root)", ...p })),
    );
  }
  let raw: unknown;
  try {
    raw = json ? JSON.parse(text) : doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message = /Excessive alias count/.test((err as Error).message)
      ? `aliases expand to too many nodes (at most ${MAX_ALIAS_COUNT} per alias, a guard ` +
        "against alias bombs); write the repeated part out"
      : (err as Error).message;
    throw new WorkflowError(source, [syntax(message, undefined)]);
  }
  const line = (path: readonly (string | number)[]) => lineOf(doc, lines, path);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail(source, [{ code: "invalid_type", path: [], message: "expected a mapping" }], raw, line);
  }
  const normalized = normalizeDefinition(raw, {
    kinds: options.kinds,
    templates: options.templates,
    defaultPolicy: options.defaultPolicy,
  });
  if (!normalized.ok) fail(source, normalized.issues, raw, line);
  const built = buildGraph(normalized.value, { kinds: options.kinds });
  if (!built.ok) fail(source, built.issues, raw, line);
  return built.value;
}

/** A workflow file read once: its bytes, the name to store them under, and its graph. */
export interface WorkflowFile {
  /** The checked graph parsed from `bytes`. */
  readonly graph: WorkflowGraph;
  /** Exactly the bytes that were parsed. */
  readonly bytes: Uint8Array;
  /**
   * A file name for storing the bytes that keeps how they were parsed: the
   * file's own name when it ends in `.json`, `.yaml` or `.yml`, else
   * `workflow.yaml` (stdin, pipes, other names).
   */
  readonly name: string;
}

async function readAll(path: string): Promise<Uint8Array> {
  if (path === "-") return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  return await Deno.readFile(path);
}

/**
 * Reads a workflow file once and parses those bytes. `-` reads standard
 * input; pipes, FIFOs and `/dev/stdin` (e.g. `<(cat flow.yaml)`) work too.
 *
 * @param path The YAML or JSON file, or `-`.
 * @param options The executor kinds.
 * @returns The graph, the bytes read and the name to store them under.
 * @throws {NotFoundError} When the file does not exist.
 * @throws {UsageError} When it cannot be read (a directory, permissions, not UTF-8).
 * @throws {WorkflowError} When it is invalid.
 */
export async function readWorkflowFile(
  path: string,
  options: WorkflowLoadOptions = {},
): Promise<WorkflowFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readAll(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`Workflow file ${path} does not exist`, { cause: err });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new UsageError(`Workflow ${path} is a directory; expected a YAML or JSON file`);
    }
    throw new UsageError(`Cannot read workflow ${path}: ${oneLine((err as Error).message)}`, {
      cause: err,
    });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`Workflow ${path} is not UTF-8 text; expected a YAML or JSON file`);
  }
  const base = path === "-" ? "stdin" : basename(path);
  const named = /\.(json|ya?ml)$/i.test(base);
  const graph = parseWorkflow(text, named ? base : path === "-" ? "stdin" : path, options);
  return { graph, bytes, name: named ? base : "workflow.yaml" };
}

/**
 * Reads, parses and checks a workflow file (see {@linkcode readWorkflowFile}).
 *
 * @param path The YAML or JSON file, or `-` for standard input.
 * @param options The executor kinds.
 * @returns The checked graph.
 * @throws {NotFoundError} When the file does not exist.
 * @throws {WorkflowError} When it is invalid.
 */
export async function loadWorkflowFile(
  path: string,
  options: WorkflowLoadOptions = {},
): Promise<WorkflowGraph> {
  return (await readWorkflowFile(path, options)).graph;
}

/**
 * Checks a workflow written with the TS API. Functions may be given for
 * `fn` steps and gates.
 *
 * @example
 * ```ts
 * import { defineWorkflow } from "./workflow_loader.ts";
 * const graph = defineWorkflow({
 *   name: "hello",
 *   steps: [{ id: "greet", fn: () => ({ greeting: "hi" }), outputs: {
 *     greeting: { type: "greeting.v1", path: "greeting.json" },
 *   } }],
 * });
 * console.assert(graph.steps[0].id === "greet");
 * ```
 *
 * @param definition The workflow definition.
 * @param options The executor kinds.
 * @returns The checked graph.
 * @throws {WorkflowError} With every problem and its path.
 */
export function defineWorkflow(
  definition: WorkflowDefinition,
  options: WorkflowLoadOptions = {},
): WorkflowGraph {
  const normalized = normalizeDefinition(definition, {
    allowFunctions: true,
    kinds: options.kinds,
    templates: options.templates,
    defaultPolicy: options.defaultPolicy,
  });
  if (!normalized.ok) fail("workflow", normalized.issues, definition, () => undefined);
  const built = buildGraph(normalized.value, { kinds: options.kinds });
  if (!built.ok) fail("workflow", built.issues, definition, () => undefined);
  return built.value;
}
