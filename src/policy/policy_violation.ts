/**
 * A refusal the kernel saw (`policy_violation.v1`): what was attempted,
 * on what, and who decided. The runtime stores each as an artifact linked
 * from the attempt that caused it.
 *
 * @module
 */

/** The artifact type of policy violations. */
export const POLICY_VIOLATION_TYPE = "policy_violation.v1";

/** What kind of access was refused. */
export type ViolationKind =
  | "read"
  | "write"
  | "run"
  | "net"
  | "env"
  | "path"
  | "sys"
  | "ffi"
  | "import";

/**
 * Who refused it: Deno's permission `flags`, the permission `broker`, the
 * bubblewrap `sandbox`, the network `proxy`, or the `kernel` before the spawn.
 */
export type ViolationDecider = "flags" | "broker" | "sandbox" | "proxy" | "kernel";

/** One refusal, as an executor reports it. */
export interface PolicyViolation {
  /** What kind of access. */
  readonly kind: ViolationKind;
  /** The path, program, host or variable. */
  readonly target: string;
  /** Who refused it. */
  readonly decidedBy: ViolationDecider;
  /** What happened and what the policy would need, in words. */
  readonly message: string;
}

/**
 * The message of an attempt failed by policy violations: `Policy violation: ` and each
 * violation's message, joined by `; `.
 *
 * @param violations The violations, at least one.
 * @returns The one-line message.
 */
export function violationMessage(violations: readonly PolicyViolation[]): string {
  return `Policy violation: ${violations.map((v) => v.message).join("; ")}`;
}
