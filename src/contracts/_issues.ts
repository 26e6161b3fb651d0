/**
 * Turns the failures of zod and Ajv into Lily's validation issues: one
 * shape, JSON paths like `$.steps[0].id`, the expected and the found.
 * Module-private: the public types live in `validation.ts`.
 *
 * @module
 */

import type { ErrorObject } from "ajv";
import type { z } from "zod";
import { formatIssuePath } from "../core/issue.ts";
import type { ValidationIssue } from "./validation.ts";

type Segment = string | number;

const MAX_SHOWN = 40;
/** Zod issue codes whose own message says more than "expected X, got Y". */
const ZOD_OWN_MESSAGE = ["invalid_format", "custom"];

/**
 * Describes a value for an issue's `found`: its JSON type and, for short
 * scalars, the value itself.
 *
 * @param value The value found, or `undefined` when there was none.
 * @returns E.g. `number 3`, `string "abc"`, `array`, `missing`.
 */
export function describeFound(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `array of ${value.length}`;
  switch (typeof value) {
    case "string": {
      const shown = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
      return `string ${JSON.stringify(shown)}`;
    }
    case "number":
    case "boolean":
      return `${typeof value} ${value}`;
    case "object":
      return "object";
    default:
      return typeof value;
  }
}

function valueAt(root: unknown, segments: readonly Segment[]): unknown {
  let here = root;
  for (const key of segments) {
    if (here === null || typeof here !== "object" || !Object.hasOwn(here, key)) return undefined;
    here = (here as Record<Segment, unknown>)[key];
  }
  return here;
}

function issue(
  code: string,
  segments: readonly Segment[],
  message: string,
  expected: string | undefined,
  found: string,
): ValidationIssue {
  return {
    code,
    path: formatIssuePath(segments),
    message,
    ...(expected ? { expected } : {}),
    found,
  };
}

function listValues(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(" | ");
}

const ZOD_TYPE_NAMES: Record<string, string> = { int: "integer", record: "object" };

function sized(origin: string, relation: string, limit: unknown): string {
  if (origin === "string") return `string of ${relation} ${limit} characters`;
  if (origin === "array" || origin === "set") return `${origin} of ${relation} ${limit} items`;
  return `${origin} ${relation} ${limit}`;
}

function expectedOfZod(raw: z.core.$ZodIssue): string | undefined {
  switch (raw.code) {
    case "invalid_type":
      return ZOD_TYPE_NAMES[raw.expected] ?? raw.expected;
    case "invalid_value":
      return listValues(raw.values);
    case "invalid_format":
      return raw.format === "regex" ? `a match for ${raw.pattern}` : `${raw.format} format`;
    case "too_small":
      return sized(raw.origin, raw.inclusive === false ? ">" : ">=", raw.minimum);
    case "too_big":
      return sized(raw.origin, raw.inclusive === false ? "<" : "<=", raw.maximum);
    case "not_multiple_of":
      return `a multiple of ${raw.divisor}`;
    case "unrecognized_keys":
      return "no other keys";
    case "invalid_union": {
      const types = raw.errors.flatMap(([only, ...more]) =>
        only?.code === "invalid_type" && more.length === 0 && only.path.length === 0
          ? [ZOD_TYPE_NAMES[only.expected] ?? only.expected]
          : []
      );
      return types.length === raw.errors.length ? types.join(" | ") : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Converts zod issues into validation issues.
 *
 * @param raw The issues of a failed `safeParse`.
 * @param root The value that was validated, to describe what was found.
 * @returns One issue per zod issue, in zod's order.
 */
export function fromZodIssues(
  raw: readonly z.core.$ZodIssue[],
  root: unknown,
): ValidationIssue[] {
  return raw.map((zi) => {
    const segments = zi.path.map((p) => typeof p === "symbol" ? String(p) : p);
    const found = describeFound(valueAt(root, segments));
    const expected = expectedOfZod(zi);
    if (zi.code === "unrecognized_keys") {
      return issue(
        zi.code,
        segments,
        `unexpected ${zi.keys.length === 1 ? "key" : "keys"} ${
          zi.keys.map((k) => JSON.stringify(k)).join(", ")
        }`,
        expected,
        found,
      );
    }
    const message = zi.code === "invalid_type" && found === "missing"
      ? `missing required field, expected ${expected}`
      : expected !== undefined && !ZOD_OWN_MESSAGE.includes(zi.code)
      ? `expected ${expected}, got ${found}`
      : `${zi.message.charAt(0).toLowerCase()}${zi.message.slice(1)}` +
        (found === "missing" ? "" : `, got ${found}`);
    return issue(zi.code, segments, message, expected, found);
  });
}

function pointerSegments(pointer: string): Segment[] {
  if (pointer === "") return [];
  return pointer.slice(1).split("/").map((s) => {
    const key = s.replaceAll("~1", "/").replaceAll("~0", "~");
    return /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : key;
  });
}

function expectedOfAjv(error: ErrorObject): string | undefined {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "type":
      return Array.isArray(p.type) ? p.type.join(" | ") : String(p.type);
    case "enum":
      return listValues(p.allowedValues as unknown[]);
    case "const":
      return JSON.stringify(p.allowedValue);
    case "format":
      return `${p.format} format`;
    case "pattern":
      return `a match for /${p.pattern}/`;
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return `number ${p.comparison} ${p.limit}`;
    case "minLength":
    case "maxLength":
      return `string of ${error.keyword === "minLength" ? ">=" : "<="} ${p.limit} characters`;
    case "minItems":
    case "maxItems":
      return `array of ${error.keyword === "minItems" ? ">=" : "<="} ${p.limit} items`;
    default:
      return undefined;
  }
}

/**
 * Converts Ajv errors into validation issues.
 *
 * @param errors The errors of a failed Ajv validation (run with `allErrors`).
 * @param root The value that was validated, to describe what was found.
 * @returns One issue per error, in Ajv's order.
 */
export function fromAjvErrors(
  errors: readonly ErrorObject[],
  root: unknown,
): ValidationIssue[] {
  return errors.map((error) => {
    const segments = pointerSegments(error.instancePath);
    const p = error.params as Record<string, unknown>;
    if (error.keyword === "required") {
      return issue(
        "required",
        [...segments, String(p.missingProperty)],
        "missing required field",
        undefined,
        "missing",
      );
    }
    if (error.keyword === "additionalProperties") {
      const key = String(p.additionalProperty);
      return issue(
        "additional_property",
        [...segments, key],
        `unexpected key ${JSON.stringify(key)}`,
        "no other keys",
        describeFound(valueAt(root, [...segments, key])),
      );
    }
    const found = describeFound(valueAt(root, segments));
    const expected = expectedOfAjv(error);
    const message = expected !== undefined
      ? `expected ${expected}, got ${found}`
      : `${error.message ?? `fails the ${error.keyword} keyword`}, got ${found}`;
    return issue(error.keyword, segments, message, expected, found);
  });
}
