/**
 * The schema of a path relative to the workspace (a module, a working
 * directory), shared by the workflow schema and the executor kinds.
 *
 * @module
 */

import { z } from "zod";

/** A path relative to the workspace, without `..`. */
export const relPath: z.ZodType<string> = z.string().min(1).refine(
  (p) => !p.startsWith("/") && !p.split("/").includes("..") && !p.includes("\0"),
  "expected a path relative to the workspace without '..'",
);
