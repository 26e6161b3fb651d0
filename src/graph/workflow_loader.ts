/**
 * Loading workflows: from YAML or JSON text (with file and line in every
 * error) and from the typed TS API. Both produce the same checked graph.
 *
 * @module
 */

import { basename } from "node:path";
import { isMap, LineCounter, parseDocument } from "yaml";
import { type Issue, NotFoundError, UsageError } from "../core/errors.ts";
import {
  formatPath,
  normalizeDefinition,
  type PathIssue,
  type WorkflowDefinition,
} from "./workflow_definition.ts";
import { buildGraph, type WorkflowGraph } from "./workflow_graph.ts";

/** A workflow problem, with the line it is on when it came from a file. */
export interface WorkflowIssue extends Issue {
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
      issues.map((i) => `${source}${i.line ? `:${i.line}` : ""} ${i.path}: ${i.message}`).join(
        "\n",
      ),
      { issues },
    );
    this.issues = issues;
  }
}

function lineOf(
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  path: readonly (string | number)[],
): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] };
    if (node && node.range) return lines.linePos(node.range[0]).line;
    if (depth === 0 && doc.contents?.range) return lines.linePos(doc.contents.range[0]).line;
  }
  return undefined;
}

function fail(
  source: string,
  issues: readonly PathIssue[],
  raw: unknown,
  line: (path: readonly (string | number)[]) => number | undefined,
): never {
  const located = issues.map((i) => ({
    code: i.code,
    path: formatPath(i.path, raw),
    message: i.message,
    line: line(i.path),
  }));
  throw new WorkflowError(source, located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
}

/**
 * Parses and checks a workflow from YAML or JSON text.
 *
 * @param text The file's contents.
 * @param source The file name used in error messages.
 * @returns The checked graph.
 * @throws {WorkflowError} With every problem, as `file:line path: message`.
 */
export function parseWorkflow(text: string, source = "workflow.yaml"): WorkflowGraph {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new WorkflowError(
      source,
      doc.errors.map((e) => ({
        code: "syntax",
        path: "(root)",
        message: e.message.split("\n")[0],
        line: lines.linePos(e.pos[0]).line,
      })),
    );
  }
  const raw = doc.toJS({ maxAliasCount: 100 });
  const line = (path: readonly (string | number)[]) => lineOf(doc, lines, path);
  if (!isMap(doc.contents)) {
    fail(source, [{ code: "invalid_type", path: [], message: "expected a mapping" }], raw, line);
  }
  const normalized = normalizeDefinition(raw);
  if (!normalized.ok) fail(source, normalized.issues, raw, line);
  const built = buildGraph(normalized.workflow);
  if (!built.ok) fail(source, built.issues, raw, line);
  return built.graph;
}

/**
 * Reads, parses and checks a workflow file.
 *
 * @param path The YAML or JSON file.
 * @returns The checked graph.
 * @throws {NotFoundError} When the file does not exist.
 * @throws {WorkflowError} When it is invalid.
 */
export async function loadWorkflowFile(path: string): Promise<WorkflowGraph> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`Workflow file ${path} does not exist`, { cause: err });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new UsageError(`Workflow ${path} is a directory; expected a YAML or JSON file`);
    }
    throw new UsageError(`Cannot read workflow ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseWorkflow(text, basename(path));
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
 * @returns The checked graph.
 * @throws {WorkflowError} With every problem and its path.
 */
export function defineWorkflow(definition: WorkflowDefinition): WorkflowGraph {
  const normalized = normalizeDefinition(definition, { allowFunctions: true });
  if (!normalized.ok) fail("workflow", normalized.issues, definition, () => undefined);
  const built = buildGraph(normalized.workflow);
  if (!built.ok) fail("workflow", built.issues, definition, () => undefined);
  return built.graph;
}
