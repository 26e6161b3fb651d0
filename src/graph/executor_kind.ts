/**
 * Executor kinds as the workflow loader sees them: each kind declares the
 * schema of its settings (its spec), its capabilities — whether it runs in
 * the kernel's process, what kind of producer its outputs have, how it
 * confines what it runs, whether steps or gates may use it, whether it waits
 * for a person — and optionally a check of a spec against the step or gate
 * that uses it. The runtime's executors implement these descriptions
 * (`runtime/executors/executor.ts`); code outside an executor asks the
 * capabilities instead of testing a kind's name.
 *
 * The kernel's kinds are `command`, `deno`, `fn`, `llm` and `human`
 * ({@linkcode BUILTIN_EXECUTOR_KINDS}); packs register more, by namespaced
 * ids such as `acme/docker`, in a {@linkcode Registry} that
 * {@linkcode executorKinds} creates.
 *
 * @module
 */

import { z } from "zod";
import { Registry } from "../core/registry.ts";
import { relPath } from "./_rel_path.ts";
import type { PathIssue } from "./workflow_definition.ts";
import type { CommandSpec, DenoSpec, FnSpec, HumanSpec, LlmSpec, OutputSpec } from "./workflow.ts";

/** What kind of producer an executor's outputs are recorded with. */
export type RunnerProducerKind = "tool" | "llm" | "human";

/**
 * How an executor confines what it runs: `deno_flags` (Deno's permission
 * flags), `bubblewrap` (a Linux sandbox), `none` (nothing: it runs in the
 * kernel's process, or waits for a person).
 */
export type ConfinementKind = "deno_flags" | "bubblewrap" | "none";

/** Where a kind may be used: as a step's executor, as a gate's runner. */
export type RunnerRole = "step" | "gate";

/** What an executor kind can do, as data the loader and the runtime ask. */
export interface ExecutorCapabilities {
  /** It runs in the kernel's process: its attempts get no scratch dir (no `TMPDIR`). */
  readonly inProcess: boolean;
  /** The producer kind of the outputs (and logs) its attempts leave. */
  readonly producerKind: RunnerProducerKind;
  /** How it confines what it runs. */
  readonly confinement: ConfinementKind;
  /** Where a workflow may use it. */
  readonly roles: readonly RunnerRole[];
  /**
   * It is not run: a gate of this kind waits for a person's decision (after
   * the automated gates) and pauses the run until one is recorded.
   */
  readonly waitsForPerson: boolean;
}

/** The settings of an executor of any kind. */
export interface ExecutorKindSpec {
  /** The kind's id. */
  readonly kind: string;
  /** Working directory relative to the workspace, for kinds that have one. */
  readonly cwd?: string;
}

/** The step or gate a spec belongs to, as a kind's check sees it. */
export interface RunnerOwner {
  /** Whether it is a step or a gate. */
  readonly role: RunnerRole;
  /** Its id. */
  readonly id: string;
  /** Its declared outputs (none for a gate). */
  readonly outputs: Readonly<Record<string, OutputSpec>>;
}

/**
 * A zod schema (classic or mini), typed by the property every zod 4 schema
 * has so this interface does not expose zod's own types.
 */
export interface SpecSchema {
  /** zod's internals. */
  readonly _zod: unknown;
}

/** An executor kind: the description every executor implements. */
export interface ExecutorKind<Spec extends ExecutorKindSpec = ExecutorKindSpec> {
  /** The kind's id: `command`, or a pack's namespaced id such as `acme/docker`. */
  readonly kind: string;
  /**
   * The zod schema of its spec, `kind` included: what `run: { kind, … }` in
   * a workflow is validated against; its output is the spec.
   */
  readonly specSchema: SpecSchema;
  /** What it can do. */
  readonly capabilities: ExecutorCapabilities;
  /**
   * Checks a spec against the step or gate that uses it (e.g. that an
   * `llm` step's `output` is one of its declared outputs).
   *
   * @param spec The spec.
   * @param owner The step or gate.
   * @returns Problems, with paths relative to the step or gate; empty when none.
   */
  check?(spec: Spec, owner: RunnerOwner): PathIssue[];
  /**
   * Describes a spec in a few words for `lily check`'s plan (`command: make test`).
   *
   * @param spec The spec.
   * @returns The description.
   */
  describe?(spec: Spec): string;
}

/** A registry of executor kinds by id. */
export type ExecutorKinds = Registry<ExecutorKind>;

const STEP_AND_GATE: readonly RunnerRole[] = ["step", "gate"];

