/**
 * The workflow definition as a person writes it (YAML, JSON or the TS API),
 * its zod schema, and its normalisation into the {@linkcode Workflow} model.
 *
 * @module
 */

import { z } from "zod";
import { failure, type IssuePath, type Result, success } from "../core/issue.ts";
import { DURATION_HINT, parseDuration } from "./duration.ts";
import { type ExecutorKinds, executorKinds, type RunnerRole } from "./executor_kind.ts";
import { relPath } from "./_rel_path.ts";
import { keysAt, schemaIssueMessage } from "./_schema_wording.ts";
import { didYouMean } from "./did_you_mean.ts";
import { blameTemplate, expandTemplates } from "./template_expansion.ts";
import {
  unknownIdMessage,
  type WorkflowTemplates,
  workflowTemplates,
} from "./workflow_template.ts";
import type {
  ExecutorSpec,
  GateSpec,
  InputSource,
  OutputKind,
  OutputSpec,
  PolicySpec,
  RetryOn,
  RetrySpec,
  RouteSpec,
  StepFunction,
  StepSpec,
  TemplateRef,
  Workflow,
} from "./workflow.ts";

const ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const TYPE_ID = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,199}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const id = z.string().regex(ID, "expected a letter, then letters, digits, _ or - (at most 64)");
const typeId = z.string().regex(TYPE_ID, "expected an artifact type such as report.v1");
const duration = z.union([z.number(), z.string()], { error: DURATION_HINT }).refine(
  (v) => parseDuration(v) !== undefined,
  DURATION_HINT,
);
const inputRef = z.string().describe(
  'where the input comes from: "inputs.NAME", "steps.STEP.outputs.NAME" or "@ARTIFACT_ID"',
);
const envMap = z.record(z.string(), z.string());

