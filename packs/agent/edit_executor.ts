/**
 * The `agent/edit` executor kind: asks the kernel's model for a patch. It
 * reads the work order (input `work_order`), the text files in scope of it
 * in the workspace as they are now, and the failing record a route handed
 * it (input `feedback`, absent on the first round); sends them through the
 * kernel's `llm` executor (so the provider, the fake's script, timeouts and
 * the stored `llm_request.v1`/`llm_reply.v1` are an `llm` step's); and
 * turns the reply into an `agent/patch.v1`: the diff and the sha256 of each
 * file it applies to, as read before the request. A reply that is not a
 * unified diff applying cleanly to those files fails the attempt, naming
 * what is wrong. It writes nothing in the workspace.
 *
 * @module
 */

import { z } from "zod";
import { join } from "node:path";
import type {
  ExecutionContext,
  ExecutionResult,
  Executor,
  LlmMessage,
  LlmSpec,
  MaterializedInput,
} from "../../pack.ts";
import type { AgentPatch } from "./agent_patch.ts";
import { EDIT_SYSTEM, editMessages, feedbackText } from "./edit_prompt.ts";
import { type PatchBase, ScopeError, scopeOf, sha256Text } from "./patch_scope.ts";
import {
  applyUnifiedDiff,
  basePaths,
  diffOfReply,
  parseUnifiedDiff,
  PatchError,
} from "./unified_patch.ts";
import { readScopeFiles, readWorkspaceText, visible } from "./workspace_files.ts";

