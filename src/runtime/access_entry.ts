/**
 * The entries of a run's access journal (`access.jsonl`), one JSON object
 * per line, each about one attempt of a step (or of a gate of it):
 *
 * | `type` | when | what |
 * |---|---|---|
 * | `inputs` | before the attempt runs | each input's artifact id and sha256 |
 * | `grant` | before its process is spawned | sandbox, mounts, variable names, net rules, tools |
 * | `permission` | each check of a `deno` attempt | Deno's permission name and value, kind, target, `allow`/`deny`, reason, pid |
 * | `staged` | after it ends, before commit | each declared output it left: path in the output dir, sha256, size |
 * | `committed` | after its outputs are committed | each output's artifact id and sha256 |
 *
 * Every entry has `v` (1), `at` (ISO-8601, when it was journaled), `step`,
 * `attempt` and, for a gate's attempt, `gate`. Variable values are never
 * recorded, only names.
 *
 * @module
 */

import { z } from "zod";
import { formatIssuePath } from "../core/issue.ts";
import type { GrantedMount } from "./executors/executor.ts";
import type { ViolationKind } from "../policy/policy_violation.ts";
import type { InputRecord } from "./run_events.ts";

/** A staged output: a declared output the attempt left in its output dir. */
export interface StagedOutput {
  /** Its path relative to the output dir (`LILY_OUTPUT_DIR`), as declared. */
  readonly path: string;
  /** Lower-case hex sha256 of its bytes. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/** A committed output. */
export interface CommittedOutput {
  /** The artifact it became. */
  readonly artifact_id: string;
  /** The artifact's sha256. */
  readonly sha256: string;
}

/** What every entry says about where it belongs. */
export interface AccessEntryBase {
  /** The entry format's version: 1. */
  readonly v: 1;
  /** When it was journaled (ISO-8601, UTC, the runner's clock). */
  readonly at: string;
  /** The step. */
  readonly step: string;
  /** The step's attempt (a gate's attempt is its step's). */
  readonly attempt: number;
  /** The gate, when the attempt is a gate's. */
  readonly gate?: string;
}

/** What an entry says, without {@linkcode AccessEntryBase}. */
export type AccessEntryBody =
  | {
    readonly type: "inputs";
    /** Each input's artifact id and sha256, by input name. */
    readonly inputs: Readonly<Record<string, InputRecord>>;
  }
  | {
    readonly type: "grant";
    /** `bubblewrap`, or `none` when unconfined. */
    readonly sandbox: "bubblewrap" | "none";
    /** The sandbox's mounts, in the order applied. */
    readonly mounts: readonly GrantedMount[];
    /** The names of the variables in its environment (never their values). */
    readonly env: readonly string[];
    /** The policy's `net` rules. */
    readonly net: readonly string[];
    /** The programs it may run, or `null` for any. */
    readonly tools: readonly string[] | null;
  }
  | {
    readonly type: "permission";
    /** Deno's permission name, as sent (`read`, `write`, `net`, `env`, `run`, `sys`, …). */
    readonly permission: string;
    /** The value as sent (a path as written, `host:port`, a variable name), `null` for all. */
    readonly value: string | null;
    /** The kind, as a violation names it. */
    readonly kind: ViolationKind;
    /** What it was for: the real path, `host:port`, the name, or `*`. */
    readonly target: string;
    /** The broker's answer. */
    readonly decision: "allow" | "deny";
    /** Why, in words. */
    readonly reason: string;
    /** The asking process's pid, in the step's PID namespace. */
    readonly pid: number;
  }
  | {
    readonly type: "staged";
    /** The declared outputs it left, by output name. */
    readonly outputs: Readonly<Record<string, StagedOutput>>;
  }
  | {
    readonly type: "committed";
    /** The committed outputs, by output name. */
    readonly outputs: Readonly<Record<string, CommittedOutput>>;
  };

/** One line of a run's access journal. */
export type AccessEntry = AccessEntryBase & AccessEntryBody;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const base = {
  v: z.literal(1),
  at: z.iso.datetime(),
  step: z.string().min(1),
  attempt: z.number().int().positive(),
  gate: z.string().min(1).optional(),
};
const mount = z.object({
  mode: z.string(),
  path: z.string(),
  source: z.string().optional(),
  target: z.string().optional(),
});

const entrySchema = z.discriminatedUnion("type", [
  z.object({
    ...base,
    type: z.literal("inputs"),
    inputs: z.record(
      z.string(),
      z.object({ artifact_id: z.string().min(1), sha256: sha256.nullable() }),
    ),
  }),
  z.object({
    ...base,
    type: z.literal("grant"),
    sandbox: z.enum(["bubblewrap", "none"]),
    mounts: z.array(mount),
    env: z.array(z.string()),
    net: z.array(z.string()),
    tools: z.array(z.string()).nullable(),
  }),
  z.object({
    ...base,
    type: z.literal("permission"),
    permission: z.string(),
    value: z.string().nullable(),
    kind: z.string(),
    target: z.string(),
    decision: z.enum(["allow", "deny"]),
    reason: z.string(),
    pid: z.number().int(),
  }),
  z.object({
    ...base,
    type: z.literal("staged"),
    outputs: z.record(
      z.string(),
      z.object({ path: z.string(), sha256, size: z.number().int().nonnegative() }),
    ),
  }),
  z.object({
    ...base,
    type: z.literal("committed"),
    outputs: z.record(z.string(), z.object({ artifact_id: z.string().min(1), sha256 })),
  }),
]);

/**
 * Checks one parsed line of an access journal.
 *
 * @param value The line's JSON value.
 * @returns The entry, or what is wrong with it (field paths and messages, `; `-joined).
 */
export function parseAccessEntry(value: unknown): { entry: AccessEntry } | { problem: string } {
  const parsed = entrySchema.safeParse(value);
  if (parsed.success) return { entry: parsed.data as AccessEntry };
  return {
    problem: parsed.error.issues
      .map((i) => `${formatIssuePath(i.path.filter((p) => typeof p !== "symbol"))}: ${i.message}`)
      .join("; "),
  };
}
