/**
 * The workflow model: what a workflow file or `defineWorkflow` describes,
 * normalised so the graph checks, the scheduler and the runtime see one shape.
 *
 * @module
 */

import type { JsonValue } from "../core/canonical_json.ts";

/**
 * A policy as written (SPEC "Layer 4"): each field given replaces the
 * inherited one (top level, then the SPEC default).
 */
export interface PolicySpec {
  /** Paths or globs that may be read (workspace-relative, or absolute outside it). */
  readonly read?: readonly string[];
  /** Paths or globs that may be written (and read). */
  readonly write?: readonly string[];
  /** Paths or globs neither readable nor writable. */
  readonly deny?: readonly string[];
  /** Programs that may run: names on the kernel's PATH or absolute paths. */
  readonly tools?: readonly string[];
  /** Hosts (`host`, `host:port`, `*.domain`) that may be reached. */
  readonly net?: readonly string[];
  /** Env variable names passed from the kernel's environment. */
  readonly env?: readonly string[];
}

/** A run input: a named artifact the run is started with. */
export interface InputSpec {
  /** The artifact type the input must have. */
  readonly type: string;
  /**
   * Whether the run can start without it.
   * @default {true}
   */
  readonly required: boolean;
  /** What the input is for. */
  readonly description?: string;
}

/** Where a step input comes from. */
export type InputSource =
  | { readonly from: "run_input"; readonly name: string }
  | { readonly from: "step_output"; readonly step: string; readonly output: string }
  | { readonly from: "artifact"; readonly artifactId: string };

/** How a declared output is stored. */
export type OutputKind = "json" | "text" | "file";

/** A declared output: a file the executor leaves in its output dir. */
export interface OutputSpec {
  /** The artifact type it is stored (and validated) as. */
  readonly type: string;
  /** The file name in the output dir. */
  readonly path: string;
  /** How it is stored; by default `.json` → json, `.txt`/`.md`/`.log` → text, else file. */
  readonly kind: OutputKind;
  /**
   * Whether the step fails when it is missing.
   * @default {true}
   */
  readonly required: boolean;
}

/** Which failures a retry covers. */
export type RetryOn = "failure" | "timeout";

/** How often and when a step is retried. */
export interface RetrySpec {
  /** Attempts in all, including the first. */
  readonly maxAttempts: number;
  /** Wait before the second attempt, in ms. */
  readonly backoffMs: number;
  /** Each further wait is multiplied by this (from 1 to 10). */
  readonly backoffFactor: number;
  /** No wait is longer than this, in ms. */
  readonly maxBackoffMs: number;
  /** Which failures retry. */
  readonly on: readonly RetryOn[];
  /**
   * Spread each wait over its upper half, by a fraction that is a pure
   * function of (run id, step, attempt) (see `src/policy/retry_jitter.ts`).
   */
  readonly jitter: boolean;
  /** When not empty, a failure retries only when it exited with one of these codes. */
  readonly exitCodes: readonly number[];
}

/**
 * A bounded route (`on_fail`): when its step fails after its retries, or
 * its required gate fails, `goto` and everything downstream of it run
 * again, `goto` getting the failing record as its input `feedback`.
 */
export interface RouteSpec {
  /** The step run again: the failing step itself or one of its ancestors. */
  readonly goto: string;
  /** How often this route may be taken in one run (from 1). */
  readonly max: number;
}