// The policy rules live in src/policy (a higher layer); the loader repeats
// them here as zod refinements so a file is refused at load.
const policyPath = z.string().superRefine((p, ctx) => {
  let problem: string | undefined;
  if (p === "") problem = "expected a non-empty path";
  else if (p.includes(",")) problem = "expected a path without ',' (Deno cannot express it)";
  else if (p.includes("..")) problem = "expected a path without '..'";
  else if (p.includes("\0")) problem = "expected a path without NUL";
  else if (p.startsWith("-")) problem = "expected a path that does not start with '-'";
  if (problem) {
    ctx.addIssue({ code: "custom", message: `policy path ${JSON.stringify(p)}: ${problem}` });
  }
});
const toolEntry = z.string().refine(
  (t) =>
    t.startsWith("/")
      ? !t.includes(",") && !t.includes("..") && !t.includes("\0")
      : /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/.test(t),
  "expected a program name (letters, digits, '.', '_', '+', '-') or an absolute path",
);
const netEntry = z.string().regex(
  /^((\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/,
  "expected host, host:port or *.domain",
);
const policy = z.strictObject({
  read: z.array(policyPath).describe('paths or globs it may read; default ["."]').optional(),
  write: z.array(policyPath).describe('paths or globs it may write; default ["."]').optional(),
  deny: z.array(policyPath).describe("neither readable nor writable; wins over read and write")
    .optional(),
  tools: z.array(toolEntry).describe("programs it may run; absent = any installed program")
    .optional(),
  net: z.array(netEntry).describe("hosts it may connect to; default [] = no network").optional(),
  env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).describe(
    "variable names passed from the kernel's environment",
  ).optional(),
}).describe("what it may read, write, run, reach and see (SPEC Layer 4)");

const outputDecl = z.strictObject({
  type: typeId,
  path: z.string().min(1).refine(
    (p) => !p.includes("/") && !p.includes("\\") && p !== "." && p !== ".." && !p.includes("\0"),
    "expected a plain file name in the output dir",
  ),
  kind: z.enum(["json", "text", "file"]).optional(),
  required: z.boolean().optional(),
});

const FACTOR_HINT = "expected a number from 1 to 10";
const EXIT_CODE_HINT = "expected an exit code from 1 to 255";

const retry = z.strictObject({
  max_attempts: z.number().int().min(1).max(100),
  backoff: duration.optional(),
  backoff_factor: z.number({ error: FACTOR_HINT }).min(1, FACTOR_HINT).max(10, FACTOR_HINT)
    .optional(),
  max_backoff: duration.describe(
    "the longest wait between attempts; default 1h, or backoff when longer",
  ).optional(),
  on: z.array(z.enum(["failure", "timeout"])).min(1).optional(),
  jitter: z.boolean().describe(
    "spread each wait over its upper half, deterministically from the run id",
  ).optional(),
  exit_codes: z.array(z.number().int().min(1, EXIT_CODE_HINT).max(255, EXIT_CODE_HINT)).min(1)
    .describe("retry a failure only when the process exited with one of these codes").optional(),
});

/** The default `on_fail.max`: how often one route may be taken in a run. */
export const DEFAULT_ROUTE_MAX = 3;

/** The default `max_transitions`: how many routes a run may take in all. */
export const DEFAULT_MAX_TRANSITIONS = 100;

const ROUTE_MAX_HINT = "expected a whole number from 1 to 1000";
const TRANSITIONS_HINT = "expected a whole number from 1 to 100000";

const onFail = z.strictObject({
  goto: z.string().describe("the step run again: this step (or the gate's step) or an ancestor"),
  max: z.number({ error: ROUTE_MAX_HINT }).int(ROUTE_MAX_HINT).min(1, ROUTE_MAX_HINT).max(
    1000,
    ROUTE_MAX_HINT,
  ).describe(`how often this route may be taken in a run (default ${DEFAULT_ROUTE_MAX})`)
    .optional(),
});

const message = z.strictObject({
  role: z.enum(["system", "user", "assistant"]),
  content: z.string(),
});

const llm = z.strictObject({
  model: z.string().min(1),
  prompt: z.string().optional(),
  system: z.string().optional(),
  messages: z.array(message).optional(),
  output: z.string(),
  json: z.boolean().optional(),
});

const deno = z.union([
  relPath,
  z.strictObject({ module: relPath, args: z.array(z.string()).optional() }),
]);

function fnField(allowFunctions: boolean) {
  const name = z.string().regex(ID, "expected the name of a registered function");
  return allowFunctions
    ? z.union([name, z.custom<StepFunction>((v) => typeof v === "function", "expected a function")])
    : name;
}

const RUNNER_KEYS = ["command", "shell", "deno", "fn", "llm", "human", "run"] as const;

const run = z.looseObject({
  kind: z.string().min(1).describe('a registered executor kind, e.g. "command" or "acme/docker"'),
}).describe("an executor kind and its settings, checked against the kind's own schema");

function exactlyOneRunner(allowed: readonly string[]) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const present = RUNNER_KEYS.filter((k) => value[k] !== undefined);
    // The message lists the shorthand keys; `run: { kind, … }` is accepted as well.
    if (present.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: present.length === 0
          ? `expected one of ${allowed.join(", ")}`
          : `expected only one of ${allowed.join(", ")}, got ${present.join(" and ")}`,
      });
    }
  };
}

/** What `cache` does, in the workflow JSON Schema. */
const CACHE_DESCRIPTION =
  "reuse the outputs of an earlier attempt with the same cache key instead of running " +
  "(docs/cache.md)";

/**
 * The zod schema of a workflow definition; with `allowFunctions` (the TS
 * API) `fn` may be a function, in files it names a registered function.
 */
