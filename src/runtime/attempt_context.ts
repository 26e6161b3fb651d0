/**
 * One place where an attempt's execution context is built, for steps and
 * gates alike: its inputs copied in, its working directory, its
 * environment subset and `LILY_*` variables, and its confinement — the
 * workflow's and the step's (or gate's) policy resolved against the
 * workspace, as data the executors enforce.
 *
 * @module
 */

import type { Redactor } from "../core/redaction.ts";
import type { GateSpec, StepSpec, Workflow } from "../graph/workflow.ts";
import {
  type Confinement,
  confinementFor,
  type ConfinementMode,
  effectivePolicy,
} from "../policy/policy_model.ts";
import type { Store } from "../store/store.ts";
import {
  type AttemptDirs,
  attemptEnv,
  inputEnvName,
  materializeInputs,
  resolveStepCwd,
} from "./attempt_workspace.ts";
import type { ExecutionContext, OnAccess } from "./executors/executor.ts";

/** What {@linkcode attemptConfinement} needs. */
export interface AttemptConfinementOptions {
  /** The workspace root. */
  readonly workspace: string;
  /** `sandbox`, or `none` for a run started with `--no-sandbox`. */
  readonly mode: ConfinementMode;
  /** The workflow file relative to the workspace, when the run was started from one in it. */
  readonly workflowPath?: string | null;
}

/**
 * The confinement of a step or a gate: the workflow's policy, replaced
 * field by field by its own, resolved against the workspace.
 *
 * @param workflow The workflow (its top-level policy).
 * @param subject The step or the gate.
 * @param options The workspace, the mode and the workflow file.
 * @returns The confinement.
 */
export function attemptConfinement(
  workflow: Workflow,
  subject: { readonly kind: "step"; readonly spec: StepSpec } | {
    readonly kind: "gate";
    readonly spec: GateSpec;
  },
  options: AttemptConfinementOptions,
): Confinement {
  const spec = subject.spec;
  const runner = subject.kind === "step" ? subject.spec.executor : subject.spec.runner;
  return confinementFor(
    effectivePolicy(workflow.policy, spec.policy, { gate: subject.kind === "gate" }),
    {
      workspace: options.workspace,
      mode: options.mode,
      workflowFile: options.workflowPath ?? undefined,
      // A spec written as `shell:` runs through sh, whatever its kind.
      shell: (runner as { readonly shell?: unknown }).shell === true,
    },
  );
}

/** What {@linkcode buildAttemptContext} needs. */
export interface AttemptContextOptions {
  /** The run. */
  readonly runId: string;
  /** The step's id, or the gate's. */
  readonly subjectId: string;
  /** The attempt number (a gate's is its step's). */
  readonly attempt: number;
  /** The attempt's staging dirs. */
  readonly dirs: AttemptDirs;
  /** Inputs by name → artifact id. */
  readonly inputIds: Readonly<Record<string, string>>;
  /** The runner's `cwd`, relative to the workspace. */
  readonly cwd?: string;
  /** Declared outputs. */
  readonly outputs: ExecutionContext["outputs"];
  /** The kernel's environment. */
  readonly kernelEnv: Readonly<Record<string, string>>;
  /** Names the step passes through (`env_pass`). */
  readonly envPass: readonly string[];
  /** Values the step or gate sets. */
  readonly envSet: Readonly<Record<string, string>>;
  /** `LILY_*` values beyond the common ones (e.g. `LILY_GATE_ID`, `LILY_STEP_ID`). */
  readonly lily: Readonly<Record<string, string>>;
  /** Per-attempt time limit in ms. */
  readonly timeoutMs?: number;
  /** Aborted when the run is cancelled. */
  readonly signal: AbortSignal;
  /** The attempt's confinement. */
  readonly confinement: Confinement;
  /** Told what the attempt was granted and its permission decisions (for the access journal). */
  readonly onAccess?: OnAccess;
  /** The run's redactor, handed to the executor for the attempt's logs. */
  readonly redactor?: Redactor;
  /** The kernel's `llm` executor, handed to executors that ask a model. */
  readonly llm?: ExecutionContext["llm"];
}

/**
 * Builds an attempt's execution context: inputs copied in (read-only,
 * checked against their hashes), the working directory resolved inside the
 * workspace, the environment (base names, `env_pass`, the policy's `env`
 * names, the step's own values, then `LILY_*`), and the confinement.
 *
 * @param store The store.
 * @param options The attempt.
 * @returns The context.
 * @throws {IntegrityError} When an input's payload does not match its hash.
 * @throws {PathSecurityError} When the `cwd` resolves outside the workspace.
 */
export async function buildAttemptContext(
  store: Store,
  options: AttemptContextOptions,
): Promise<ExecutionContext> {
  const { dirs } = options;
  const workspace = store.workspace;
  const inputs = await materializeInputs(store, dirs.inputDir, options.inputIds);
  return {
    runId: options.runId,
    stepId: options.subjectId,
    attempt: options.attempt,
    workspace,
    cwd: resolveStepCwd(workspace, options.cwd),
    outputDir: dirs.outputDir,
    inputDir: dirs.inputDir,
    scratchDir: dirs.scratchDir,
    inputs,
    outputs: options.outputs,
    env: attemptEnv({
      kernelEnv: options.kernelEnv,
      pass: [...options.envPass, ...options.confinement.env],
      set: options.envSet,
      lily: {
        LILY_RUN_ID: options.runId,
        ...options.lily,
        LILY_ATTEMPT: String(options.attempt),
        LILY_WORKSPACE: workspace,
        LILY_OUTPUT_DIR: dirs.outputDir,
        LILY_INPUT_DIR: dirs.inputDir,
        TMPDIR: dirs.scratchDir,
        ...Object.fromEntries(Object.values(inputs).map((i) => [inputEnvName(i.name), i.path])),
      },
    }),
    stdoutPath: dirs.stdoutPath,
    stderrPath: dirs.stderrPath,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    confinement: options.confinement,
    ...(options.onAccess ? { onAccess: options.onAccess } : {}),
    ...(options.redactor ? { redactor: options.redactor } : {}),
    ...(options.llm ? { llm: options.llm } : {}),
  };
}
