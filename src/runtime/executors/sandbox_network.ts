/**
 * The network of one sandboxed command attempt, from its policy's `net:`
 * rules: always a network namespace of its own (`--unshare-net`: no host
 * interface, no host port, no abstract Unix socket of the host), and, when
 * the rules allow something, the kernel's proxy ({@linkcode startNetProxy})
 * outside on a Unix socket bound into the sandbox, with the bridge
 * ({@linkcode netBridgeArgv}) inside in front of the command and
 * `HTTP(S)_PROXY` pointing at it.
 *
 * The socket lives in a directory of its own under the system temp dir, as
 * a Unix socket path is limited to 107 bytes and a workspace path can be
 * longer; {@linkcode SandboxNetwork.close} removes it.
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import type { PolicyViolation } from "../../policy/policy_violation.ts";
import { parseNetRules } from "../../policy/net_allow.ts";
import type { BubblewrapMount } from "../../policy/bubblewrap_mounts.ts";
import { netBridgeArgv, netBridgeEnv } from "./net_bridge.ts";
import { findProgram } from "./find_program.ts";
import { type ResolveHost, startNetProxy } from "./net_proxy.ts";

/**
 * The `deno` binary that runs the bridge: the kernel's own (`Deno.execPath()`),
 * or, when the kernel is a compiled binary, `deno` on the kernel's PATH; its
 * real path, so that binding its directory is enough.
 *
 * @param kernelPath The kernel's PATH.
 * @returns The absolute path, or `undefined` when no deno is found.
 */
export async function bridgeDeno(kernelPath: string): Promise<string | undefined> {
  const deno = Deno.build.standalone
    ? await findProgram("deno", { cwd: "/", path: kernelPath })
    : Deno.execPath();
  return deno && isAbsolute(deno) ? await Deno.realPath(deno).catch(() => deno) : undefined;
}

/** Options of {@linkcode sandboxNetwork}. */
export interface SandboxNetworkOptions {
  /** The policy's `net:` rules; empty means no network at all. */
  readonly net: readonly string[];
  /** The `deno` binary that runs the bridge (its directory is bound read-only). */
  readonly deno: string;
  /** Told each connection the proxy refuses. */
  readonly onViolation?: (violation: PolicyViolation) => void;
  /** How the proxy resolves names (see {@linkcode startNetProxy}). */
  readonly resolve?: ResolveHost;
}

/** What the sandbox of an attempt needs for its network, and how to end it. */
export interface SandboxNetwork {
  /** The argv to run inside the sandbox: the command, or the bridge in front of it. */
  readonly argv: readonly string[];
  /** Variables to add to the command's env (the proxy's address), or none. */
  readonly env: Readonly<Record<string, string>>;
  /** Mounts to add after every other (the socket, the deno binary's dir), or none. */
  readonly mounts: readonly BubblewrapMount[];
  /** Always `true`: the sandbox gets a network namespace of its own. */
  readonly unshareNetwork: true;
  /** Stops the proxy and removes its socket; call it once the attempt has ended. */
  close(): Promise<void>;
}

/**
 * Sets up the network of one attempt.
 *
 * @example
 * ```ts ignore
 * import { sandboxNetwork } from "./sandbox_network.ts";
 * const network = await sandboxNetwork(["curl", "http://127.0.0.1:8080/"], {
 *   net: ["127.0.0.1:8080"],
 *   deno: Deno.execPath(),
 *   onViolation: (v) => console.log(v),
 * });
 * try {
 *   // runInBubblewrap(network.argv, { unshareNetwork: true, mounts: [...own, ...network.mounts],
 *   //   env: { ...env, ...network.env }, … })
 * } finally {
 *   await network.close();
 * }
 * ```
 *
 * @param argv The command (program as an absolute path, and its arguments).
 * @param options The rules, the deno binary and the violation callback.
 * @returns The argv, env and mounts for bubblewrap, and the proxy's `close`.
 * @throws {UsageError} When a rule is invalid (checked before anything is created).
 */
export async function sandboxNetwork(
  argv: readonly string[],
  options: SandboxNetworkOptions,
): Promise<SandboxNetwork> {
  parseNetRules(options.net);
  if (options.net.length === 0) {
    return { argv, env: {}, mounts: [], unshareNetwork: true, close: () => Promise.resolve() };
  }
  const dir = await Deno.makeTempDir({ prefix: "lily-net-" });
  const socketPath = join(dir, "proxy.sock");
  let proxy;
  try {
    proxy = startNetProxy({
      socketPath,
      allow: options.net,
      onViolation: options.onViolation,
      resolve: options.resolve,
    });
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
  return {
    argv: netBridgeArgv(argv, { deno: options.deno, socketPath }),
    env: netBridgeEnv(),
    mounts: [
      { mode: "read-only", path: dirname(options.deno) },
      { mode: "read-only", path: socketPath },
    ],
    unshareNetwork: true,
    async close() {
      await proxy.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