function workflowDefinitionSchema(options: { allowFunctions?: boolean } = {}) {
  const fn = fnField(options.allowFunctions ?? false);
  const runnerFields = {
    command: z.array(z.string()).min(1).describe("argv; no shell").optional(),
    shell: z.string().min(1).describe("a command line run with sh -c").optional(),
    deno: deno.optional(),
    fn: fn.optional(),
    cwd: relPath.optional(),
    timeout: duration.optional(),
    env: envMap.optional(),
    inputs: z.record(id, inputRef).optional(),
    policy: policy.optional(),
    run: run.optional(),
    uses: z.string().describe("a template such as deno/test; it gives the runner").optional(),
    with: z.record(z.string(), z.unknown()).describe("the template's parameters").optional(),
  };
  const step = z.strictObject({
    id,
    description: z.string().optional(),
    ...runnerFields,
    llm: llm.optional(),
    needs: z.array(z.string()).optional(),
    outputs: z.record(id, outputDecl).optional(),
    retry: retry.optional(),
    on_fail: onFail.optional(),
    env_pass: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).optional(),
    cache: z.boolean().describe(CACHE_DESCRIPTION).optional(),
  }).superRefine(exactlyOneRunner(["command", "shell", "deno", "fn", "llm"]));
  const gate = z.strictObject({
    id,
    step: z.string(),
    description: z.string().optional(),
    ...runnerFields,
    human: z.strictObject({ prompt: z.string().optional() }).optional(),
    required: z.boolean().optional(),
    on_fail: onFail.optional(),
  }).superRefine(exactlyOneRunner(["command", "shell", "deno", "fn", "human"]));
  return z.strictObject({
    $schema: z.string().optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    inputs: z.record(
      id,
      z.strictObject({
        type: typeId,
        required: z.boolean().optional(),
        description: z.string().optional(),
      }),
    ).optional(),
    policy: policy.optional(),
    cache: z.boolean().describe(`${CACHE_DESCRIPTION}: every step, unless it says cache: false`)
      .optional(),
    steps: z.array(step).min(1, "expected at least one step"),
    gates: z.array(gate).optional(),
    max_transitions: z.number({ error: TRANSITIONS_HINT }).int(TRANSITIONS_HINT).min(
      1,
      TRANSITIONS_HINT,
    ).max(100_000, TRANSITIONS_HINT).describe(
      `how many routes (on_fail) a run may take in all (default ${DEFAULT_MAX_TRANSITIONS})`,
    ).optional(),
  });
}

/** Fields steps and gates share: how they run. Give exactly one runner. */
export interface RunnerDefinition {
  /** Run this argv (no shell). */
  command?: string[];
  /** Run this command line with `sh -c`. */
  shell?: string;
  /** Run this module (workspace-relative) with `deno run` under permission flags. */
  deno?: string | { module: string; args?: string[] };
  /** Call this function: a registered name (files) or a function (TS API). */
  fn?: string | StepFunction;
  /** Working directory, relative to the workspace. */
  cwd?: string;
  /** Time limit: `500ms`, `30s`, `5m`, `1h` or milliseconds. */
  timeout?: number | string;
  /** Environment variables to set. */
  env?: Record<string, string>;
  /** Inputs: `inputs.NAME`, `steps.STEP.outputs.NAME` or `@ARTIFACT_ID`. */
  inputs?: Record<string, string>;
  /**
   * Run a registered executor kind (`acme/docker`, or a built-in one such as
   * `command`) with these settings, checked against the kind's schema.
   */
  run?: { kind: string; [setting: string]: unknown };
  /** Its own policy: each field given replaces the top-level one. */
  policy?: PolicyDefinition;
}

/** A template used by name, as written (`uses: deno/test`, `with: {…}`). */
export interface TemplateUseDefinition {
  /** The template's namespaced id, e.g. `deno/test`. */
  uses?: string;
  /** Its parameters, validated against the template's schema. */
  with?: Record<string, unknown>;
}

/** A policy as written (SPEC Layer 4). */
export interface PolicyDefinition {
  /** Paths or globs it may read (default `["."]`). */
  read?: string[];
  /** Paths or globs it may write (default `["."]`; a gate's default is none). */
  write?: string[];
  /** Paths or globs neither readable nor writable. */
  deny?: string[];
  /** Programs it may run (absent: any installed program). */
  tools?: string[];
  /** Hosts it may connect to (default none). */
  net?: string[];
  /** Variable names passed from the kernel's environment. */
  env?: string[];
}