/** The `command` kind: an argv run as a child process (`command:` and `shell:` in files). */
export const COMMAND_KIND: ExecutorKind<CommandSpec> = {
  kind: "command",
  specSchema: z.strictObject({
    kind: z.literal("command"),
    argv: z.array(z.string()).min(1),
    cwd: relPath.optional(),
    shell: z.boolean().optional(),
  }),
  capabilities: {
    inProcess: false,
    producerKind: "tool",
    confinement: "bubblewrap",
    roles: STEP_AND_GATE,
    waitsForPerson: false,
  },
  describe: (spec) =>
    spec.argv.length === 3 && spec.argv[0] === "sh" && spec.argv[1] === "-c"
      ? `shell: ${spec.argv[2]}`
      : `command: ${spec.argv.join(" ")}`,
};

/** The `deno` kind: a module run in a confined `deno` process. */
export const DENO_KIND: ExecutorKind<DenoSpec> = {
  kind: "deno",
  specSchema: z.strictObject({
    kind: z.literal("deno"),
    module: relPath,
    args: z.array(z.string()).default([]),
    cwd: relPath.optional(),
  }),
  capabilities: {
    inProcess: false,
    producerKind: "tool",
    confinement: "deno_flags",
    roles: STEP_AND_GATE,
    waitsForPerson: false,
  },
  describe: (spec) => `deno: ${[spec.module, ...spec.args].join(" ")}`,
};

/** The `fn` kind: a function called in the kernel's process. */
export const FN_KIND: ExecutorKind<FnSpec> = {
  kind: "fn",
  specSchema: z.strictObject({
    kind: z.literal("fn"),
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, "expected the name of a function"),
  }),
  capabilities: {
    inProcess: true,
    producerKind: "tool",
    confinement: "none",
    roles: STEP_AND_GATE,
    waitsForPerson: false,
  },
  describe: (spec) => `fn: ${spec.name}`,
};

/** The `llm` kind: a language model asked in the kernel's process (steps only). */
export const LLM_KIND: ExecutorKind<LlmSpec> = {
  kind: "llm",
  specSchema: z.strictObject({
    kind: z.literal("llm"),
    model: z.string().min(1),
    messages: z.array(z.strictObject({
      role: z.enum(["system", "user", "assistant"]),
      content: z.string(),
    })),
    output: z.string(),
    json: z.boolean().default(false),
  }),
  capabilities: {
    inProcess: true,
    producerKind: "llm",
    confinement: "none",
    roles: ["step"],
    waitsForPerson: false,
  },
  check: (spec, owner) =>
    spec.output in owner.outputs ? [] : [{
      code: "unknown_output",
      path: ["llm", "output"],
      message: `llm output "${spec.output}" is not a declared output of the step`,
    }],
  describe: (spec) => `llm: ${spec.model}`,
};

/** The `human` kind: a gate that waits for a person's decision (gates only). */
export const HUMAN_KIND: ExecutorKind<HumanSpec> = {
  kind: "human",
  specSchema: z.strictObject({ kind: z.literal("human"), prompt: z.string() }),
  capabilities: {
    inProcess: true,
    producerKind: "human",
    confinement: "none",
    roles: ["gate"],
    waitsForPerson: true,
  },
  describe: () => "human",
};

/** The kernel's executor kinds. */
export const BUILTIN_EXECUTOR_KINDS: readonly ExecutorKind[] = [
  COMMAND_KIND,
  DENO_KIND,
  FN_KIND,
  LLM_KIND,
  HUMAN_KIND,
] as readonly ExecutorKind[];

/**
 * Creates a registry with the kernel's kinds (origin `kernel`) and more.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { executorKinds } from "./executor_kind.ts";
 * const kinds = executorKinds([{
 *   kind: "acme/echo",
 *   specSchema: z.strictObject({ kind: z.literal("acme/echo"), text: z.string() }),
 *   capabilities: {
 *     inProcess: true,
 *     producerKind: "tool",
 *     confinement: "none",
 *     roles: ["step"],
 *     waitsForPerson: false,
 *   },
 * }], { origin: "acme" });
 * console.assert(kinds.entry("acme/echo")?.origin === "acme");
 * console.assert(kinds.entry("command")?.origin === "kernel");
 * ```
 *
 * @param extra Kinds to register beside the kernel's, each under its `kind`.
 * @param options `origin` of the extra kinds (a pack's name).
 * @returns The registry.
 * @throws {UsageError} When a kind is registered twice (the message names both origins).
 */
export function executorKinds(
  extra: Iterable<ExecutorKind> = [],
  options: { readonly origin?: string } = {},
): ExecutorKinds {
  const registry = new Registry<ExecutorKind>({ what: "executor kind" });
  for (const kind of BUILTIN_EXECUTOR_KINDS) {
    registry.register(kind.kind, kind, { origin: "kernel" });
  }
  for (const kind of extra) {
    registry.register(kind.kind, kind, { origin: options.origin ?? "library" });
  }
  return registry;
}
