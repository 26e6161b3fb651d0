/**
 * The bubblewrap sandbox of a `command` attempt (a `command` or `shell` step,
 * or a command gate), decided from the attempt alone, with no I/O, so that a
 * policy can later narrow it in one place.
 *
 * Every such attempt gets what `bubblewrapArgv` always gives: its own PID
 * namespace, tied to the kernel (`--die-with-parent`), in a new session. So
 * its whole process tree ends with the attempt and with the kernel. Beyond
 * that:
 *
 * - A step keeps today's access: the host's root writable, the host's
 *   `/dev`, and, where the kernel runs as root, its capabilities. Only its
 *   processes are confined (and `/proc` shows only the sandbox's).
 * - A read-only attempt (a gate) sees the host's root with the workspace
 *   read-only, its output and scratch dirs writable, a private `/dev`, and
 *   no capabilities.
 *
 * @module
 */

import type { BubblewrapMount } from "./bubblewrap.ts";

/** What {@linkcode commandSandbox} needs to know of the attempt (all paths absolute). */
export interface CommandSandboxAttempt {
  /** The workspace root. */
  readonly workspace: string;
  /** The attempt's output dir. */
  readonly outputDir: string;
  /** The attempt's scratch dir. */
  readonly scratchDir: string;
  /** Whether the workspace must stay read-only (gates). */
  readonly readOnlyWorkspace: boolean;
}

/** The sandbox settings of a command attempt, as `bubblewrapArgv` takes them. */
export interface CommandSandbox {
  /** Always the host's root. */
  readonly root: "host";
  /** Mounts over the host's root, in order. */
  readonly mounts: readonly BubblewrapMount[];
  /** The host's `/dev` for a step, a private one for a read-only attempt. */
  readonly devices: "private" | "host";
  /** Whether every capability is dropped. */
  readonly dropCapabilities: boolean;
}

/**
 * Decides the sandbox of a command attempt.
 *
 * @example
 * ```ts
 * import { commandSandbox } from "./command_sandbox.ts";
 * const gate = commandSandbox({
 *   workspace: "/ws",
 *   outputDir: "/ws/.iris/runs/r/tmp/g/out",
 *   scratchDir: "/ws/.iris/runs/r/tmp/g/scratch",
 *   readOnlyWorkspace: true,
 * });
 * console.assert(gate.mounts[0].mode === "read-only" && gate.dropCapabilities);
 * ```
 *
 * @param attempt The workspace, the attempt's dirs and whether it is read-only.
 * @returns The root, mounts, devices and capabilities.
 */
export function commandSandbox(attempt: CommandSandboxAttempt): CommandSandbox {
  if (!attempt.readOnlyWorkspace) {
    return { root: "host", mounts: [], devices: "host", dropCapabilities: false };
  }
  return {
    root: "host",
    mounts: [
      { mode: "read-only", path: attempt.workspace },
      { mode: "writable", path: attempt.outputDir },
      { mode: "writable", path: attempt.scratchDir },
    ],
    devices: "private",
    dropCapabilities: true,
  };
}