/** A declared output as written. */
export interface OutputDefinition {
  /** The artifact type it is stored and validated as. */
  type: string;
  /** The file name the executor leaves in `LILY_OUTPUT_DIR`. */
  path: string;
  /** How it is stored; by default from the file ending. */
  kind?: OutputKind;
  /**
   * Whether the step fails without it.
   * @default {true}
   */
  required?: boolean;
}

/** A step as written. */
export interface StepDefinition extends RunnerDefinition, TemplateUseDefinition {
  /** Unique id: a letter, then letters, digits, `_` or `-`. */
  id: string;
  /** What the step does. */
  description?: string;
  /** Ask a language model. */
  llm?: {
    model: string;
    prompt?: string;
    system?: string;
    messages?: { role: "system" | "user" | "assistant"; content: string }[];
    output: string;
    json?: boolean;
  };
  /** Steps that must succeed first. */
  needs?: string[];
  /** Declared outputs by name. */
  outputs?: Record<string, OutputDefinition>;
  /** Retry settings. */
  retry?: {
    max_attempts: number;
    backoff?: number | string;
    backoff_factor?: number;
    /** The longest wait between attempts (default `1h`, or `backoff` when that is longer). */
    max_backoff?: number | string;
    on?: RetryOn[];
    /** Spread each wait over its upper half, deterministically from the run id. */
    jitter?: boolean;
    /** Retry a failure only when the process exited with one of these codes (1–255). */
    exit_codes?: number[];
  };
  /** Where to go when the step fails after its retries (or a route template's use). */
  on_fail?: OnFailDefinition | RouteUseDefinition;
  /** Names of variables passed through from the kernel's environment. */
  env_pass?: string[];
  /**
   * Reuse the outputs of an earlier attempt with the same cache key instead
   * of running (`docs/cache.md`); overrides the workflow's `cache`.
   * @default {the workflow's `cache`, else false}
   */
  cache?: boolean;
}

/** A bounded route as written. */
export interface OnFailDefinition {
  /** The step run again: the failing step (or the gate's step) or one of its ancestors. */
  goto: string;
  /**
   * How often this route may be taken in a run (1 to 1000).
   * @default {3}
   */
  max?: number;
}

/** A route template used by name in `on_fail` (`uses: agent/fix_until_green`). */
export interface RouteUseDefinition {
  /** The route template's namespaced id. */
  uses: string;
  /** Its parameters, validated against the template's schema. */
  with?: Record<string, unknown>;
}

/** A gate as written. */
export interface GateDefinition extends RunnerDefinition, TemplateUseDefinition {
  /** Unique id among gates. */
  id: string;
  /** The step it checks. */
  step: string;
  /** What it checks. */
  description?: string;
  /** Wait for a person's decision. */
  human?: { prompt?: string };
  /**
   * Whether the step needs it to pass; optional failures are warnings.
   * @default {true}
   */
  required?: boolean;
  /** Where to go when this required gate fails (or a route template's use). */
  on_fail?: OnFailDefinition | RouteUseDefinition;
}

/** A workflow definition as written (file or TS API), before normalisation. */
export interface WorkflowDefinition {
  /** The JSON Schema URL, for editors. */
  $schema?: string;
  /** The workflow's name. */
  name: string;
  /** What it does. */
  description?: string;
  /** Run inputs by name. */
  inputs?: Record<string, { type: string; required?: boolean; description?: string }>;
  /** The default policy of every step and gate. */
  policy?: PolicyDefinition;
  /**
   * Turn the step cache on for every step that does not say `cache: false`.
   * @default {false}
   */
  cache?: boolean;
  /** The steps; declaration order breaks scheduling ties. */
  steps: StepDefinition[];
  /** The gates. */
  gates?: GateDefinition[];
  /**
   * How many routes (`on_fail`) a run may take in all (1 to 100000).
   * @default {100}
   */
  max_transitions?: number;
}

