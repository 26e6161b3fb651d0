/**
 * A pack: a module whose default export is a pack definition contributing
 * artifact schemas, executor kinds, step templates, gate templates and
 * route templates, each namespaced by the pack's name (`deno/test`,
 * `agent/patch.v1`). {@linkcode definePack} checks a definition and types
 * it; the loader (`pack_loader.ts`) checks it again, as a module may come
 * from another copy of Lily, and registers its items.
 *
 * Items are written with their short names (`test`, `patch.v1`) and
 * registered under `<pack>/<name>`; an executor's `kind` is already the
 * full id and must start with `<pack>/`.
 *
 * @example A pack with a step template
 * ```ts
 * import { z } from "zod";
 * import { definePack, stepTemplate } from "./define_pack.ts";
 *
 * export default definePack({
 *   name: "acme",
 *   version: "1.0.0",
 *   lily: ">=0.1.0",
 *   description: "Acme's steps",
 *   steps: {
 *     echo: stepTemplate({
 *       description: "prints a word",
 *       params: z.strictObject({ word: z.string() }),
 *       expand: (p) => ({ command: ["echo", p.word] }),
 *     }),
 *   },
 * });
 * ```
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { SchemaSource } from "../contracts/schema_registry.ts";
import type {
  GateTemplate,
  GateTemplateOutput,
  RouteTemplate,
  StepTemplate,
  StepTemplateOutput,
  TemplateUse,
} from "../graph/workflow_template.ts";
import type { OnFailDefinition } from "../graph/workflow_definition.ts";
import type { Executor } from "../runtime/executors/executor.ts";
import type { ExecutorKindSpec } from "../graph/executor_kind.ts";
import { isVersion, isVersionRange } from "./version_range.ts";

/** An artifact type a pack contributes. */
export interface PackSchema {
  /** One line saying what values of this type are. */
  readonly description: string;
  /** The zod schema or JSON Schema document its values must match. */
  readonly schema: SchemaSource;
}

/** What a pack contributes, as written in its module. */
export interface PackDefinition {
  /** The pack's name and namespace: a lowercase letter, then lowercase letters, digits, `_` or `-`. */
  readonly name: string;
  /** Its own version (semver `MAJOR.MINOR.PATCH`). */
  readonly version: string;
  /**
   * The Lily versions it works with, as a range (`>=0.1.0 <0.2.0`, `^0.1.0`,
   * `~0.1.2`, `0.1.x`, `*`; `||` between alternatives); a Lily outside it
   * refuses the pack. Absent: any.
   */
  readonly lily?: string;
  /** One line saying what it is for. */
  readonly description?: string;
  /** Artifact types by short id (`test_report.v1`), registered as `<pack>/<id>`. */
  readonly schemas?: Readonly<Record<string, PackSchema>>;
  /** Executor kinds, each with the full id `<pack>/<name>` as its `kind`. */
  // deno-lint-ignore no-explicit-any
  readonly executors?: readonly Executor<any>[];
  /** Step templates by short name, used as `uses: <pack>/<name>` on a step. */
  readonly steps?: Readonly<Record<string, StepTemplate>>;
  /** Gate templates by short name, used as `uses: <pack>/<name>` on a gate. */
  readonly gates?: Readonly<Record<string, GateTemplate>>;
  /** Route templates by short name, used as `on_fail: { uses: <pack>/<name> }`. */
  readonly routes?: Readonly<Record<string, RouteTemplate>>;
  /**
   * An example workflow (YAML text) using the pack, which `lily init --pack
   * <name>` writes; it must run as written in an empty workspace.
   */
  readonly example?: string;
}

/** One problem with a pack, naming the item when it is about one. */
export interface PackIssue {
  /** The item's namespaced id (`deno/test`), or `undefined` for the pack as a whole. */
  readonly item?: string;
  /** What is wrong. */
  readonly reason: string;
}

/** A pack's name: what its items are namespaced by. */
export const PACK_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const ITEM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasStandardSchema(value: unknown): boolean {
  return isRecord(value) && isRecord(value["~standard"]) &&
    typeof value["~standard"].validate === "function";
}

function templateIssues(
  pack: string,
  group: "steps" | "gates" | "routes",
  value: unknown,
): PackIssue[] {
  if (value === undefined) return [];
  if (!isRecord(value)) return [{ reason: `${group}: expected an object of templates by name` }];
  return Object.entries(value).flatMap(([name, template]): PackIssue[] => {
    const item = `${pack}/${name}`;
    if (!ITEM_NAME.test(name)) {
      return [{ item, reason: "expected a name of letters, digits, _, - or ." }];
    }
    if (!isRecord(template)) return [{ item, reason: "expected a template object" }];
    const problems: string[] = [];
    if (typeof template.description !== "string" || template.description.trim() === "") {
      problems.push("expected a description");
    }
    if (!hasStandardSchema(template.params)) problems.push("expected params to be a zod schema");
    if (typeof template.expand !== "function") problems.push("expected an expand function");
    return problems.map((reason) => ({ item, reason }));
  });
}

function schemaIssues(pack: string, value: unknown): PackIssue[] {
  if (value === undefined) return [];
  if (!isRecord(value)) return [{ reason: "schemas: expected an object of schemas by id" }];
  return Object.entries(value).flatMap(([id, entry]): PackIssue[] => {
    const item = `${pack}/${id}`;
    if (!/^[a-z][a-z0-9_]*\.v[1-9][0-9]*$/.test(id)) {
      return [{ item, reason: "expected a schema id such as report.v1" }];
    }
    if (!isRecord(entry) || typeof entry.description !== "string" || !isRecord(entry.schema)) {
      return [{ item, reason: "expected { description, schema }" }];
    }
    return [];
  });
}

