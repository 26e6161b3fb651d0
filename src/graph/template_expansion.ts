/**
 * Expands the templates a workflow definition uses, before it is checked
 * against the workflow schema: a step or gate with `uses: ID` gets the
 * fields the template expands its validated `with` into, and an `on_fail`
 * with `uses: ID` becomes the route its template expands into.
 *
 * What is written beside `uses` wins over what the template gives:
 * `inputs`, `outputs`, `env` and `policy` are merged key by key (the
 * written key wins), `needs` and `env_pass` are joined, every other field
 * written replaces the template's. A runner (`command`, `shell`, `deno`,
 * `fn`, `llm`, `human`, `run`) comes only from the template. `uses` and
 * `with` stay in the definition, so the checked step records which
 * template made it.
 *
 * @module
 */

import type { IssuePath } from "../core/issue.ts";
import type { PathIssue } from "./workflow_definition.ts";
import {
  type Template,
  type TemplateUse,
  unknownIdMessage,
  type WorkflowTemplates,
} from "./workflow_template.ts";
import type { Registry } from "../core/registry.ts";

/** The keys that give a step or gate its runner; a template gives it. */
const RUNNER_KEYS = ["command", "shell", "deno", "fn", "llm", "human", "run"];
/** Written keys merged key by key into the template's. */
const MERGED = new Set(["inputs", "outputs", "env", "policy"]);
/** Written lists joined with the template's. */
const JOINED = new Set(["needs", "env_pass"]);

/** A definition with its templates expanded, and which template gave each step's or gate's fields. */
export interface ExpandedDefinition {
  /** The definition, templates expanded (`uses` and `with` kept). */
  readonly definition: unknown;
  /** `steps.0` or `gates.1` → the template id its fields came from. */
  readonly origins: ReadonlyMap<string, string>;
}

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

interface StandardResult {
  readonly value?: unknown;
  readonly issues?: readonly {
    readonly message: string;
    readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[];
  }[];
}

/** Validates with the Standard Schema interface every zod 4 schema has. */
function validateParams(
  template: Template<unknown, unknown>,
  value: unknown,
  base: IssuePath,
): { ok: true; value: unknown } | { ok: false; issues: PathIssue[] } {
  const standard = (template.params as { "~standard"?: { validate(v: unknown): unknown } })[
    "~standard"
  ];
  if (standard === undefined) {
    return {
      ok: false,
      issues: [{
        code: "invalid_template",
        path: base,
        message: "the template's params is not a zod (Standard Schema) schema",
      }],
    };
  }
  const result = standard.validate(value) as StandardResult;
  if (result instanceof Promise) {
    return {
      ok: false,
      issues: [{
        code: "invalid_template",
        path: base,
        message: "the template's params schema validates asynchronously; expected a sync schema",
      }],
    };
  }
  if (result.issues === undefined) return { ok: true, value: result.value };
  const known = Object.keys((template.params as { shape?: object }).shape ?? {});
  return {
    ok: false,
    issues: result.issues.flatMap((issue) => {
      const path = [
        ...base,
        ...(issue.path ?? []).map((p) => (typeof p === "object" ? p.key : p)).filter(
          (p): p is string | number => typeof p !== "symbol",
        ),
      ];
      // zod's own issue (a Standard Schema issue with more): an unknown key is reported at the key.
      const { code, keys } = issue as { code?: string; keys?: string[] };
      if (code === "unrecognized_keys" && keys !== undefined && path.length === base.length) {
        return keys.map((key) => ({
          code: "invalid_with",
          path: [...path, key],
          message: `unknown parameter${
            known.length > 0 ? `; expected one of ${known.join(", ")}` : ""
          }`,
        }));
      }
      return [{ code: "invalid_with", path, message: issue.message }];
    }),
  };
}

/** Looks a template up, validates `with` and expands it; issues are pushed. */
function expandOne<Out>(
  raw: Raw,
  where: { base: IssuePath; use: TemplateUse; what: string },
  registry: Registry<Template<Out, unknown>>,
  context: { templates: WorkflowTemplates; issues: PathIssue[] },
): { id: string; out: Out } | undefined {
  const { base, use, what } = where;
  const { issues } = context;
  const id = raw.uses;
  if (typeof id !== "string") {
    issues.push({
      code: "invalid_type",
      path: [...base, "uses"],
      message: `expected the id of a ${what} such as deno/test`,
    });
    return undefined;
  }
  const template = registry.get(id);
  if (template === undefined) {
    issues.push({
      code: "unknown_template",
      path: [...base, "uses"],
      message: unknownIdMessage(what, id, {
        known: registry.ids(),
        unavailable: context.templates.unavailable,
      }),
    });
    return undefined;
  }
  if (raw.with !== undefined && !isRecord(raw.with)) {
    issues.push({
      code: "invalid_type",
      path: [...base, "with"],
      message: `expected the parameters of ${id} as a mapping`,
    });
    return undefined;
  }
  const params = validateParams(template, raw.with ?? {}, [...base, "with"]);
  if (!params.ok) {
    issues.push(...params.issues.map((i) => ({ ...i, message: `${id}: ${i.message}` })));
    return undefined;
  }
  try {
    return { id, out: template.expand(params.value, use) };
  } catch (err) {
    issues.push({
      code: "invalid_template",
      path: [...base, "uses"],
      message: `${what} ${id} failed to expand: ${(err as Error)?.message ?? String(err)}`,
    });
    return undefined;
  }
}

