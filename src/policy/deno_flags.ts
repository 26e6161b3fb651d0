/**
 * The `deno run` flags that confine a `deno` step: a pure function of its
 * {@linkcode Confinement} (paths already expanded) and staging dirs.
 *
 * How Deno 2.9 combines allow and deny lists (found by experiment, pinned by
 * tests): for a path, the most specific matching entry decides, whether it
 * is an allow or a deny, and on a tie the deny wins; the order of the flags
 * does not matter. So `--deny-read=<ws>/.iris` hides the store inside an
 * allowed workspace, and `--allow-read=<ws>/.iris/runs/<id>/tmp/<out>` opens
 * that one staging dir again inside the denied store. Deno cannot express a
 * path that contains a comma (its list separator, with no escape), so such
 * paths are refused (the workflow loader refuses them in policies already).
 *
 * What the flags grant: read of the policy's `read` and `write` paths and
 * the attempt's input, output and scratch dirs; write of the `write` paths
 * and the output and scratch dirs; `deny` and `.iris/` neither; `.git/` and
 * the workflow file not written; the env names given; the `net` hosts
 * (`--allow-net`, none: `--deny-net`); the `tools` (their resolved paths;
 * without a list, no subprocess at all: `--allow-run` without a list would
 * run anything outside Deno's checks). Never `--allow-all` or `--allow-ffi`;
 * always `--no-prompt`, `--no-remote`, and `--no-config --no-lock`, so that
 * nothing a previous step wrote into the workspace (a `deno.json`, an
 * import map, a lock file) changes how the module's imports resolve.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { ExpandedPaths, StagingDirs } from "./bubblewrap_mounts.ts";
import type { Confinement } from "./policy_model.ts";

/** What {@linkcode denoPermissionFlags} needs beside the confinement. */
export interface DenoFlagOptions {
  /** The confinement's paths with globs expanded (absolute). */
  readonly paths: Omit<ExpandedPaths, "deny"> & { readonly deny: readonly string[] };
  /** The attempt's input (read), output and scratch (read and write) dirs. */
  readonly staging: StagingDirs;
  /** The env variables the step may read (the names of its env subset). */
  readonly envNames: readonly string[];
  /** The allowed tools resolved to absolute paths (ignored when the confinement lists none). */
  readonly tools?: readonly string[];
}

// deno-lint-ignore no-control-regex
const ENV_NAME = /^[^,=\u0000]+$/;

function checkPath(path: string): string {
  if (!path.startsWith("/") || path.includes(",") || path.includes("\0")) {
    throw new UsageError(
      `Cannot express the path ${JSON.stringify(path)} as a Deno permission: ` +
        "expected an absolute path without commas",
    );
  }
  return path;
}

function checkEnvName(name: string): string {
  if (!ENV_NAME.test(name)) {
    throw new UsageError(
      `Cannot grant the env variable ${JSON.stringify(name)} to a deno step: ` +
        "expected a non-empty name without commas or '='",
    );
  }
  return name;
}

const list = (paths: readonly string[]) => [...new Set(paths.map(checkPath))].join(",");

/**
 * Computes the flags of a `deno` step: everything between `deno run` and the module.
 *
 * @example
 * ```ts
 * import { denoPermissionFlags } from "./deno_flags.ts";
 * import { confinementFor, DEFAULT_POLICY } from "./policy_model.ts";
 * const c = confinementFor(DEFAULT_POLICY, { workspace: "/ws", mode: "sandbox" });
 * const flags = denoPermissionFlags(c, {
 *   paths: { read: ["/ws"], write: ["/ws"], deny: [], readOnly: ["/ws/.git"], hidden: ["/ws/.iris"] },
 *   staging: { inputDir: "/ws/.iris/t/in", outputDir: "/ws/.iris/t/out", scratchDir: "/ws/.iris/t/s" },
 *   envNames: ["LANG"],
 * });
 * console.assert(flags.includes("--deny-read=/ws/.iris"));
 * console.assert(flags.includes("--allow-env=LANG"));
 * console.assert(flags.includes("--deny-net") && flags.includes("--deny-run"));
 * ```
 *
 * @param confinement The attempt's confinement.
 * @param options Its expanded paths, staging dirs, env names and resolved tools.
 * @returns The flags, in a stable order.
 * @throws {UsageError} When a path is relative or contains a comma, or an
 * env name is empty or contains a comma or `=`.
 */
export function denoPermissionFlags(
  confinement: Confinement,
  options: DenoFlagOptions,
): string[] {
  const { paths, staging } = options;
  const read = list([
    ...paths.read,
    ...paths.write,
    staging.inputDir,
    staging.outputDir,
    staging.scratchDir,
  ]);
  const write = list([...paths.write, staging.outputDir, staging.scratchDir]);
  const denyRead = list([...paths.hidden, ...paths.deny]);
  const denyWrite = list([...paths.hidden, ...paths.deny, ...paths.readOnly]);
  const envNames = [...new Set(options.envNames.map(checkEnvName))].sort();
  const tools = confinement.tools === null ? [] : [...new Set(options.tools ?? [])];
  return [
    "--no-prompt",
    `--allow-read=${read}`,
    ...(write === "" ? [] : [`--allow-write=${write}`]),
    ...(denyRead === "" ? [] : [`--deny-read=${denyRead}`]),
    ...(denyWrite === "" ? [] : [`--deny-write=${denyWrite}`]),
    ...(envNames.length > 0 ? [`--allow-env=${envNames.join(",")}`] : []),
    ...(confinement.net.length > 0 ? [`--allow-net=${confinement.net.join(",")}`] : ["--deny-net"]),
    ...(tools.length > 0 ? [`--allow-run=${list(tools)}`] : ["--deny-run"]),
    "--deny-ffi",
    "--deny-sys",
    "--no-remote",
    "--no-config",
    "--no-lock",
  ];
}
