/**
 * The executor interface: how one attempt of a step (or a gate) is carried
 * out. The runtime prepares everything an executor needs (staging dir,
 * materialized inputs, env subset, log paths, timeout, cancellation) and
 * an executor only runs the work and reports what happened. An executor is
 * also the description of its kind (`graph/executor_kind.ts`: the schema of
 * its spec and its capabilities), so the runtime asks it, not its name,
 * what it needs.
 *
 * @module
 */

import type { Redactor } from "../../core/redaction.ts";
import type { LlmSpec, OutputSpec } from "../../graph/workflow.ts";
import type { Confinement } from "../../policy/policy_model.ts";
import type { PolicyViolation } from "../../policy/policy_violation.ts";
import type { ExecutorKind, ExecutorKindSpec } from "../../graph/executor_kind.ts";
import type { ViolationKind } from "../../policy/policy_violation.ts";
import type { LlmExchange } from "./llm_transcript.ts";

/** One input as an executor sees it: a read-only copy of a stored payload. */
export interface MaterializedInput {
  /** The input's name in the step. */
  readonly name: string;
  /** The artifact it comes from. */
  readonly artifactId: string;
  /** The artifact's type. */
  readonly artifactType: string;
  /** Absolute path of the read-only copy inside the input dir. */
  readonly path: string;
  /** The artifact's sha256. */
  readonly sha256: string;
}

/** One mount of an attempt's sandbox, as the access journal records it. */
export interface GrantedMount {
  /** `read-only`, `writable`, `hidden`, `masked-file`, `sealed`, `devices`, `proc` or `symlink`. */
  readonly mode: string;
  /** The absolute path inside the sandbox. */
  readonly path: string;
  /** The host path bound there, when not `path` itself. */
  readonly source?: string;
  /** What a `symlink` points to. */
  readonly target?: string;
}

/**
 * What an attempt was granted before it ran: its sandbox and mounts, the
 * names of the variables it gets (never their values), its net rules and
 * its tools.
 */
export interface AccessGrant {
  /** `grant`. */
  readonly type: "grant";
  /** `bubblewrap`, or `none` when the attempt runs unconfined (`--no-sandbox`). */
  readonly sandbox: "bubblewrap" | "none";
  /** The sandbox's mounts, in the order applied (none without a sandbox). */
  readonly mounts: readonly GrantedMount[];
  /** The names of the variables in its environment. */
  readonly env: readonly string[];
  /** The policy's `net` rules, as written. */
  readonly net: readonly string[];
  /** The programs it may run (absolute paths), or `null` for any. */
  readonly tools: readonly string[] | null;
}

/** One permission check a `deno` attempt's broker decided. */
export interface AccessDecision {
  /** `permission`. */
  readonly type: "permission";
  /** Deno's permission name, as sent (`read`, `write`, `net`, `env`, `run`, `sys`, …). */
  readonly permission: string;
  /** The value, as sent (a path as written, `host:port`, a variable name; `null`: all of the kind). */
  readonly value: string | null;
  /** The kind, as a violation would name it. */
  readonly kind: ViolationKind;
  /** What it was for: the real path, `host:port`, the name, or `*` for all. */
  readonly target: string;
  /** Whether Deno was let go ahead. */
  readonly allowed: boolean;
  /** Why, in words. */
  readonly reason: string;
  /** The asking process's pid, in the step's PID namespace. */
  readonly pid: number;
}

/** What an executor tells the runtime about an attempt's access, for the run's access journal. */
export type AccessReport = AccessGrant | AccessDecision;

/** Told each {@linkcode AccessReport} of an attempt as it happens; must not throw. */
export type OnAccess = (report: AccessReport) => void;