/** The template's fields with the written ones merged over them. */
function merge(expanded: Raw, written: Raw): Raw {
  const out: Raw = { ...expanded };
  for (const [key, value] of Object.entries(written)) {
    const given = expanded[key];
    if (MERGED.has(key) && isRecord(value) && isRecord(given)) out[key] = { ...given, ...value };
    else if (JOINED.has(key) && Array.isArray(value) && Array.isArray(given)) {
      out[key] = [...new Set([...given, ...value])];
    } else out[key] = value;
  }
  return out;
}

function expandRunner(
  raw: Raw,
  where: { role: "step" | "gate"; index: number },
  context: { templates: WorkflowTemplates; issues: PathIssue[] },
): Raw {
  const base = [`${where.role}s`, where.index];
  const registry = where.role === "step" ? context.templates.steps : context.templates.gates;
  const use: TemplateUse = {
    role: where.role,
    id: typeof raw.id === "string" ? raw.id : "",
    ...(typeof raw.step === "string" ? { step: raw.step } : {}),
  };
  const what = `${where.role} template`;
  const done = expandOne(
    raw,
    { base, use, what },
    registry as Registry<Template<unknown, unknown>>,
    context,
  );
  if (done === undefined) return raw;
  const written = RUNNER_KEYS.filter((k) => raw[k] !== undefined);
  for (const key of written) {
    context.issues.push({
      code: "invalid_runner",
      path: [...base, key],
      message: `a ${where.role} that uses a template takes its runner from it (${done.id}); ` +
        `remove ${key}`,
    });
  }
  if (!isRecord(done.out)) {
    context.issues.push({
      code: "invalid_template",
      path: [...base, "uses"],
      message: `${what} ${done.id} expanded to ${typeof done.out}; expected the fields of a ` +
        where.role,
    });
    return raw;
  }
  return merge(done.out, raw);
}

function expandRoute(
  raw: Raw,
  where: { role: "step" | "gate"; index: number },
  context: { templates: WorkflowTemplates; issues: PathIssue[] },
): Raw {
  const route = raw.on_fail;
  if (!isRecord(route) || route.uses === undefined) return raw;
  const base = [`${where.role}s`, where.index, "on_fail"];
  const use: TemplateUse = {
    role: where.role,
    id: typeof raw.id === "string" ? raw.id : "",
    ...(typeof raw.step === "string" ? { step: raw.step } : {}),
  };
  const done = expandOne(
    route,
    { base, use, what: "route template" },
    context.templates.routes as Registry<Template<unknown, unknown>>,
    context,
  );
  if (done === undefined) return raw;
  const { uses: _uses, with: _with, ...written } = route;
  return { ...raw, on_fail: merge(isRecord(done.out) ? done.out : {}, written) };
}

/**
 * Expands every template a definition uses (pure).
 *
 * @param definition The definition as parsed from a file, or a TS API object.
 * @param templates The templates it may use.
 * @returns The definition with templates expanded and where each came from,
 * or every problem (unknown template, invalid `with`, a runner beside `uses`).
 */
export function expandTemplates(
  definition: unknown,
  templates: WorkflowTemplates,
): { ok: true; value: ExpandedDefinition } | { ok: false; issues: PathIssue[] } {
  const origins = new Map<string, string>();
  if (!isRecord(definition)) return { ok: true, value: { definition, origins } };
  const issues: PathIssue[] = [];
  const context = { templates, issues };
  const out: Raw = { ...definition };
  for (const role of ["step", "gate"] as const) {
    const list = definition[`${role}s`];
    if (!Array.isArray(list)) continue;
    out[`${role}s`] = list.map((item, index) => {
      if (!isRecord(item)) return item;
      let expanded = item;
      if (item.uses !== undefined) {
        expanded = expandRunner(item, { role, index }, context);
        if (typeof item.uses === "string") origins.set(`${role}s.${index}`, item.uses);
      }
      return expandRoute(expanded, { role, index }, context);
    });
  }
  return issues.length > 0
    ? { ok: false, issues }
    : { ok: true, value: { definition: out, origins } };
}

/**
 * Names the template a field came from, for an issue about a field the
 * template gave (not written in the file): ` (from template deno/test)`.
 *
 * @param issue The issue.
 * @param expanded The expansion.
 * @param written The definition as written.
 * @returns The issue, its message extended when the field came from a template.
 */
export function blameTemplate(
  issue: PathIssue,
  expanded: ExpandedDefinition,
  written: unknown,
): PathIssue {
  const [list, index, key] = issue.path;
  if (typeof index !== "number" || typeof key !== "string") return issue;
  const id = expanded.origins.get(`${list}.${index}`);
  const item = isRecord(written) && Array.isArray(written[list as string])
    ? (written[list as string] as unknown[])[index]
    : undefined;
  if (id === undefined || (isRecord(item) && item[key] !== undefined)) return issue;
  const field = issue.path.slice(2).join(".");
  return {
    ...issue,
    path: [list, index, "uses"],
    message: `${field}: ${issue.message} (from template ${id})`,
  };
}
