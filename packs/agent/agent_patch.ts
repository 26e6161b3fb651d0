/**
 * The `agent/patch.v1` artifact type: a unified diff and the sha256 of each
 * file it applies to, as `agent/edit` leaves it and `agent/apply_patch`
 * reads it.
 *
 * @module
 */

import { z } from "zod";
import type { PatchBase } from "./patch_scope.ts";

/** An `agent/patch.v1`: a unified diff and the files it was made against. */
export interface AgentPatch {
  /** The unified diff. */
  readonly diff: string;
  /** Each file it applies to, with its sha256 then (`null`: it did not exist), in diff order. */
  readonly files: readonly PatchBase[];
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits");

/** The zod schema of `agent/patch.v1`. */
export const agentPatchSchema = z.strictObject({
  diff: z.string().min(1).describe("the unified diff"),
  files: z.array(z.strictObject({
    path: z.string().min(1).describe("workspace-relative path"),
    base_sha256: sha256.nullable().describe(
      "sha256 of the file the diff was made against; null: absent",
    ),
  })).min(1).describe("each file the diff applies to, in diff order"),
});