function executorIssues(pack: string, value: unknown): PackIssue[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [{ reason: "executors: expected a list of executors" }];
  return value.flatMap((executor, i): PackIssue[] => {
    if (!isRecord(executor) || typeof executor.kind !== "string") {
      return [{ reason: `executors[${i}]: expected an executor with a kind` }];
    }
    const item = executor.kind;
    if (!item.startsWith(`${pack}/`) || !ITEM_NAME.test(item.slice(pack.length + 1))) {
      return [{ item, reason: `expected the kind to be ${pack}/<name>` }];
    }
    const problems: string[] = [];
    if (typeof executor.execute !== "function") problems.push("expected an execute function");
    if (!isRecord(executor.specSchema)) problems.push("expected a specSchema (zod)");
    const caps = executor.capabilities;
    if (!isRecord(caps) || !Array.isArray(caps.roles)) {
      problems.push("expected capabilities with roles");
    }
    return problems.map((reason) => ({ item, reason }));
  });
}

/**
 * Checks a value as a pack definition (it may come from any module).
 *
 * @param value The module's export.
 * @returns Every problem, each naming its item; empty when it is a valid pack.
 */
export function packIssues(value: unknown): PackIssue[] {
  if (!isRecord(value)) return [{ reason: "expected a pack definition object (definePack)" }];
  const name = value.name;
  if (typeof name !== "string" || !PACK_NAME.test(name)) {
    return [{
      reason: `name ${JSON.stringify(name)}: expected a lowercase letter, then lowercase ` +
        "letters, digits, _ or - (at most 32)",
    }];
  }
  const issues: PackIssue[] = [];
  if (typeof value.version !== "string" || !isVersion(value.version)) {
    issues.push({
      reason: `version ${JSON.stringify(value.version)}: expected semver such as 1.0.0`,
    });
  }
  if (value.example !== undefined && typeof value.example !== "string") {
    issues.push({ reason: "example: expected the YAML text of a workflow" });
  }
  if (value.lily !== undefined && (typeof value.lily !== "string" || !isVersionRange(value.lily))) {
    issues.push({ reason: `lily ${JSON.stringify(value.lily)}: expected a range such as ^0.1.0` });
  }
  return [
    ...issues,
    ...schemaIssues(name, value.schemas),
    ...executorIssues(name, value.executors),
    ...templateIssues(name, "steps", value.steps),
    ...templateIssues(name, "gates", value.gates),
    ...templateIssues(name, "routes", value.routes),
  ];
}

/**
 * Checks and freezes a pack definition: the value a pack module exports
 * as its default.
 *
 * @param definition The pack.
 * @returns The same definition, frozen.
 * @throws {UsageError} Naming every problem, each with its item.
 */
export function definePack<const D extends PackDefinition>(definition: D): Readonly<D> {
  const issues = packIssues(definition);
  if (issues.length > 0) {
    throw new UsageError(
      `Invalid pack ${JSON.stringify(definition.name)}: ` +
        issues.map((i) => (i.item ? `${i.item}: ${i.reason}` : i.reason)).join("; "),
    );
  }
  return Object.freeze(definition);
}

/** The output type of a zod (Standard Schema) schema. */
export type ParamsOf<S> = S extends { readonly "~standard": { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly output: infer O } ? O : unknown
  : unknown;

/** A template as written for {@linkcode stepTemplate} and its siblings: `expand` typed by `params`. */
export interface TemplateInit<S, Out> {
  /** One line saying what it does. */
  readonly description: string;
  /** The zod schema of `with: {…}`. */
  readonly params: S;
  /**
   * Expands validated parameters (pure).
   *
   * @param params The parameters, as the schema's output.
   * @param use The step or gate that uses it.
   * @returns The fields it contributes.
   */
  expand(params: ParamsOf<S>, use: TemplateUse): Out;
}

/**
 * Types a step template: `expand` gets `params`' output type.
 *
 * @param init The description, the parameter schema and the expansion.
 * @returns The template.
 */
export function stepTemplate<S extends { readonly _zod: unknown }>(
  init: TemplateInit<S, StepTemplateOutput>,
): StepTemplate<ParamsOf<S>> {
  return init;
}

/**
 * Types a gate template: `expand` gets `params`' output type.
 *
 * @param init The description, the parameter schema and the expansion.
 * @returns The template.
 */
export function gateTemplate<S extends { readonly _zod: unknown }>(
  init: TemplateInit<S, GateTemplateOutput>,
): GateTemplate<ParamsOf<S>> {
  return init;
}

/**
 * Types a route template: `expand` gets `params`' output type and returns
 * the route (`goto`, `max`).
 *
 * @param init The description, the parameter schema and the expansion.
 * @returns The template.
 */
export function routeTemplate<S extends { readonly _zod: unknown }>(
  init: TemplateInit<S, OnFailDefinition>,
): RouteTemplate<ParamsOf<S>> {
  return init;
}

/** An executor a pack contributes (the runtime's executor interface). */
export type PackExecutor<Spec extends ExecutorKindSpec = ExecutorKindSpec> = Executor<Spec>;
