/**
 * Unified diffs as the `agent` pack reads and applies them, without a disk:
 * a model's reply becomes a diff ({@linkcode diffOfReply}), a diff becomes
 * the files it changes ({@linkcode parseUnifiedDiff}, through `npm:diff`'s
 * `parsePatch`), and those changes apply to given file contents
 * ({@linkcode applyUnifiedDiff}, through `npm:diff`'s `applyPatch` with no
 * fuzz: every context and removed line must match exactly). The format is
 * GNU diff's unified format, with git's `diff --git` headers, `a/` and `b/`
 * prefixes and `/dev/null` for a created or deleted file.
 *
 * @module
 */

import { applyPatch, parsePatch, type StructuredPatch } from "diff";

/** What a diff does to one file. */
export interface FileChange {
  /** The file before (workspace-relative), or `null` when the diff creates it. */
  readonly oldPath: string | null;
  /** The file after (workspace-relative), or `null` when the diff deletes it. */
  readonly newPath: string | null;
  /** The parsed hunks, as `npm:diff` gives them. */
  readonly patch: StructuredPatch;
}

/** A diff that cannot be read or applied; `message` says what and where. */
export class PatchError extends Error {
  /** @param message What is wrong, naming the file and hunk when there is one. */
  constructor(message: string) {
    super(message);
    this.name = "PatchError";
  }
}

const FENCE = /^```[ \t]*(?:diff|patch|udiff)?[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/gm;

/**
 * The diff in a model's reply: the reply itself when it starts as a diff
 * does (`diff --git`, `--- `), else the one fenced code block
 * (```` ```diff ````, ```` ```patch ```` or plain ```` ``` ````) holding one.
 *
 * @param reply The reply text.
 * @returns The diff text, ending with a newline.
 * @throws {PatchError} When the reply holds no diff, or several fenced ones.
 */
export function diffOfReply(reply: string): string {
  const text = reply.replace(/^\s*\n/, "");
  if (/^(diff --git |--- )/.test(text)) return withNewline(text);
  const blocks = [...reply.matchAll(FENCE)].map((m) => m[1]).filter((b) => /^--- /m.test(b));
  if (blocks.length === 1) return withNewline(blocks[0]);
  if (blocks.length > 1) {
    throw new PatchError(
      `The reply holds ${blocks.length} fenced diffs; expected one unified diff for all files`,
    );
  }
  const start = JSON.stringify(reply.trim().slice(0, 60));
  throw new PatchError(
    `The reply is not a unified diff (it starts ${start}); expected --- a/FILE, +++ b/FILE ` +
      "and @@ hunks, bare or in one ```diff block",
  );
}

function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}

/**
 * Checks a path a diff names and strips git's `a/` or `b/` prefix.
 *
 * @returns The workspace-relative path, or `null` for `/dev/null`.
 */
function diffPath(name: string | undefined, side: "a" | "b"): string | null {
  if (name === undefined || name === "") throw new PatchError("A file header names no file");
  if (name === "/dev/null") return null;
  const path = name.startsWith(`${side}/`) ? name.slice(2) : name;
  const problem = pathProblem(path);
  if (problem !== undefined) {
    throw new PatchError(`The diff names ${JSON.stringify(name)}: ${problem}`);
  }
  return path;
}

/**
 * What is wrong with a workspace-relative path a diff names, if anything.
 *
 * @param path The path.
 * @returns A phrase starting with "expected", or `undefined` when it is fine.
 */
export function pathProblem(path: string): string | undefined {
  if (path === "" || path.startsWith("/")) return "expected a path relative to the workspace";
  if (path.includes("\0") || path.includes("\\")) return "expected a path without NUL or \\";
  if (path.split("/").some((part) => part === ".." || part === "." || part === "")) {
    return "expected a path without empty, . or .. parts";
  }
  return undefined;
}

/**
 * Reads a unified diff into one change per file.
 *
 * @param diff The diff text.
 * @returns The changes in the diff's order; at least one.
 * @throws {PatchError} When it is not a diff, a hunk is malformed, a file
 * has no hunks, a path is unsafe, or a file is changed twice.
 */
