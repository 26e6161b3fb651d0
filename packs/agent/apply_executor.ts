/**
 * The `agent/apply_patch` executor kind: applies an `agent/patch.v1` (input
 * `patch`) to the workspace, confined to the files in scope of the work
 * order (input `work_order`, its `constraints.paths`).
 *
 * Before anything is written the whole patch is judged: a file outside the
 * scope, or one whose sha256 now differs from the base the patch recorded
 * (it changed since the patch was made), refuses the patch with one
 * `policy_violation.v1` per file (kind `write`, decided by `kernel`), and
 * nothing is written; a hunk that does not apply fails the attempt. Then
 * the writes are made by a separate `deno` process run by Lily's `deno`
 * executor under the step's confinement narrowed to the scope: Deno's
 * permission flags and the kernel's permission broker (and bubblewrap
 * unless `--no-sandbox`) let it write only the files in scope, and any
 * other write is refused and recorded as a violation decided by `broker`.
 *
 * @module
 */

import { z } from "zod";
import { join, relative } from "node:path";
import {
  type Confinement,
  DenoExecutor,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  type OnSpawn,
  type PolicyViolation,
} from "../../executors.ts";
import { type AgentPatch, agentPatchSchema } from "./agent_patch.ts";
import {
  baseMismatches,
  inScope,
  mismatchMessage,
  ScopeError,
  scopeOf,
  sha256Text,
} from "./patch_scope.ts";
import {
  applyUnifiedDiff,
  basePaths,
  parseUnifiedDiff,
  PatchError,
  touchedPaths,
} from "./unified_patch.ts";
import { readWorkspaceText } from "./workspace_files.ts";

/** The settings of an `agent/apply_patch` step. */
export interface AgentApplySpec {
  /** The executor kind. */
  readonly kind: "agent/apply_patch";
  /** The input holding the `agent/patch.v1`. */
  readonly patch: string;
  /** The input holding the work order. */
  readonly work_order: string;
}

/** The module the confined writer runs: a plan file of `{ path, text }` (text `null`: remove). */
const WRITER = `const plan = JSON.parse(await Deno.readTextFile(Deno.args[0]));
for (const { path, text, dir } of plan) {
  if (text === null) { await Deno.remove(path); continue; }
  if (dir !== null) await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(path, text);
  console.log("wrote " + path);
}
`;

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/**
 * The confinement narrowed to the scope: writable are the scope entries the
 * step's policy lets it write, and the policy's writable paths inside them.
 *
 * @param confinement The step's confinement.
 * @param scope The scope entries.
 * @returns The same confinement with `write` narrowed.
 */
export function narrowToScope(confinement: Confinement, scope: readonly string[]): Confinement {
  const entries = scope.map((s) =>
    s === "." ? confinement.workspace : join(confinement.workspace, s)
  );
  const write = new Set<string>();
  for (const entry of entries) {
    if (confinement.write.some((w) => isWithin(entry, w))) write.add(entry);
    for (const w of confinement.write) if (isWithin(w, entry)) write.add(w);
  }
  return { ...confinement, write: [...write] };
}

function refused(
  violations: PolicyViolation[],
  summary: Record<string, unknown>,
): ExecutionResult {
  return {
    status: "failed",
    exitCode: null,
    message: `Policy violation: ${violations.map((v) => v.message).join("; ")}`,
    summary,
    violations,
  };
}

function failed(message: string, summary: Record<string, unknown>): ExecutionResult {
  return { status: "failed", exitCode: null, message, summary };
}

/** An input that is not what the step needs; `message` names it. */
class InputError extends Error {}

async function readInput(ctx: ExecutionContext, name: string): Promise<unknown> {
  const input = ctx.inputs[name];
  if (input === undefined) throw new InputError(`agent/apply_patch has no input ${name}`);
  return JSON.parse(await Deno.readTextFile(input.path));
}

async function readPatch(ctx: ExecutionContext, name: string): Promise<AgentPatch> {
  const parsed = agentPatchSchema.safeParse(await readInput(ctx, name));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InputError(
    `The input ${name} is not an agent/patch.v1: ${
      issue.path.join(".") || "(root)"
    }: ${issue.message}`,
  );
}

