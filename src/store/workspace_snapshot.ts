/**
 * Reads the git state of a workspace for the run manifest.
 *
 * @module
 */

import type { WorkspaceSnapshot } from "./run_manifest.ts";

async function git(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", cwd, ...args],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    // git is missing, not executable or not allowed: the run has no snapshot.
    return undefined;
  }
}

/**
 * Describes the workspace's git checkout: top-level path, HEAD commit and
 * whether anything (outside `.iris/`) differs from it.
 *
 * @param workspace The workspace directory.
 * @returns The snapshot, or `undefined` when git is missing, cannot be
 * started, or the workspace is not inside a git checkout.
 */
export async function readWorkspaceSnapshot(
  workspace: string,
): Promise<WorkspaceSnapshot | undefined> {
  const top = await git(workspace, ["rev-parse", "--show-toplevel"]);
  if (top === undefined) return undefined;
  const head = await git(workspace, ["rev-parse", "--verify", "--quiet", "HEAD"]);
  const status = await git(workspace, [
    "status",
    "--porcelain",
    "--",
    ".",
    ":(exclude).iris",
  ]);
  return {
    path: top.trim(),
    git_commit: head?.trim() || null,
    dirty: (status ?? "").trim().length > 0,
  };
}
