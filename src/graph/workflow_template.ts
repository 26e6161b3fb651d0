/**
 * Templates a workflow uses by name (`uses: deno/test` with `with: {…}`):
 * step templates and gate templates expand their parameters into the
 * fields of a step or gate as written (a runner, outputs, a policy…), and
 * route templates expand theirs into an `on_fail` route. Each declares the
 * schema of its parameters; `with` is validated against it before the
 * template expands, and its issues carry the file's lines like every other
 * workflow error.
 *
 * Packs register templates under namespaced ids (`deno/test`) in the
 * registries {@linkcode workflowTemplates} creates; the kernel has none.
 *
 * @example A step template, expanded by a workflow
 * ```ts
 * import { z } from "zod";
 * import { workflowTemplates } from "./workflow_template.ts";
 * import { defineWorkflow } from "./workflow_loader.ts";
 *
 * const templates = workflowTemplates();
 * templates.steps.register("acme/echo", {
 *   description: "prints a word",
 *   params: z.strictObject({ word: z.string() }),
 *   expand: (p: { word: string }) => ({ command: ["echo", p.word] }),
 * }, { origin: "acme" });
 * const graph = defineWorkflow({
 *   name: "hello",
 *   steps: [{ id: "say", uses: "acme/echo", with: { word: "hi" } }],
 * }, { templates });
 * console.assert(graph.steps[0].template?.uses === "acme/echo");
 * ```
 *
 * @module
 */

import { Registry } from "../core/registry.ts";
import type { RunnerRole, SpecSchema } from "./executor_kind.ts";
import type { GateDefinition, OnFailDefinition, StepDefinition } from "./workflow_definition.ts";

/** Where a template is used, as its `expand` sees it. */
export interface TemplateUse {
  /** A step or a gate (a route's owner, for route templates). */
  readonly role: RunnerRole;
  /** The id of the step or gate. */
  readonly id: string;
  /** For a gate, the step it checks. */
  readonly step?: string;
}

/** The fields of a step a step template fills (everything but its id). */
export type StepTemplateOutput = Omit<StepDefinition, "id" | "uses" | "with">;

/** The fields of a gate a gate template fills (everything but its id and step). */
export type GateTemplateOutput = Omit<GateDefinition, "id" | "step" | "uses" | "with">;

/**
 * A template: its description, the zod schema (any Standard Schema) of its
 * parameters, and how it expands them. `expand` is pure: it gets the
 * parameters as the schema's output and returns plain data.
 */
export interface Template<Out, Params = never> {
  /** One line saying what it does (`lily pack show`). */
  readonly description: string;
  /** The schema `with: {…}` is validated against; its output is what `expand` gets. */
  readonly params: SpecSchema;
  /**
   * Expands validated parameters.
   *
   * @param params The parameters, as the schema's output.
   * @param use The step or gate that uses it.
   * @returns The fields it contributes.
   */
  expand(params: Params, use: TemplateUse): Out;
}

/** A step template: expands into a step's fields (runner, outputs, policy…). */
// deno-lint-ignore no-explicit-any
export type StepTemplate<Params = any> = Template<StepTemplateOutput, Params>;

/** A gate template: expands into a gate's fields (runner, policy…). */
// deno-lint-ignore no-explicit-any
export type GateTemplate<Params = any> = Template<GateTemplateOutput, Params>;

/** A route template: expands into an `on_fail` route (`goto`, `max`). */
// deno-lint-ignore no-explicit-any
export type RouteTemplate<Params = any> = Template<OnFailDefinition, Params>;

/** The templates a workflow may use, by namespaced id, and why some namespaces have none. */
export interface WorkflowTemplates {
  /** Step templates (`uses:` on a step). */
  readonly steps: Registry<StepTemplate>;
  /** Gate templates (`uses:` on a gate). */
  readonly gates: Registry<GateTemplate>;
  /** Route templates (`uses:` in an `on_fail`). */
  readonly routes: Registry<RouteTemplate>;
  /**
   * Namespaces whose pack failed to load, with the reason: an id in one of
   * them is reported with that reason rather than as unknown.
   */
  readonly unavailable: ReadonlyMap<string, string>;
}

/**
 * Creates empty template registries.
 *
 * @param unavailable Namespaces whose pack failed to load, with the reason.
 * @returns The registries.
 */
export function workflowTemplates(
  unavailable: ReadonlyMap<string, string> = new Map(),
): WorkflowTemplates {
  return {
    steps: new Registry<StepTemplate>({ what: "step template" }),
    gates: new Registry<GateTemplate>({ what: "gate template" }),
    routes: new Registry<RouteTemplate>({ what: "route template" }),
    unavailable,
  };
}

/**
 * Why an id is not registered, in words: its pack failed to load (with the
 * reason), or it is unknown (with the known ids).
 *
 * @param what What it names (`step template`, `executor kind`).
 * @param id The id.
 * @param options The known ids and the namespaces whose pack failed.
 * @returns The message.
 */
export function unknownIdMessage(
  what: string,
  id: string,
  options: { readonly known: readonly string[]; readonly unavailable: ReadonlyMap<string, string> },
): string {
  const namespace = id.includes("/") ? id.slice(0, id.indexOf("/")) : undefined;
  const failed = namespace === undefined ? undefined : options.unavailable.get(namespace);
  if (failed !== undefined) {
    return `${what} "${id}" is unavailable: pack ${namespace} failed to load: ${failed}`;
  }
  const known = options.known.join(", ");
  return `unknown ${what} "${id}"; registered: ${known || "none"}`;
}