type ParsedDefinition = z.output<ReturnType<typeof workflowDefinitionSchema>>;
type ParsedStep = ParsedDefinition["steps"][number];
type ParsedGate = NonNullable<ParsedDefinition["gates"]>[number];

/**
 * The JSON Schema of workflow files, for editor completion.
 *
 * @returns A JSON Schema (draft 2020-12) document.
 */
export function workflowJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(workflowDefinitionSchema(), { io: "input", unrepresentable: "any" }),
    patternProperties: { "^x-": { description: "ignored; a place for YAML anchors" } },
    $id: "https://jsr.io/@lily/cli/workflow.schema.json",
    title: "Lily workflow",
  };
}

function outputKind(path: string, kind: OutputKind | undefined): OutputKind {
  if (kind) return kind;
  if (path.endsWith(".json")) return "json";
  return /\.(txt|md|log)$/.test(path) ? "text" : "file";
}

/**
 * Parses an input reference such as `steps.build.outputs.report`.
 *
 * @param ref The reference as written.
 * @returns The source, or `undefined` when the reference is malformed.
 */
export function parseInputRef(ref: string): InputSource | undefined {
  let m = /^inputs\.([A-Za-z][A-Za-z0-9_-]*)$/.exec(ref);
  if (m) return { from: "run_input", name: m[1] };
  m = /^steps\.([A-Za-z][A-Za-z0-9_-]*)\.outputs\.([A-Za-z][A-Za-z0-9_-]*)$/.exec(ref);
  if (m) return { from: "step_output", step: m[1], output: m[2] };
  m = /^@(.+)$/.exec(ref);
  if (m && UUID.test(m[1])) return { from: "artifact", artifactId: m[1] };
  return undefined;
}

function inputs(
  raw: Record<string, string> | undefined,
  base: (string | number)[],
  issues: PathIssue[],
): Record<string, InputSource> {
  const out: Record<string, InputSource> = {};
  for (const [name, ref] of Object.entries(raw ?? {})) {
    const source = parseInputRef(ref);
    if (source) out[name] = source;
    else {
      issues.push({
        code: "invalid_input_ref",
        path: [...base, "inputs", name],
        message: `invalid input reference ${JSON.stringify(ref)}: expected "inputs.NAME", ` +
          '"steps.STEP.outputs.NAME" or "@ARTIFACT_ID"',
      });
    }
  }
  return out;
}

type ParsedRunner = ParsedStep | ParsedGate;

/** How each shorthand key of a step or gate becomes the spec of a built-in kind. */
const SHORTHANDS: Readonly<Record<string, (raw: ParsedRunner) => ExecutorSpec>> = {
  command: (raw) => ({ kind: "command", argv: raw.command!, cwd: raw.cwd }),
  shell: (raw) => ({ kind: "command", argv: ["sh", "-c", raw.shell!], cwd: raw.cwd, shell: true }),
  deno: (raw) =>
    typeof raw.deno === "string"
      ? { kind: "deno", module: raw.deno, args: [], cwd: raw.cwd }
      : { kind: "deno", module: raw.deno!.module, args: raw.deno!.args ?? [], cwd: raw.cwd },
  fn: (raw) =>
    typeof raw.fn === "string"
      ? { kind: "fn", name: raw.fn }
      : { kind: "fn", name: raw.fn!.name || "anonymous", fn: raw.fn },
  llm: (raw) => {
    const llm = (raw as ParsedStep).llm!;
    const messages = [
      ...(llm.system ? [{ role: "system" as const, content: llm.system }] : []),
      ...(llm.messages ?? []),
      ...(llm.prompt ? [{ role: "user" as const, content: llm.prompt }] : []),
    ];
    return { kind: "llm", model: llm.model, messages, output: llm.output, json: llm.json ?? false };
  },
  human: (raw) => ({
    kind: "human",
    prompt: (raw as ParsedGate).human!.prompt ?? `Approve ${raw.id}?`,
  }),
};

