/**
 * How commands print: one JSON document on stdout with `--json`, human text
 * otherwise; messages meant for people go to stderr when `--json` is set.
 *
 * @module
 */

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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), ...rows.map(line)];
}