export function parseUnifiedDiff(diff: string): FileChange[] {
  let patches: StructuredPatch[];
  try {
    patches = parsePatch(diff);
  } catch (err) {
    throw new PatchError(`The diff cannot be read: ${(err as Error).message}`);
  }
  const changes = patches
    .filter((p) => p.oldFileName !== undefined || p.newFileName !== undefined)
    .map((patch): FileChange => {
      const oldPath = diffPath(patch.oldFileName, "a");
      const newPath = diffPath(patch.newFileName, "b");
      const name = newPath ?? oldPath;
      if (name === null) throw new PatchError("A file goes from /dev/null to /dev/null");
      if (patch.hunks.length === 0 && oldPath === newPath) {
        throw new PatchError(`The diff of ${name} has no @@ hunks`);
      }
      return { oldPath, newPath, patch };
    });
  if (changes.length === 0) {
    throw new PatchError("The diff changes no file; expected --- a/FILE, +++ b/FILE and @@ hunks");
  }
  const seen = new Set<string>();
  for (const change of changes) {
    for (const path of new Set([change.oldPath, change.newPath])) {
      if (path === null) continue;
      if (seen.has(path)) {
        throw new PatchError(`The diff changes ${path} twice; expected one part per file`);
      }
      seen.add(path);
    }
  }
  return changes;
}

/**
 * Every path a diff reads or writes: each change's old and new path (a
 * rename touches both), in order, each once.
 *
 * @param changes The parsed changes.
 * @returns The workspace-relative paths.
 */
export function touchedPaths(changes: readonly FileChange[]): string[] {
  const paths: string[] = [];
  for (const change of changes) {
    for (const path of [change.oldPath, change.newPath]) {
      if (path !== null && !paths.includes(path)) paths.push(path);
    }
  }
  return paths;
}

/**
 * The paths a diff changes that exist before it applies (`oldPath` of
 * every change that is not a creation): the files whose base hashes a
 * patch records. A created file's base is recorded as `null`.
 *
 * @param changes The parsed changes.
 * @returns Path → whether it must exist beforehand, in diff order.
 */
export function basePaths(changes: readonly FileChange[]): Map<string, boolean> {
  const base = new Map<string, boolean>();
  for (const change of changes) {
    if (change.oldPath !== null) base.set(change.oldPath, true);
    if (change.newPath !== null && !base.has(change.newPath)) {
      base.set(change.newPath, change.oldPath !== null && change.oldPath === change.newPath);
    }
  }
  return base;
}

/**
 * Applies parsed changes to file contents, all or nothing.
 *
 * @param changes The parsed changes.
 * @param files Path → current text, `null` for a file that does not exist;
 * every path of {@linkcode touchedPaths} must be given.
 * @returns Path → text after, `null` for a file the diff deletes (a
 * renamed file's old path included); only touched paths.
 * @throws {PatchError} When a file to change is missing, a file to create
 * exists, or a hunk does not match the text (naming the file and hunk).
 */
export function applyUnifiedDiff(
  changes: readonly FileChange[],
  files: ReadonlyMap<string, string | null>,
): Map<string, string | null> {
  const after = new Map<string, string | null>();
  for (const change of changes) {
    const before = change.oldPath === null ? null : files.get(change.oldPath) ?? null;
    if (change.oldPath !== null && before === null) {
      throw new PatchError(`The diff changes ${change.oldPath}, which does not exist`);
    }
    if (change.oldPath === null && change.newPath !== null && files.get(change.newPath) != null) {
      throw new PatchError(`The diff creates ${change.newPath}, which exists already`);
    }
    const text = applyPatch(before ?? "", change.patch);
    if (text === false) throw new PatchError(hunkMismatch(change, before ?? ""));
    if (change.oldPath !== null && change.oldPath !== change.newPath) {
      after.set(change.oldPath, null);
    }
    if (change.newPath !== null) after.set(change.newPath, text);
  }
  return after;
}

/** Names the first hunk that does not match, with the lines it expected. */
function hunkMismatch(change: FileChange, text: string): string {
  const name = change.oldPath ?? change.newPath;
  const lines = text.split("\n");
  const index = change.patch.hunks.findIndex((hunk) => {
    const expected = hunk.lines.filter((l) => l[0] === " " || l[0] === "-").map((l) => l.slice(1));
    const at = Math.max(0, hunk.oldStart - 1);
    return expected.some((line, i) => lines[at + i] !== line);
  });
  const hunk = change.patch.hunks[Math.max(0, index)];
  return `Hunk ${Math.max(0, index) + 1} of ${name} (@@ -${hunk.oldStart},${hunk.oldLines}) ` +
    "does not match the file: its context and removed lines differ from the text there";
}
