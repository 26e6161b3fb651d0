/**
 * Words the workflow schema's failures for people: zod's own messages
 * ("Invalid key in record", "Too big: expected number to be <=100")
 * name the library's notions, not the file's. A message a field sets itself
 * wins over these (zod's precedence: schema, then per-parse error map).
 *
 * @module
 */

import type { z } from "zod";

/** How a found value is named: `a number`, `a list`, `nothing`. */
function kindOf(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number" && !Number.isInteger(value)) return `the number ${value}`;
  return typeof value === "string" ? "a string" : `a ${typeof value}`;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
  record: "a mapping",
};

function bound(origin: string, limit: unknown, relation: string): string {
  const what = origin === "array" || origin === "set"
    ? ` item${limit === 1 ? "" : "s"}`
    : origin === "string"
    ? ` character${limit === 1 ? "" : "s"}`
    : "";
  return `expected ${relation} ${limit}${what}`;
}

/**
 * The message of a schema issue that has none of its own.
 *
 * @param issue The raw zod issue (with the input it was raised on).
 * @returns One line naming what is wrong and what would be right.
 */
export function schemaIssueMessage(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) {
        return `missing; expected ${EXPECTED[issue.expected] ?? issue.expected}`;
      }
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${kindOf(issue.input)}`;
    }
    case "too_big":
      return bound(
        issue.origin,
        issue.maximum,
        issue.inclusive === false ? "less than" : "at most",
      );
    case "too_small":
      return bound(
        issue.origin,
        issue.minimum,
        issue.inclusive === false ? "more than" : "at least",
      );
    case "invalid_value":
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "unrecognized_keys":
      return `unknown key${issue.keys.length === 1 ? "" : "s"} ${
        issue.keys.map((k) => JSON.stringify(k)).join(", ")
      }`;
    case "invalid_key": {
      const inner = issue.issues[0]?.message;
      return `${JSON.stringify(issue.input)} is not a valid name${inner ? `: ${inner}` : ""}`;
    }
    case "invalid_format":
      return "pattern" in issue && typeof issue.pattern === "string"
        ? `expected text matching ${issue.pattern}`
        : `expected a ${issue.format}`;
    case "invalid_union":
      return `expected one of the forms this field takes, got ${kindOf(issue.input)}`;
    default:
      return `invalid value: got ${kindOf(issue.input)}`;
  }
}

/** A zod schema's definition, as far as walking to a key needs it. */
interface Def {
  readonly type: string;
  readonly shape?: Record<string, { _zod: { def: Def } }>;
  readonly innerType?: { _zod: { def: Def } };
  readonly valueType?: { _zod: { def: Def } };
  readonly element?: { _zod: { def: Def } };
  readonly in?: { _zod: { def: Def } };
}

function unwrap(def: Def): Def {
  let here = def;
  for (;;) {
    const inner = here.innerType ?? here.in;
    if (inner === undefined) return here;
    here = inner._zod.def;
  }
}

/**
 * The keys the mapping at `path` takes, for the hint of an unknown key.
 *
 * @param schema The whole schema.
 * @param path Keys and indexes from the root to the mapping.
 * @returns The keys, or `undefined` when the schema there is not one mapping.
 */
export function keysAt(
  schema: z.ZodType,
  path: readonly (string | number)[],
): string[] | undefined {
  let def: Def | undefined = unwrap((schema as unknown as { _zod: { def: Def } })._zod.def);
  for (const key of path) {
    const next: { _zod: { def: Def } } | undefined = def.type === "object"
      ? def.shape?.[key]
      : def.type === "record"
      ? def.valueType
      : def.type === "array"
      ? def.element
      : undefined;
    if (next === undefined) return undefined;
    def = unwrap(next._zod.def);
  }
  return def.type === "object" && def.shape ? Object.keys(def.shape) : undefined;
}
