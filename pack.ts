/**
 * Writing packs: {@linkcode definePack} and the typed template helpers. A
 * pack is a module whose default export is a pack definition; Lily loads
 * the packs shipped in its `packs/` folder and those the workspace's
 * `lily.json` names (`docs/packs.md`).
 *
 * @example A pack with a step template, a gate template and a route template
 * ```ts
 * import { z } from "zod";
 * import { definePack, gateTemplate, routeTemplate, stepTemplate } from "@lily/cli/pack";
 *
 * export default definePack({
 *   name: "acme",
 *   version: "1.0.0",
 *   lily: "^0.1.0",
 *   description: "Acme's steps",
 *   schemas: {
 *     "greeting.v1": { description: "a greeting", schema: z.object({ text: z.string() }) },
 *   },
 *   steps: {
 *     greet: stepTemplate({
 *       description: "writes a greeting",
 *       params: z.strictObject({ name: z.string() }),
 *       expand: (p) => ({
 *         shell: `printf '{"text":"hello %s"}' '${p.name}' > "$LILY_OUTPUT_DIR/greeting.json"`,
 *         outputs: { greeting: { type: "acme/greeting.v1", path: "greeting.json" } },
 *       }),
 *     }),
 *   },
 *   gates: {
 *     nonempty: gateTemplate({
 *       description: "checks the greeting file is not empty",
 *       params: z.strictObject({}),
 *       expand: () => ({ shell: 'test -s "$LILY_INPUT_DIR/greeting"' }),
 *     }),
 *   },
 *   routes: {
 *     again: routeTemplate({
 *       description: "runs a step again, at most n times",
 *       params: z.strictObject({ step: z.string(), n: z.number().int().min(1).default(2) }),
 *       expand: (p) => ({ goto: p.step, max: p.n }),
 *     }),
 *   },
 * });
 * ```
 *
 * @module
 */

export * from "./executors.ts";
export {
  definePack,
  gateTemplate,
  type PackDefinition,
  type PackExecutor,
  type PackIssue,
  type PackSchema,
  type ParamsOf,
  routeTemplate,
  stepTemplate,
  type TemplateInit,
} from "./src/packs/define_pack.ts";
export {
  CONFIG_FILE,
  type LilyConfig,
  lilyConfigJsonSchema,
  parseLilyConfig,
  readLilyConfig,
} from "./src/packs/workspace_config.ts";
export { isVersion, isVersionRange, satisfies } from "./src/packs/version_range.ts";
export { SHIPPED_PACKS, shippedPackUrl } from "./src/packs/pack_sources.ts";
export { type WorkflowTemplates, workflowTemplates } from "./src/graph/workflow_template.ts";
export type {
  GateTemplate,
  GateTemplateOutput,
  RouteTemplate,
  StepTemplate,
  StepTemplateOutput,
  Template,
  TemplateUse,
} from "./src/graph/workflow_template.ts";
export type {
  GateDefinition,
  OnFailDefinition,
  OutputDefinition,
  PolicyDefinition,
  RouteUseDefinition,
  RunnerDefinition,
  StepDefinition,
  TemplateUseDefinition,
} from "./src/graph/workflow_definition.ts";
export type {
  DenoSpec,
  FnContext,
  LlmMessage,
  LlmSpec,
  OutputKind,
  OutputSpec,
  PolicySpec,
  RetryOn,
  StepFunction,
} from "./src/graph/workflow.ts";
export type { JsonValue } from "./src/core/canonical_json.ts";
export type {
  JsonSchemaDocument,
  SchemaSource,
  ZodSchema,
} from "./src/contracts/schema_registry.ts";
