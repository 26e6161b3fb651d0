/**
 * Reading the workspace for the `agent` pack: the text files in scope of a
 * work order (what `agent/edit` shows the model), a file's text and hash
 * when it exists, and whether a step's confinement lets it see a path.
 * Lily's store (`.iris/`) and `.git/` are never read, nor anything the
 * confinement hides or denies; symbolic links are not followed.
 *
 * @module
 */

import { join } from "node:path";
import type { Confinement } from "../../executors.ts";
import { sha256Text } from "./patch_scope.ts";

/** A text file in scope, as the model is shown it. */
export interface ScopeFile {
  /** Workspace-relative path. */
  readonly path: string;
  /** Its text. */
  readonly text: string;
  /** The sha256 of its bytes, hex. */
  readonly sha256: string;
}

/** Limits on what {@linkcode readScopeFiles} reads. */
export interface ScopeLimits {
  /** Files larger than this many bytes are left out. */
  readonly maxFileBytes: number;
  /** At most this many files are read (the first in path order). */
  readonly maxFiles: number;
}

const NEVER = [".iris", ".git"];

function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/**
 * Whether a step under this confinement may see a workspace-relative path
 * (Lily's store and `.git/` excluded, then its hidden and denied paths).
 *
 * @param confinement The step's confinement (absolute paths).
 * @param path The workspace-relative path.
 * @returns `true` when it is neither excluded, hidden nor denied.
 */
export function visible(confinement: Confinement, path: string): boolean {
  if (NEVER.some((dir) => isWithin(path, dir))) return false;
  const abs = join(confinement.workspace, path);
  return ![...confinement.hidden, ...confinement.deny].some((dir) => isWithin(abs, dir));
}

/**
 * A file's text, or `null` when it does not exist or is not a regular file.
 *
 * @param workspace The workspace root.
 * @param path The workspace-relative path.
 * @returns The text, or `null`.
 */
export async function readWorkspaceText(workspace: string, path: string): Promise<string | null> {
  const abs = join(workspace, path);
  try {
    const info = await Deno.lstat(abs);
    return info.isFile ? await Deno.readTextFile(abs) : null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

async function walk(workspace: string, path: string, found: string[]): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(join(workspace, path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  if (info.isFile) found.push(path);
  if (!info.isDirectory) return;
  for await (const entry of Deno.readDir(join(workspace, path))) {
    await walk(workspace, path === "." ? entry.name : `${path}/${entry.name}`, found);
  }
}

/**
 * The text files under the scope entries that the confinement lets the
 * step see, in path order; binary files (a NUL byte) and files over the
 * limit are left out.
 *
 * @param confinement The step's confinement.
 * @param scope The work order's scope entries (`scopeOf`).
 * @param limits Size and count limits.
 * @returns The files read and the paths left out.
 */
export async function readScopeFiles(
  confinement: Confinement,
  scope: readonly string[],
  limits: ScopeLimits,
): Promise<{ files: ScopeFile[]; skipped: string[] }> {
  const paths: string[] = [];
  for (const entry of scope) await walk(confinement.workspace, entry, paths);
  const unique = [...new Set(paths)].filter((p) => visible(confinement, p)).sort();
  const files: ScopeFile[] = [];
  const skipped: string[] = [];
  for (const path of unique) {
    const info = await Deno.lstat(join(confinement.workspace, path));
    const text = info.size > limits.maxFileBytes || files.length >= limits.maxFiles
      ? null
      : await readWorkspaceText(confinement.workspace, path);
    if (text === null || text.includes("\0")) skipped.push(path);
    else files.push({ path, text, sha256: sha256Text(text) });
  }
  return { files, skipped };
}