/**
 * The spec of a step's or gate's runner: from its shorthand key, or from
 * `run: { kind, … }` checked against the registered kind's schema.
 */
function runner(
  raw: ParsedRunner,
  where: {
    role: RunnerRole;
    base: (string | number)[];
    kinds: ExecutorKinds;
    unavailable: ReadonlyMap<string, string>;
  },
  issues: PathIssue[],
): ExecutorSpec {
  const shorthand = Object.keys(SHORTHANDS).find((key) =>
    (raw as Record<string, unknown>)[key] !== undefined
  );
  if (shorthand !== undefined) return SHORTHANDS[shorthand](raw);
  const written = raw.run!;
  const base = [...where.base, "run"];
  const kind = where.kinds.get(written.kind);
  if (kind === undefined) {
    issues.push({
      code: "unknown_executor_kind",
      path: [...base, "kind"],
      message: unknownIdMessage("executor kind", written.kind, {
        known: where.kinds.ids(),
        unavailable: where.unavailable,
      }),
    });
    return written;
  }
  if (!kind.capabilities.roles.includes(where.role)) {
    issues.push({
      code: "invalid_executor_kind",
      path: [...base, "kind"],
      message: `executor kind "${written.kind}" cannot run a ${where.role}; it runs ` +
        `${kind.capabilities.roles.map((r) => `${r}s`).join(" and ")} only`,
    });
    return written;
  }
  if (raw.cwd !== undefined) {
    issues.push({
      code: "invalid_runner",
      path: [...where.base, "cwd"],
      message: "expected cwd inside run (run.cwd) for a step or gate given as run: { kind, … }",
    });
  }
  const parsed = z.safeParse(kind.specSchema as z.ZodType, written);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({
        code: issue.code,
        path: [...base, ...issue.path.filter((p): p is string | number => typeof p !== "symbol")],
        message: issue.message,
      });
    }
    return written;
  }
  return parsed.data as ExecutorSpec;
}

/** The default `max_backoff`: one hour, in ms. */
export const DEFAULT_MAX_BACKOFF_MS = 3_600_000;

const NO_RETRY: RetrySpec = {
  maxAttempts: 1,
  backoffMs: 0,
  backoffFactor: 1,
  maxBackoffMs: DEFAULT_MAX_BACKOFF_MS,
  on: ["failure"],
  jitter: false,
  exitCodes: [],
};

/**
 * Normalises `retry`. Without `max_backoff` the cap is 1h, or `backoff`
 * when that is longer; a `backoff` longer than a given `max_backoff` is an error.
 */
function retrySpec(
  raw: NonNullable<ParsedStep["retry"]>,
  path: (string | number)[],
  issues: PathIssue[],
): RetrySpec {
  const backoffMs = raw.backoff === undefined ? 0 : parseDuration(raw.backoff)!;
  const maxBackoffMs = raw.max_backoff === undefined
    ? Math.max(DEFAULT_MAX_BACKOFF_MS, backoffMs)
    : parseDuration(raw.max_backoff)!;
  if (backoffMs > maxBackoffMs) {
    issues.push({
      code: "invalid_retry",
      path: [...path, "backoff"],
      message: `backoff (${raw.backoff}) is longer than max_backoff (${raw.max_backoff}); ` +
        "expected backoff at most max_backoff",
    });
  }
  return {
    maxAttempts: raw.max_attempts,
    backoffMs,
    backoffFactor: raw.backoff_factor ?? 2,
    maxBackoffMs,
    on: raw.on ?? ["failure", "timeout"],
    jitter: raw.jitter ?? false,
    exitCodes: raw.exit_codes ?? [],
  };
}