/** The context an in-process `fn` step receives. */
export interface FnContext {
  /** The run. */
  readonly runId: string;
  /** The step. */
  readonly stepId: string;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /** JSON inputs parsed, text inputs as strings, file inputs as their paths. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Where to leave output files, when the function writes files. */
  readonly outputDir: string;
  /** Aborted on timeout or cancellation. */
  readonly signal: AbortSignal;
  /** The step's environment subset. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * An in-process step. It may return output values by name (JSON values for
 * json outputs, strings for text outputs) instead of writing files.
 */
export type StepFunction = (
  ctx: FnContext,
) => Promise<Record<string, JsonValue> | void> | Record<string, JsonValue> | void;

/** Run an argv as a child process. */
export interface CommandSpec {
  /** The executor kind. */
  readonly kind: "command";
  /** Program and arguments; no shell is involved unless the argv names one. */
  readonly argv: readonly string[];
  /** Working directory relative to the workspace. */
  readonly cwd?: string;
  /** Whether it came from `shell:` (which implies the tool `sh`). */
  readonly shell?: boolean;
}

/** Run a TypeScript module in a separate `deno` process under permission flags. */
export interface DenoSpec {
  /** The executor kind. */
  readonly kind: "deno";
  /** Module path relative to the workspace. */
  readonly module: string;
  /** Arguments passed to the module. */
  readonly args: readonly string[];
  /** Working directory relative to the workspace. */
  readonly cwd?: string;
}

/** Call a function in the kernel's process. */
export interface FnSpec {
  /** The executor kind. */
  readonly kind: "fn";
  /** The function's name (how a workflow file refers to a registered function). */
  readonly name: string;
  /** The function, when given through the TS API. */
  readonly fn?: StepFunction;
}

/** A chat message for an `llm` step. */
export interface LlmMessage {
  /** Who speaks. */
  readonly role: "system" | "user" | "assistant";
  /** What is said; `{{inputs.NAME}}` is replaced by a text or JSON input. */
  readonly content: string;
}

/** Ask a language model. */
export interface LlmSpec {
  /** The executor kind. */
  readonly kind: "llm";
  /** The provider's model name. */
  readonly model: string;
  /** The conversation. */
  readonly messages: readonly LlmMessage[];
  /** The declared output that receives the reply. */
  readonly output: string;
  /** Ask for a JSON reply. */
  readonly json: boolean;
}

/** Wait for a person's decision (gates only). */
export interface HumanSpec {
  /** The executor kind. */
  readonly kind: "human";
  /** What the person is asked. */
  readonly prompt: string;
}

/**
 * How a step or gate is carried out: the settings of a registered executor
 * kind (`executor_kind.ts`), such as a {@linkcode CommandSpec}, a
 * {@linkcode DenoSpec}, a {@linkcode FnSpec} or an {@linkcode LlmSpec}, or a
 * pack's kind.
 */
export interface ExecutorSpec {
  /** The executor kind's id. */
  readonly kind: string;
  /** Working directory relative to the workspace, for kinds that have one. */
  readonly cwd?: string;
}

/**
 * How a gate is carried out: any registered kind's spec, such as a
 * {@linkcode HumanSpec}, which waits for a person.
 */
export type GateRunnerSpec = ExecutorSpec | HumanSpec;

/** The template a step or gate was expanded from (`uses:` and `with:` as written). */
export interface TemplateRef {
  /** The template's namespaced id, e.g. `deno/test`. */
  readonly uses: string;
  /** Its parameters as written. */
  readonly with: Readonly<Record<string, unknown>>;
}

/** One step of a workflow. */
export interface StepSpec {
  /** Unique id. */
  readonly id: string;
  /** What the step runs. */
  readonly executor: ExecutorSpec;
  /** Steps that must succeed first, besides those it takes outputs from. */
  readonly needs: readonly string[];
  /** Inputs by name. */
  readonly inputs: Readonly<Record<string, InputSource>>;
  /** Declared outputs by name. */
  readonly outputs: Readonly<Record<string, OutputSpec>>;
  /** Retry settings. */
  readonly retry: RetrySpec;
  /** Per-attempt time limit in ms. */
  readonly timeoutMs?: number;
  /** Environment variables set for the step. */
  readonly env: Readonly<Record<string, string>>;
  /** Names of variables passed through from the kernel's environment. */
  readonly envPass: readonly string[];
  /** Where to go when the step fails after its retries. */
  readonly onFail?: RouteSpec;
  /** Its own policy (replaces the fields it names). */
  readonly policy?: PolicySpec;
  /** The template it was expanded from, when it uses one. */
  readonly template?: TemplateRef;
  /**
   * Whether the step cache may reuse an earlier result instead of running
   * it (its own `cache`, else the workflow's); absent: no.
   */
  readonly cache?: boolean;
}

/** A check that decides whether a step's attempt counts as succeeded. */
export interface GateSpec {
  /** Unique id (among gates). */
  readonly id: string;
  /** The step it checks. */
  readonly step: string;
  /** How it runs. */
  readonly runner: GateRunnerSpec;
  /** Required gates must pass; optional failures are warnings. */
  readonly required: boolean;
  /** Time limit in ms. */
  readonly timeoutMs?: number;
  /** Inputs by name (by default the subject step's outputs are all inputs). */
  readonly inputs: Readonly<Record<string, InputSource>>;
  /** Environment variables set for the gate. */
  readonly env: Readonly<Record<string, string>>;
  /** Where to go when this (required) gate fails. */
  readonly onFail?: RouteSpec;
  /** Its own policy (replaces the fields it names; a gate writes only when it says `write`). */
  readonly policy?: PolicySpec;
  /** The template it was expanded from, when it uses one. */
  readonly template?: TemplateRef;
}

/** A whole workflow. */
export interface Workflow {
  /** Its name. */
  readonly name: string;
  /** What it does. */
  readonly description?: string;
  /** Run inputs by name. */
  readonly inputs: Readonly<Record<string, InputSpec>>;
  /** Steps, in declaration order (the scheduler's tie-breaker). */
  readonly steps: readonly StepSpec[];
  /** Gates, in declaration order. */
  readonly gates: readonly GateSpec[];
  /** How many routes a run may take in all. */
  readonly maxTransitions: number;
  /** The default policy of every step and gate. */
  readonly policy?: PolicySpec;
}
