/**
 * How commands print: one JSON document on stdout with `--json`, human text
 * otherwise; messages meant for people go to stderr when `--json` is set.
 *
 * @module
 */

import { LilyError, type LilyErrorOptions } from "../core/errors.ts";

/** Where a command writes, so tests can capture it. */
export interface Output {
  /** Writes a line of data to stdout. */
  out(line: string): void;
  /** Writes a line for people to stderr. */
  err(line: string): void;
  /** Writes raw bytes to stdout. */
  raw(bytes: Uint8Array): void;
}

/** Output to the process's stdout and stderr. */
export const processOutput: Output = {
  out: (line) => writeSync(Deno.stdout, line + "\n"),
  err: (line) => writeSync(Deno.stderr, line + "\n"),
  raw: (bytes) => writeBytes(Deno.stdout, bytes),
};

function writeSync(target: typeof Deno.stdout, text: string): void {
  writeBytes(target, new TextEncoder().encode(text));
}

function writeBytes(target: typeof Deno.stdout, bytes: Uint8Array): void {
  let offset = 0;
  try {
    while (offset < bytes.length) offset += target.writeSync(bytes.subarray(offset));
  } catch (err) {
    // The reader went away (`lily run list | head`): the rest is not wanted.
    if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
  }
}

/**
 * Prints a command's result: the JSON document with `--json`, else the human
 * lines.
 *
 * @param output Where to write.
 * @param json Whether `--json` was given.
 * @param data The JSON document.
 * @param human The human-readable lines.
 */
export function emit(output: Output, json: boolean, data: unknown, human: () => string[]): void {
  if (json) {
    output.out(JSON.stringify(data, null, 2));
  } else {
    for (const line of human()) output.out(line);
  }
}

/**
 * Lays rows out as aligned columns.
 *
 * @param header The column titles.
 * @param rows The cells, as strings.
 * @returns One line per row, header first.
 */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)).join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Options of {@linkcode ReportedFailure}. */
export interface ReportedFailureOptions extends LilyErrorOptions {
  /**
   * The exit code.
   * @default {1}
   */
  readonly exitCode?: number;
  /**
   * The error's code in the JSON document.
   * @default {"failed"}
   */
  readonly code?: string;
  /**
   * Whether the human text already says the message.
   * @default {false}
   */
  readonly said?: boolean;
}

/**
 * A command that failed after working out its result (a run that failed,
 * a verification with errors, a file that does not match its schema). The
 * result is printed once: as text by the command, or, with `--json`, by
 * the CLI as one document with an `error` member beside the result's fields.
 */
export class ReportedFailure extends LilyError {
  /** The result's JSON fields. */
  readonly data: Readonly<Record<string, unknown>>;
  /** The exit code. */
  readonly exitCode: number;
  /** The error's machine-readable code in the JSON document. */
  readonly code: string;
  /** Whether the human text already says `message` (then stderr does not repeat it). */
  readonly said: boolean;

  /**
   * Creates the failure.
   *
   * @param message One line saying what failed.
   * @param data The result's JSON fields.
   * @param options The exit code (default 1), the error code (default
   * `failed`), whether the human text says the message, and collected issues.
   */
  constructor(
    message: string,
    data: Readonly<Record<string, unknown>>,
    options: ReportedFailureOptions = {},
  ) {
    super(message, options);
    this.data = data;
    this.exitCode = options.exitCode ?? 1;
    this.code = options.code ?? "failed";
    this.said = options.said ?? false;
  }
}

/**
 * Prints a command's result, or fails with it: with `--json` a failed result
 * is left to the CLI's error document (see {@linkcode ReportedFailure}).
 *
 * @param output Where to write.
 * @param json Whether `--json` was given.
 * @param data The result's JSON document.
 * @param human The human-readable lines.
 * @param failure When the result is a failure: its message, exit code and
 * error code.
 * @throws {ReportedFailure} When `failure` is given.
 */
export function emitResult(
  output: Output,
  json: boolean,
  data: Record<string, unknown>,
  human: () => string[],
  failure?: ReportedFailureOptions & { readonly message: string },
): void {
  if (failure === undefined || !json) emit(output, json, data, human);
  if (failure !== undefined) throw new ReportedFailure(failure.message, data, failure);
}