function step(
  raw: ParsedStep,
  where: {
    index: number;
    kinds: ExecutorKinds;
    unavailable: ReadonlyMap<string, string>;
    cache: boolean;
  },
  issues: PathIssue[],
): StepSpec {
  const base = ["steps", where.index];
  const outputs: Record<string, OutputSpec> = {};
  for (const [name, o] of Object.entries(raw.outputs ?? {})) {
    outputs[name] = {
      type: o.type,
      path: o.path,
      kind: outputKind(o.path, o.kind),
      required: o.required ?? true,
    };
  }
  return {
    id: raw.id,
    executor: runner(raw, { ...where, role: "step", base }, issues),
    needs: raw.needs ?? [],
    inputs: inputs(raw.inputs, base, issues),
    outputs,
    retry: raw.retry ? retrySpec(raw.retry, [...base, "retry"], issues) : NO_RETRY,
    timeoutMs: raw.timeout === undefined ? undefined : parseDuration(raw.timeout),
    env: raw.env ?? {},
    envPass: raw.env_pass ?? [],
    ...(raw.on_fail ? { onFail: routeSpec(raw.on_fail) } : {}),
    ...(raw.policy ? { policy: raw.policy } : {}),
    ...templateRef(raw),
    ...((raw.cache ?? where.cache) ? { cache: true } : {}),
  };
}

function templateRef(raw: ParsedRunner): { template?: TemplateRef } {
  return raw.uses === undefined ? {} : { template: { uses: raw.uses, with: raw.with ?? {} } };
}

function routeSpec(raw: NonNullable<ParsedStep["on_fail"]>): RouteSpec {
  return { goto: raw.goto, max: raw.max ?? DEFAULT_ROUTE_MAX };
}

function gate(
  raw: ParsedGate,
  where: { index: number; kinds: ExecutorKinds; unavailable: ReadonlyMap<string, string> },
  issues: PathIssue[],
): GateSpec {
  const index = where.index;
  return {
    id: raw.id,
    step: raw.step,
    runner: runner(raw, { ...where, role: "gate", base: ["gates", index] }, issues),
    required: raw.required ?? true,
    timeoutMs: raw.timeout === undefined ? undefined : parseDuration(raw.timeout),
    inputs: inputs(raw.inputs, ["gates", index], issues),
    env: raw.env ?? {},
    ...(raw.on_fail ? { onFail: routeSpec(raw.on_fail) } : {}),
    ...(raw.policy ? { policy: raw.policy } : {}),
    ...templateRef(raw),
  };
}

/** An issue whose path is still its segments (written once, by `formatIssuePath`). */
export interface PathIssue {
  /** Machine-readable kind. */
  readonly code: string;
  /** Keys and indexes from the root. */
  readonly path: IssuePath;
  /** What is wrong. */
  readonly message: string;
}

/** Drops top-level `x-*` keys: a place for YAML anchors, as in Docker Compose files. */
function withoutExtensions(definition: unknown): unknown {
  if (typeof definition !== "object" || definition === null || Array.isArray(definition)) {
    return definition;
  }
  return Object.fromEntries(Object.entries(definition).filter(([key]) => !key.startsWith("x-")));
}

/** Options of {@linkcode normalizeDefinition}. */
export interface NormalizeOptions {
  /** Let `fn` be a function (the TS API); in files it names a registered function. */
  readonly allowFunctions?: boolean;
  /**
   * The executor kinds `run: { kind, … }` may name.
   * @default {executorKinds()}
   */
  readonly kinds?: ExecutorKinds;
  /**
   * The templates `uses:` may name (a pack's).
   * @default {workflowTemplates()}
   */
  readonly templates?: WorkflowTemplates;
  /**
   * The policy a workflow starts from (the workspace's `lily.json`): the
   * fields its own `policy` gives replace these.
   */
  readonly defaultPolicy?: PolicySpec;
}

/**
 * Validates a definition against the schema and normalises it. Top-level
 * keys starting with `x-` are ignored.
 *
 * @param definition The parsed file, or a TS API object.
 * @param options `allowFunctions` for the TS API; the executor kinds.
 * @returns The workflow, or every schema issue with its path.
 */
