/**
 * The kernel's version, recorded in every run manifest. Kept equal to the
 * `version` in `deno.json` (a test checks it).
 *
 * @module
 */

/** The version of this Lily kernel. */
export const KERNEL_VERSION = "0.1.0";
