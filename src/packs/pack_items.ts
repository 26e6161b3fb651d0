/**
 * A pack's items as `lily pack show` lists them: each with its namespaced
 * id, what it is, its description, and its JSON Schema (a template's
 * parameters, an executor kind's spec, a schema's values), converted from
 * zod with `z.toJSONSchema`.
 *
 * @module
 */

import { z } from "zod";
import type { ExecutorKind } from "../graph/executor_kind.ts";
import type { Template } from "../graph/workflow_template.ts";
import type { PackDefinition } from "./define_pack.ts";

/** One item of a loaded pack, as `lily pack show` lists it. */
export interface PackItem {
  /** Its namespaced id (`deno/test`). */
  readonly id: string;
  /** What it is. */
  readonly kind: "schema" | "executor" | "step" | "gate" | "route";
  /** What it does. */
  readonly description: string;
  /**
   * The JSON Schema of its parameters (templates), of its spec (executors)
   * or of its values (schemas); `null` when zod cannot express it.
   */
  readonly schema: Record<string, unknown> | null;
}

function jsonSchemaOf(schema: unknown): Record<string, unknown> | null {
  try {
    return z.toJSONSchema(schema as z.ZodType, { io: "input", unrepresentable: "any" }) as Record<
      string,
      unknown
    >;
  } catch {
    return null;
  }
}

/**
 * Lists a pack's items: schemas, executor kinds, then step, gate and
 * route templates, each with its namespaced id, description and schema.
 *
 * @param pack A checked pack definition.
 * @returns Its items.
 */
export function packItems(pack: PackDefinition): PackItem[] {
  const template = (kind: PackItem["kind"], group: Record<string, Template<unknown>> = {}) =>
    Object.entries(group).map(([name, t]) => ({
      id: `${pack.name}/${name}`,
      kind,
      description: t.description,
      schema: jsonSchemaOf(t.params),
    }));
  return [
    ...Object.entries(pack.schemas ?? {}).map(([id, s]) => ({
      id: `${pack.name}/${id}`,
      kind: "schema" as const,
      description: s.description,
      schema: "_zod" in s.schema ? jsonSchemaOf(s.schema) : { ...s.schema },
    })),
    ...(pack.executors ?? []).map((e: ExecutorKind) => ({
      id: e.kind,
      kind: "executor" as const,
      description: (e as { description?: string }).description ?? `executor kind ${e.kind}`,
      schema: jsonSchemaOf(e.specSchema),
    })),
    ...template("step", pack.steps),
    ...template("gate", pack.gates),
    ...template("route", pack.routes),
  ];
}