export function normalizeDefinition(
  definition: unknown,
  options: NormalizeOptions = {},
): Result<Workflow, PathIssue> {
  const kinds = options.kinds ?? executorKinds();
  const schema = workflowDefinitionSchema(options);
  const written = withoutExtensions(definition);
  const templates = options.templates ?? workflowTemplates();
  const unavailable = templates.unavailable;
  const expanded = expandTemplates(written, templates);
  if (!expanded.ok) return failure(expanded.issues);
  const parsed = schema.safeParse(expanded.value.definition, { error: schemaIssueMessage });
  if (!parsed.success) {
    return failure(
      parsed.error.issues.flatMap((i) => pathIssues(schema, i))
        .map((i) => blameTemplate(i, expanded.value, written)),
    );
  }
  const raw = parsed.data;
  const issues: PathIssue[] = [];
  const inputsSpec = Object.fromEntries(
    Object.entries(raw.inputs ?? {}).map(([name, i]) => [name, {
      type: i.type,
      required: i.required ?? true,
      ...(i.description ? { description: i.description } : {}),
    }]),
  );
  const workflow: Workflow = {
    name: raw.name,
    ...(raw.description ? { description: raw.description } : {}),
    inputs: inputsSpec,
    ...workflowPolicy(raw.policy, options.defaultPolicy),
    steps: raw.steps.map((s, index) =>
      step(s, { index, kinds, unavailable, cache: raw.cache ?? false }, issues)
    ),
    gates: (raw.gates ?? []).map((g, index) => gate(g, { index, kinds, unavailable }, issues)),
    maxTransitions: raw.max_transitions ?? DEFAULT_MAX_TRANSITIONS,
  };
  return issues.length > 0
    ? failure(issues.map((i) => blameTemplate(i, expanded.value, written)))
    : success(workflow);
}

/** The workflow's policy over the workspace default, field by field. */
function workflowPolicy(
  own: PolicySpec | undefined,
  base: PolicySpec | undefined,
): { policy?: PolicySpec } {
  if (own === undefined && base === undefined) return {};
  return { policy: { ...base, ...own } };
}

/**
 * A schema issue as path issues: an unknown key is one issue per key, at
 * the key itself, so its line is the key's (inside an anchor when it came
 * through a `<<` merge).
 */
function pathIssues(schema: z.ZodType, issue: z.core.$ZodIssue): PathIssue[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const known = keysAt(schema, path)?.filter((k) => k !== "$schema") ?? [];
    return issue.keys.map((key) => ({
      code: issue.code,
      path: [...path, key],
      message: `unknown key${didYouMean(key, known)}` +
        (known.length > 0 ? `; expected one of ${known.join(", ")}` : "") +
        (path.length === 0 ? " (keys starting with x- are ignored)" : ""),
    }));
  }
  return [{ code: issue.code, path, message: issue.message }];
}

/**
 * Names a place in a workflow definition as its error messages do, naming
 * steps and gates by id where they have one: a label for people, beside
 * the issue's path.
 *
 * @param path Keys and indexes from the root.
 * @param definition The raw definition.
 * @returns A label such as `steps.build.needs[0]`, or `(root)`.
 */
export function locationLabel(path: readonly (string | number)[], definition: unknown): string {
  let out = "";
  let node: unknown = definition;
  path.forEach((key, i) => {
    const parentKey = path[i - 1];
    const child = (node as Record<string | number, unknown> | undefined)?.[key];
    const childId = (child as { id?: unknown } | undefined)?.id;
    if (
      typeof key === "number" && (parentKey === "steps" || parentKey === "gates") &&
      typeof childId === "string" && ID.test(childId)
    ) {
      out += `.${childId}`;
    } else if (typeof key === "number") {
      out += `[${key}]`;
    } else {
      out += out === "" ? key : `.${key}`;
    }
    node = child;
  });
  return out === "" ? "(root)" : out;
}