/** Everything an executor gets for one attempt. */
export interface ExecutionContext {
  /** The run. */
  readonly runId: string;
  /** The step (or gate) id. */
  readonly stepId: string;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /** The workspace root (absolute). */
  readonly workspace: string;
  /** Working directory (absolute, inside the workspace). */
  readonly cwd: string;
  /** Where the executor leaves declared outputs (absolute, under the run's tmp/). */
  readonly outputDir: string;
  /** Where the read-only input copies are (absolute, under the run's tmp/). */
  readonly inputDir: string;
  /** A scratch dir for the attempt (absolute, under the run's tmp/). */
  readonly scratchDir: string;
  /** The inputs by name. */
  readonly inputs: Readonly<Record<string, MaterializedInput>>;
  /** The declared outputs by name; each is expected at `outputDir/<path>`. */
  readonly outputs: Readonly<Record<string, OutputSpec>>;
  /** The complete environment of a child process (nothing else is passed). */
  readonly env: Readonly<Record<string, string>>;
  /** File that receives the attempt's stdout (absolute, in the run's logs/). */
  readonly stdoutPath: string;
  /** File that receives the attempt's stderr (absolute, in the run's logs/). */
  readonly stderrPath: string;
  /** Kill the work after this many ms; undefined means no limit. */
  readonly timeoutMs?: number;
  /** Aborted when the run is cancelled. */
  readonly signal: AbortSignal;
  /**
   * What the attempt may read, write, run, reach and see (its policy
   * resolved; mode `none` under `--no-sandbox`). Executors that spawn
   * processes enforce it and fail closed; in-process ones (`fn`, `llm`)
   * cannot, and say so in `docs/security.md`.
   */
  readonly confinement: Confinement;
  /**
   * The kernel's `llm` executor, for an executor that asks a model as part of
   * its work (the `agent` pack's `agent/edit`): given an `llm` spec and a
   * context, it sends the messages to the kernel's provider, writes the reply
   * as the spec's output and reports the exchanges, as for an `llm` step.
   * Absent where the registry has no `llm` kind.
   */
  readonly llm?: Executor<LlmSpec>;
  /**
   * Told what the attempt was granted and, for `deno` attempts, every
   * permission decision, so the runtime can journal them.
   */
  readonly onAccess?: OnAccess;
  /**
   * The run's redactor: executors pass what a child writes to its log files
   * through it, so no secret value reaches the store.
   */
  readonly redactor?: Redactor;
}

/** How an attempt ended. */
export type ExecutionStatus = "succeeded" | "failed" | "timeout" | "cancelled";

/** Token counts an `llm` executor reports. */
export interface LlmUsage {
  /** Prompt tokens. */
  readonly input_tokens: number;
  /** Completion tokens. */
  readonly output_tokens: number;
}

/** What an executor reports. */
export interface ExecutionResult {
  /** How the attempt ended. */
  readonly status: ExecutionStatus;
  /** The process's exit code, when there was a process that exited. */
  readonly exitCode: number | null;
  /** Why it failed, in words, when it did. */
  readonly message?: string;
  /** What was run, for the attempt record (argv, module, model…). */
  readonly summary: Readonly<Record<string, unknown>>;
  /** Process id of the child, when there was one. */
  readonly pid?: number;
  /** Token usage, for `llm` executors. */
  readonly usage?: LlmUsage;
  /** Refusals the kernel saw; the runtime stores each as a `policy_violation.v1`. */
  readonly violations?: readonly PolicyViolation[];
  /**
   * Requests sent to a language model and their replies, for `llm`
   * executors; the runtime stores each as an `llm_request.v1` and an
   * `llm_reply.v1` artifact of the attempt.
   */
  readonly exchanges?: readonly LlmExchange[];
}

/** Called once a child process has started, so the runtime can record its pid. */
export type OnSpawn = (pid: number) => void | Promise<void>;

/** A step or gate that will run on an executor, as {@linkcode Executor.unready} sees it. */
export interface ExecutorUse<Spec> {
  /** `Step <id>` or `Gate <id>`, to start a sentence with. */
  readonly what: string;
  /** Whether it is a step or a gate. */
  readonly role: "step" | "gate";
  /** Its id. */
  readonly id: string;
  /** Its spec. */
  readonly spec: Spec;
}

/** Runs attempts of one executor kind, and describes the kind. */
export interface Executor<Spec extends ExecutorKindSpec> extends ExecutorKind<Spec> {
  /**
   * Says what the executor, as configured, lacks to run these steps and
   * gates (a function that is not registered, a provider that is not
   * configured), before a run is created.
   *
   * @param uses Every step and gate of a workflow that uses this kind.
   * @returns One sentence per problem; empty when all can run.
   */
  unready?(uses: readonly ExecutorUse<Spec>[]): string[];
  /**
   * Runs one attempt.
   *
   * @param spec The step's executor settings.
   * @param ctx Everything prepared for the attempt.
   * @param onSpawn Told the child's pid once it runs.
   * @returns How it ended.
   */
  execute(spec: Spec, ctx: ExecutionContext, onSpawn?: OnSpawn): Promise<ExecutionResult>;
}
