/**
 * The `deno run` flags that confine a `deno` step: a pure function of the
 * attempt's directories and env names.
 *
 * How Deno 2.9 combines allow and deny lists (found by experiment, pinned by
 * tests): for a path, the most specific matching entry decides, whether it
 * is an allow or a deny, and on a tie the deny wins; the order of the flags
 * does not matter. So `--deny-read=<ws>/.iris` hides the store inside an
 * allowed workspace, and `--allow-read=<ws>/.iris/runs/<id>/tmp/<out>` opens
 * that one staging dir again inside the denied store. Deno cannot express a
 * path that contains a comma (its list separator, with no escape), so such
 * paths are refused.
 *
 * What the flags grant: read of the workspace and the attempt's input,
 * output and scratch dirs; write of the workspace (unless read-only) and
 * the output and scratch dirs; the env variables named; nothing else. The
 * store (`<workspace>/.iris`: index, manifests, other runs and attempts) is
 * denied for both. Network, subprocesses, FFI and system information are
 * denied, and remote modules are not loaded (`--no-remote`). What they do
 * not confine is listed in `docs/security.md` ("deno executor").
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { UsageError } from "../../core/errors.ts";
import { STORE_DIR_NAME } from "../../store/layout.ts";

/** What {@linkcode denoPermissionFlags} computes the flags from. */
export interface DenoFlagOptions {
  /** The workspace root (absolute). */
  readonly workspace: string;
  /** The attempt's output dir (absolute): readable and writable. */
  readonly outputDir: string;
  /** The attempt's input dir (absolute): readable only. */
  readonly inputDir: string;
  /** The attempt's scratch dir (absolute): readable and writable. */
  readonly scratchDir: string;
  /** The env variables the step may read (the names of its env subset). */
  readonly envNames: readonly string[];
  /** Leave the workspace itself unwritable (gates). */
  readonly readOnlyWorkspace: boolean;
}

// deno-lint-ignore no-control-regex
const ENV_NAME = /^[^,=\u0000]+$/;

function checkPath(path: string, what: string): string {
  if (!isAbsolute(path) || path.includes(",") || path.includes("\0")) {
    throw new UsageError(
      `Cannot express the ${what} ${JSON.stringify(path)} as a Deno permission: ` +
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

/**
 * Computes the permission flags of a `deno` step (everything between
 * `deno run --no-prompt` and the module).
 *
 * @example
 * ```ts
 * import { denoPermissionFlags } from "./deno_flags.ts";
 * const flags = denoPermissionFlags({
 *   workspace: "/ws",
 *   inputDir: "/ws/.iris/runs/r/tmp/a/in",
 *   outputDir: "/ws/.iris/runs/r/tmp/a/out",
 *   scratchDir: "/ws/.iris/runs/r/tmp/a/scratch",
 *   envNames: ["LANG"],
 *   readOnlyWorkspace: false,
 * });
 * console.assert(flags.includes("--deny-read=/ws/.iris"));
 * console.assert(flags.includes("--allow-env=LANG"));
 * console.assert(flags.includes("--deny-net"));
 * ```
 *
 * @param options The attempt's directories, env names and workspace mode.
 * @returns The flags, in a stable order.
 * @throws {UsageError} When a path is relative or contains a comma, or an
 * env name is empty or contains a comma or `=`.
 */
export function denoPermissionFlags(options: DenoFlagOptions): string[] {
  const workspace = checkPath(options.workspace, "workspace");
  const outputDir = checkPath(options.outputDir, "output dir");
  const inputDir = checkPath(options.inputDir, "input dir");
  const scratchDir = checkPath(options.scratchDir, "scratch dir");
  const store = join(workspace, STORE_DIR_NAME);
  const unique = (paths: string[]) => [...new Set(paths)].join(",");
  const read = unique([workspace, inputDir, outputDir, scratchDir]);
  const write = unique(
    options.readOnlyWorkspace ? [outputDir, scratchDir] : [workspace, outputDir, scratchDir],
  );
  const envNames = [...new Set(options.envNames.map(checkEnvName))].sort();
  return [
    `--allow-read=${read}`,
    `--allow-write=${write}`,
    `--deny-read=${store}`,
    `--deny-write=${store}`,
    ...(envNames.length > 0 ? [`--allow-env=${envNames.join(",")}`] : []),
    "--deny-net",
    "--deny-run",
    "--deny-ffi",
    "--deny-sys",
    "--no-remote",
    // Deno's CLI writes deno.lock itself, past the permission checks.
    ...(options.readOnlyWorkspace ? ["--no-lock"] : []),
  ];
}
