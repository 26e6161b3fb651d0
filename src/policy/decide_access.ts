/**
 * What a confinement grants on one path: `write` (and read), `read`, or
 * `none`. The one definition of a policy's meaning: the bubblewrap
 * compiler realises it with mounts, and the property test checks the
 * sandbox against it.
 *
 * Rules, in order: a hidden path (`.iris/`) or a denied one is `none`; a
 * path under no `read` or `write` entry is `none`; under a `write` entry
 * it is `write`, unless it is one of the always read-only paths (`.git/`,
 * the workflow file) or under one; else `read`.
 *
 * Pure: no I/O; paths are compared as written (the runtime checks where
 * they really lead before the spawn).
 *
 * @module
 */

import { type Confinement, isWithin } from "./policy_model.ts";

/** The access a confinement grants on a path. */
export type Access = "write" | "read" | "none";

/**
 * Decides the access to an absolute, normalised path.
 *
 * @example
 * ```ts
 * import { decideAccess } from "./decide_access.ts";
 * import { confinementFor, DEFAULT_POLICY } from "./policy_model.ts";
 * const c = confinementFor({ ...DEFAULT_POLICY, deny: ["secrets"] }, { workspace: "/ws", mode: "sandbox" });
 * console.assert(decideAccess(c, "/ws/src/a.ts") === "write");
 * console.assert(decideAccess(c, "/ws/secrets/k") === "none");
 * console.assert(decideAccess(c, "/ws/.git/config") === "read");
 * console.assert(decideAccess(c, "/etc/shadow") === "none");
 * ```
 *
 * @param confinement The confinement (globs already expanded, or none).
 * @param path The path.
 * @returns `write`, `read` or `none`.
 */
export function decideAccess(confinement: Confinement, path: string): Access {
  const under = (list: readonly string[]) => list.some((dir) => isWithin(path, dir));
  if (under(confinement.hidden) || under(confinement.deny)) return "none";
  if (under(confinement.write)) return under(confinement.readOnly) ? "read" : "write";
  return under(confinement.read) ? "read" : "none";
}
