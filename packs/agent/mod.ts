/**
 * The `agent` pack, shipped with Lily: a coding agent's loop, confined and
 * recorded. `agent/edit` asks the kernel's model for a patch to the files
 * in scope of the work order (given the files as they are and the last
 * failing report), leaving an `agent/patch.v1` (a unified diff and the
 * sha256 of each file it applies to); `agent/apply_patch` applies it,
 * confined to the work order's `constraints.paths`, refusing any other
 * file or a file changed since the patch was made with a
 * `policy_violation.v1`; the route `agent/fix_until_green` sends a failed
 * test gate back to the edit step, its result as `feedback`, at most
 * `rounds` times. See `docs/agent.md`.
 *
 * @example In a workflow
 * ```yaml
 * name: fix-until-green
 * inputs:
 *   work_order: { type: work_order.v1 }
 * steps:
 *   - id: edit
 *     uses: agent/edit
 *     with: { model: gpt-4o-mini }
 *   - id: apply
 *     uses: agent/apply_patch
 *   - id: test
 *     uses: deno/test
 *     needs: [apply]
 * gates:
 *   - id: green
 *     step: test
 *     uses: deno/passed
 *     on_fail: { uses: agent/fix_until_green, with: { rounds: 3 } }
 * ```
 *
 * @module
 */

import { z } from "zod";
import { definePack, routeTemplate, stepTemplate } from "../../pack.ts";
import denoPack from "../deno/mod.ts";
import { agentEditExecutor } from "./edit_executor.ts";
import { agentApplyExecutor } from "./apply_executor.ts";
import { agentPatchSchema } from "./agent_patch.ts";

const stepName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "expected a step id");

/** The `agent` pack. */
export default definePack({
  name: "agent",
  version: "0.1.0",
  lily: "^0.1.0",
  description: "A coding agent's loop: edit with a model, apply in scope, fix until green",
  schemas: {
    "patch.v1": {
      description: "a unified diff and the sha256 of each file it applies to",
      schema: agentPatchSchema,
    },
    "test_report.v1": {
      description: "a test run's report, as deno/test_report.v1 (the form the edit step reads)",
      schema: denoPack.schemas!["test_report.v1"].schema,
    },
  },
  executors: [agentEditExecutor, agentApplyExecutor],
  steps: {
    edit: stepTemplate({
      description:
        "asks the model for a patch to the files in scope of the work order, leaving output patch",
      params: z.strictObject({
        model: z.string().min(1).describe("the model asked (LILY_LLM_MODEL overrides it)"),
        work_order: z.string().default("inputs.work_order").describe(
          "where the work order comes from",
        ),
        system: z.string().min(1).optional().describe("replaces the system message"),
        max_file_bytes: z.int().positive().default(65536).describe("larger files are not shown"),
        max_files: z.int().positive().default(50).describe("at most this many files are shown"),
      }),
      expand: (p) => ({
        run: {
          kind: "agent/edit",
          model: p.model,
          ...(p.system ? { system: p.system } : {}),
          max_file_bytes: p.max_file_bytes,
          max_files: p.max_files,
        },
        inputs: { work_order: p.work_order },
        outputs: { patch: { type: "agent/patch.v1", path: "patch.json" } },
        policy: { write: [], net: [], tools: [] },
      }),
    }),
    apply_patch: stepTemplate({
      description:
        "applies the edit step's patch to the files in scope of the work order, and only to them",
      params: z.strictObject({
        edit: stepName.default("edit").describe("the step whose output patch is applied"),
        work_order: z.string().default("inputs.work_order").describe(
          "where the work order comes from",
        ),
      }),
      expand: (p) => ({
        run: { kind: "agent/apply_patch" },
        inputs: { patch: `steps.${p.edit}.outputs.patch`, work_order: p.work_order },
        policy: { read: ["."], write: ["."], net: [], tools: [] },
      }),
    }),
  },
  routes: {
    fix_until_green: routeTemplate({
      description: "a failed test gate goes back to the edit step, its result as feedback",
      params: z.strictObject({
        edit: stepName.default("edit").describe("the edit step"),
        rounds: z.int().min(1).default(3).describe("at most this many routes back"),
      }),
      expand: (p) => ({ goto: p.edit, max: p.rounds }),
    }),
  },
});
