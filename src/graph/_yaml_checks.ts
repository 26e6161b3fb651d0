/**
 * Checks of a parsed YAML workflow that the `yaml` library makes only when
 * it converts the document, with a message naming no line ("Unresolved
 * alias", "Merge sources must be maps") or its own API ("please use
 * YAML.parseAllDocuments()"): each is found here with its line.
 *
 * @module
 */

import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, visit } from "yaml";

/** A problem in the YAML, with the 1-based line it is on. */
export interface YamlProblem {
  /** What is wrong and what would be right. */
  readonly message: string;
  /** 1-based line. */
  readonly line: number;
}

/**
 * Words a parse error of the `yaml` library that names its own API.
 *
 * @param code The library's error code.
 * @param message Its message.
 * @returns The message to show.
 */
export function yamlErrorMessage(code: string, message: string): string {
  if (code === "MULTIPLE_DOCS") {
    return "a workflow file holds one YAML document, and a second one starts here; remove the " +
      "`---` line and what follows, or split the file";
  }
  return message;
}

/**
 * Finds aliases whose anchor is not defined before them, and `<<` merges of
 * something other than a mapping.
 *
 * @param doc The parsed document (with merge keys on).
 * @param lines Its line counter.
 * @returns Every such problem, in file order.
 */
export function aliasProblems(doc: Document, lines: LineCounter): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const lineOf = (range: readonly number[] | null | undefined) =>
    range ? lines.linePos(range[0]).line : 1;
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) === undefined) {
        problems.push({
          message: `alias *${alias.source} names no anchor; define &${alias.source} above it`,
          line: lineOf(alias.range),
        });
      }
    },
    Pair(_, pair) {
      if (!isScalar(pair.key) || typeof pair.key.value !== "symbol") return;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        // An alias that resolves to nothing is reported as such.
        const target = isAlias(source) ? source.resolve(doc) : source;
        if (target === undefined || isMap(target)) continue;
        problems.push({
          message: "a << merge takes a mapping, or an alias of one (or a list of them)",
          line: lineOf((source as { range?: number[] }).range),
        });
      }
    },
  });
  return problems.sort((a, b) => a.line - b.line);
}
