/**
 * Reads the JUnit XML `deno test --junit-path` writes into a
 * `deno/test_report.v1`: passed, failed and ignored counts, and each
 * failing test's name, file, line and message. The format is Deno's JUnit
 * reporter's (`<testsuites>` → `<testsuite>` → `<testcase>` with a
 * `<failure message="…">` or `<skipped/>` child); entities are decoded as
 * XML 1.0 defines them (the five named ones and numeric references).
 *
 * @module
 */

/** One failing test. */
export interface TestFailure {
  /** The test's name (a step's name is `parent ... step`, as Deno writes it). */
  readonly name: string;
  /** The test file, as Deno names it (`./math_test.ts`). */
  readonly file: string;
  /** The line the test is declared on, when Deno says. */
  readonly line: number | null;
  /** The failure's message (`Uncaught Error: expected 0, got 1`). */
  readonly message: string;
  /** The failure's details (error and stack), at most 4000 characters. */
  readonly details: string;
}

/** A `deno/test_report.v1`. */
export interface TestReport {
  /** Tests that passed. */
  readonly passed: number;
  /** Tests that failed. */
  readonly failed: number;
  /** Tests ignored (`ignore: true`, or filtered by `only`). */
  readonly ignored: number;
  /** All tests. */
  readonly total: number;
  /** The failing tests, in the order Deno reported them. */
  readonly failures: readonly TestFailure[];
}

const MAX_DETAILS = 4000;

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|quot|amp|lt|gt|apos);/g, (_, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return { quot: '"', amp: "&", lt: "<", gt: ">", apos: "'" }[e] ?? _;
  });
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
    out[m[1]] = decode(m[3] ?? m[4] ?? "");
  }
  return out;
}

/**
 * Parses Deno's JUnit XML.
 *
 * @param xml The file's text.
 * @returns The report.
 * @throws {Error} When the text has no `<testsuites>` element (not a JUnit report).
 */
export function parseJunitReport(xml: string): TestReport {
  if (!/<testsuites[\s>]/.test(xml)) {
    throw new Error("expected a JUnit XML report with a <testsuites> element");
  }
  let passed = 0;
  let ignored = 0;
  const failures: TestFailure[] = [];
  const cases = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(cases)) {
    const attrs = attributes(m[1]);
    const body = m[3] ?? "";
    const failure = /<(failure|error)\b([^>]*?)(\/>|>([\s\S]*?)<\/\1>)/.exec(body);
    if (failure) {
      const details = decode(failure[4] ?? "").trim();
      failures.push({
        name: attrs.name ?? "",
        file: attrs.classname ?? "",
        line: attrs.line === undefined ? null : Number(attrs.line),
        message: attributes(failure[2]).message ?? details.split("\n")[0] ?? "",
        details: details.length > MAX_DETAILS ? `${details.slice(0, MAX_DETAILS)}…` : details,
      });
    } else if (/<skipped\b/.test(body)) ignored++;
    else passed++;
  }
  return {
    passed,
    failed: failures.length,
    ignored,
    total: passed + failures.length + ignored,
    failures,
  };
}

/**
 * Says which tests failed, one line each, for a failure message.
 *
 * @param report The report.
 * @returns `2 of 5 tests failed: name (file:line): message; …`.
 */
export function failureSummary(report: TestReport): string {
  const each = report.failures.map((f) =>
    `${f.name} (${f.file}${f.line === null ? "" : `:${f.line}`}): ${f.message}`
  );
  return `${report.failed} of ${report.total} tests failed: ${each.join("; ")}`;
}
