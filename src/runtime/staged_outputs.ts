/**
 * What an attempt intended to write: the declared outputs it left in its
 * output dir, with their hashes, read before they are committed (committing
 * a file output moves it away). Recorded in the access journal as `staged`.
 *
 * @module
 */

import { sha256File } from "../core/canonical_json.ts";
import type { OutputSpec } from "../graph/workflow.ts";
import { resolveInside } from "../store/safe_path.ts";
import type { StagedOutput } from "./access_entry.ts";

/**
 * Hashes the declared outputs an attempt left. An output that is missing,
 * not a regular file or outside the output dir is left out: committing it
 * fails and says why.
 *
 * @param outputDir The attempt's output dir.
 * @param outputs The declared outputs by name.
 * @returns The staged outputs by name.
 */
export async function stagedOutputs(
  outputDir: string,
  outputs: Readonly<Record<string, OutputSpec>>,
): Promise<Record<string, StagedOutput>> {
  const staged: Record<string, StagedOutput> = {};
  for (const [name, spec] of Object.entries(outputs)) {
    try {
      const path = resolveInside(outputDir, spec.path);
      const info = await Deno.lstat(path);
      if (!info.isFile) continue;
      staged[name] = { path: spec.path, sha256: await sha256File(path), size: info.size };
    } catch {
      // Missing or unusable: the commit names the problem.
    }
  }
  return staged;
}