/** What the patch refuses to do, as violations (nothing is written when there is one). */
async function judge(
  ctx: ExecutionContext,
  patch: AgentPatch,
  scope: readonly string[],
): Promise<{ violations: PolicyViolation[]; texts: Map<string, string | null> }> {
  const changes = parseUnifiedDiff(patch.diff);
  const narrowed = narrowToScope(ctx.confinement, scope);
  const violations: PolicyViolation[] = touchedPaths(changes)
    .filter((p) =>
      !inScope(p, scope) || !narrowed.write.some((w) => isWithin(join(ctx.workspace, p), w))
    )
    .map((p) => ({
      kind: "write",
      target: join(ctx.workspace, p),
      decidedBy: "kernel",
      message: inScope(p, scope)
        ? `agent/apply_patch refused to write ${p}: its policy does not let it write there`
        : `agent/apply_patch refused to write ${p}: outside the work order's scope (${
          scope.join(", ")
        })`,
    }));
  const texts = new Map<string, string | null>();
  for (const path of basePaths(changes).keys()) {
    texts.set(path, await readWorkspaceText(ctx.workspace, path));
  }
  const recorded = new Map(patch.files.map((f) => [f.path, f]));
  const missing = [...texts.keys()].filter((p) => !recorded.has(p));
  if (missing.length > 0) {
    throw new PatchError(`The patch records no base sha256 for ${missing.join(", ")}`);
  }
  const now = new Map([...texts].map(([p, t]) => [p, t === null ? null : sha256Text(t)]));
  for (const mismatch of baseMismatches(patch.files, now)) {
    violations.push({
      kind: "write",
      target: join(ctx.workspace, mismatch.path),
      decidedBy: "kernel",
      message: `agent/apply_patch refused to write ${mismatchMessage(mismatch)}`,
    });
  }
  applyUnifiedDiff(changes, texts);
  return { violations, texts };
}

/** Applies a patch in scope; see the module doc. */
export const agentApplyExecutor: Executor<AgentApplySpec> & { readonly description: string } = {
  kind: "agent/apply_patch",
  description:
    "applies an agent/patch.v1 to the files in scope of the work order, confined to them",
  specSchema: z.strictObject({
    kind: z.literal("agent/apply_patch"),
    patch: z.string().regex(NAME).default("patch"),
    work_order: z.string().regex(NAME).default("work_order"),
  }),
  capabilities: {
    inProcess: false,
    producerKind: "tool",
    confinement: "deno_flags",
    roles: ["step"],
    waitsForPerson: false,
  },
  describe: (spec) => `agent/apply_patch: ${spec.patch} within ${spec.work_order}'s scope`,
  async execute(spec: AgentApplySpec, ctx: ExecutionContext, onSpawn?: OnSpawn) {
    const summary: Record<string, unknown> = { executor: "agent/apply_patch" };
    let scope: string[];
    let patch: AgentPatch;
    let after: Map<string, string | null>;
    try {
      scope = scopeOf(await readInput(ctx, spec.work_order));
      patch = await readPatch(ctx, spec.patch);
      summary.scope = scope;
      const judged = await judge(ctx, patch, scope);
      if (judged.violations.length > 0) return refused(judged.violations, summary);
      after = applyUnifiedDiff(parseUnifiedDiff(patch.diff), judged.texts);
    } catch (err) {
      if (err instanceof ScopeError || err instanceof PatchError) {
        return failed(err.message, summary);
      }
      throw err;
    }
    const plan = [...after].map(([path, text]) => {
      const abs = join(ctx.workspace, path);
      const dir = abs.slice(0, abs.lastIndexOf("/"));
      return { path: abs, text, dir: text === null ? null : dir };
    });
    for (const step of plan) {
      if (step.dir !== null && await Deno.stat(step.dir).then(() => true, () => false)) {
        step.dir = null;
      }
    }
    const writer = join(ctx.scratchDir, "apply_patch_writer.ts");
    const planFile = join(ctx.scratchDir, "apply_patch_plan.json");
    await Deno.writeTextFile(writer, WRITER);
    await Deno.writeTextFile(planFile, JSON.stringify(plan));
    const result = await new DenoExecutor().execute(
      { kind: "deno", module: relative(ctx.workspace, writer), args: [planFile] },
      { ...ctx, confinement: narrowToScope(ctx.confinement, scope) },
      onSpawn,
    );
    const files = [...after.keys()];
    return {
      ...result,
      summary: { ...result.summary, ...summary, executor: "agent/apply_patch", files },
      ...(result.status === "succeeded" ? { message: `applied to ${files.join(", ")}` } : {}),
    };
  },
};