/** The settings of an `agent/edit` step. */
export interface AgentEditSpec {
  /** The executor kind. */
  readonly kind: "agent/edit";
  /** The model asked (`LILY_LLM_MODEL` overrides it for the HTTP providers). */
  readonly model: string;
  /** The system message; by default {@linkcode EDIT_SYSTEM}. */
  readonly system?: string;
  /** The input holding the work order. */
  readonly work_order: string;
  /** The declared output receiving the patch. */
  readonly output: string;
  /** Files in scope larger than this many bytes are not shown. */
  readonly max_file_bytes: number;
  /** At most this many files in scope are shown. */
  readonly max_files: number;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

function failed(
  message: string,
  summary: Record<string, unknown>,
  from?: ExecutionResult,
): ExecutionResult {
  return { ...from, status: "failed", exitCode: null, message, summary };
}

/** The base of every file the patch changes, and the texts it applies to. */
async function bases(
  ctx: ExecutionContext,
  diff: string,
): Promise<PatchBase[]> {
  const changes = parseUnifiedDiff(diff);
  const texts = new Map<string, string | null>();
  for (const path of basePaths(changes).keys()) {
    if (!visible(ctx.confinement, path)) {
      throw new PatchError(`The diff changes ${path}, which this step may not read`);
    }
    texts.set(path, await readWorkspaceText(ctx.workspace, path));
  }
  applyUnifiedDiff(changes, texts);
  return [...texts].map(([path, text]) => ({
    path,
    base_sha256: text === null ? null : sha256Text(text),
  }));
}

const PLACEHOLDER = /\{\{\s*inputs\.([^{}\s]+)\s*\}\}/g;

/**
 * Inputs that fill each `{{inputs.NAME}}` in the messages with itself, so
 * the `llm` executor sends the files' text as it is (its placeholders are
 * for a workflow's own prompts, and the messages here are already filled).
 */
async function literalInputs(
  messages: readonly LlmMessage[],
  dir: string,
): Promise<Record<string, MaterializedInput>> {
  const inputs: Record<string, MaterializedInput> = {};
  for (const message of messages) {
    for (const [, name] of message.content.matchAll(PLACEHOLDER)) {
      if (Object.hasOwn(inputs, name)) continue;
      await Deno.mkdir(dir, { recursive: true });
      const path = join(dir, `${Object.keys(inputs).length}.txt`);
      await Deno.writeTextFile(path, `{{inputs.${name}}}`);
      inputs[name] = { name, artifactId: "", artifactType: "text", path, sha256: "" };
    }
  }
  return inputs;
}

async function readInput(ctx: ExecutionContext, name: string): Promise<string | undefined> {
  const input = ctx.inputs[name];
  return input === undefined ? undefined : await Deno.readTextFile(input.path);
}

/** Asks for a patch; see the module doc. */
export const agentEditExecutor: Executor<AgentEditSpec> & { readonly description: string } = {
  kind: "agent/edit",
  description: "asks the kernel's model for a patch to the files in scope of the work order",
  specSchema: z.strictObject({
    kind: z.literal("agent/edit"),
    model: z.string().min(1),
    system: z.string().min(1).optional(),
    work_order: z.string().regex(NAME).default("work_order"),
    output: z.string().regex(NAME).default("patch"),
    max_file_bytes: z.int().positive().default(65536),
    max_files: z.int().positive().default(50),
  }),
  capabilities: {
    inProcess: true,
    producerKind: "llm",
    confinement: "none",
    roles: ["step"],
    waitsForPerson: false,
  },
  check: (spec, owner) =>
    Object.hasOwn(owner.outputs, spec.output) ? [] : [{
      code: "unknown_output",
      path: ["run", "output"],
      message: `output ${spec.output} is not a declared output; expected outputs.${spec.output}`,
    }],
  describe: (spec) => `agent/edit: ${spec.model} → ${spec.output}`,
  async execute(spec: AgentEditSpec, ctx: ExecutionContext): Promise<ExecutionResult> {
    const summary: Record<string, unknown> = { executor: "agent/edit", model: spec.model };
    if (ctx.llm === undefined) {
      return failed("agent/edit needs the kernel's llm executor, and none is registered", summary);
    }
    const orderText = await readInput(ctx, spec.work_order);
    if (orderText === undefined) {
      return failed(`agent/edit has no input ${spec.work_order} (the work order)`, summary);
    }
    const workOrder = JSON.parse(orderText) as Record<string, unknown>;
    let scope: string[];
    try {
      scope = scopeOf(workOrder);
    } catch (err) {
      if (err instanceof ScopeError) return failed(err.message, summary);
      throw err;
    }
    const { files, skipped } = await readScopeFiles(ctx.confinement, scope, {
      maxFileBytes: spec.max_file_bytes,
      maxFiles: spec.max_files,
    });
    const feedback = ctx.inputs.feedback;
    const messages = editMessages({
      workOrder,
      scope,
      files,
      skipped,
      feedback: feedback
        ? feedbackText(feedback.artifactType, await readInput(ctx, "feedback") ?? "")
        : null,
      system: spec.system ?? EDIT_SYSTEM,
    });
    summary.files_shown = files.map((f) => f.path);
    summary.feedback = feedback?.artifactId ?? null;
    const replyDir = join(ctx.scratchDir, "reply");
    const asked: LlmSpec = {
      kind: "llm",
      model: spec.model,
      messages,
      output: "reply",
      json: false,
    };
    const reply = await ctx.llm.execute(asked, {
      ...ctx,
      inputs: await literalInputs(messages, join(ctx.scratchDir, "literal")),
      outputDir: replyDir,
      outputs: { reply: { type: "agent/reply", path: "reply.txt", kind: "text", required: true } },
    });
    const own = { ...reply.summary, ...summary };
    if (reply.status !== "succeeded") return { ...reply, summary: own };
    let patch: AgentPatch;
    try {
      const diff = diffOfReply(await Deno.readTextFile(join(replyDir, "reply.txt")));
      patch = { diff, files: await bases(ctx, diff) };
    } catch (err) {
      if (!(err instanceof PatchError)) throw err;
      return failed(
        `The reply of model "${spec.model}" is not a patch to apply: ${err.message}`,
        own,
        reply,
      );
    }
    const out = ctx.outputs[spec.output];
    await Deno.writeTextFile(join(ctx.outputDir, out.path), JSON.stringify(patch, null, 2));
    return { ...reply, summary: { ...own, patched: patch.files.map((f) => f.path) } };
  },
};
