/**
 * Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) and sha256.
 * Every hash any Lily layer records comes from this module.
 *
 * @module
 */

import canonicalize from "canonicalize";
import { createHash } from "node:crypto";
import { ValidationError } from "./errors.ts";
import { formatIssuePath, type Issue } from "./issue.ts";

/** A value JSON can represent exactly. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "bigint") return `BigInt ${value}n`;
  if (value === undefined) return "undefined";
  if (typeof value === "object" && value !== null) {
    return `an instance of ${value.constructor?.name ?? "an unknown class"}`;
  }
  return `a ${typeof value}`;
}

/**
 * Walks a value depth first. The path of the current place is kept as a
 * stack of segments and written out only for an issue, so a clean walk
 * builds no strings.
 */
function collectIssues(
  value: unknown,
  at: (string | number)[],
  seen: Set<object>,
  out: Issue[],
): void {
  const issue = (code: string, message: string) =>
    out.push({ code, path: formatIssuePath(at), message });
  switch (typeof value) {
    case "boolean":
      return;
    case "string":
      if (LONE_SURROGATE.test(value)) {
        issue(
          "lone_surrogate",
          "string holds a lone UTF-16 surrogate, which JSON text cannot carry",
        );
      }
      return;
    case "number":
      if (!Number.isFinite(value)) {
        issue("non_finite_number", `expected a finite number, got ${describe(value)}`);
      }
      return;
    case "object": {
      if (value === null) return;
      if (seen.has(value)) {
        issue("cycle", "value refers back to one of its own parents");
        return;
      }
      const isArray = Array.isArray(value);
      const proto = Object.getPrototypeOf(value);
      if (!isArray && proto !== Object.prototype && proto !== null) {
        issue(
          "not_plain_data",
          `expected a plain object, array or primitive, got ${describe(value)}`,
        );
        return;
      }
      seen.add(value);
      if (isArray) {
        for (let i = 0; i < value.length; i++) {
          at.push(i);
          collectIssues(value[i], at, seen, out);
          at.pop();
        }
      } else {
        for (const key of Object.keys(value)) {
          at.push(key);
          if (LONE_SURROGATE.test(key)) {
            issue(
              "lone_surrogate",
              "key holds a lone UTF-16 surrogate, which JSON text cannot carry",
            );
          }
          collectIssues((value as Record<string, unknown>)[key], at, seen, out);
          at.pop();
        }
      }
      seen.delete(value);
      return;
    }
    default:
      issue("not_json", `expected a JSON value, got ${describe(value)}`);
  }
}

/**
 * Lists why a value cannot be represented exactly as JSON.
 *
 * @param value Any value.
 * @returns One issue per offending place, empty when the value is plain JSON.
 */
export function jsonIssues(value: unknown): Issue[] {
  const out: Issue[] = [];
  collectIssues(value, [], new Set(), out);
  return out;
}

/**
 * Serialises a JSON value in RFC 8785 canonical form.
 *
 * @example Keys are sorted and numbers written the shortest way
 * ```ts
 * import { canonicalJson } from "./canonical_json.ts";
 * console.assert(canonicalJson({ b: 1, a: [1e21] }) === '{"a":[1e+21],"b":1}');
 * ```
 *
 * @param value The value to serialise.
 * @returns The canonical JSON text.
 * @throws {ValidationError} When the value holds anything JSON cannot represent
 * exactly; the message names the JSON path.
 */
export function canonicalJson(value: unknown): string {
  const issues = jsonIssues(value);
  const [first] = issues;
  if (first !== undefined) {
    throw new ValidationError(`Cannot canonicalize JSON at ${first.path}: ${first.message}`, {
      issues,
    });
  }
  return canonicalize(value) as string;
}

/**
 * Serialises a JSON value to its canonical UTF-8 bytes.
 *
 * @param value The value to serialise.
 * @returns The RFC 8785 bytes.
 * @throws {ValidationError} As {@linkcode canonicalJson}.
 */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

/**
 * Hashes bytes with sha256.
 *
 * @param bytes The bytes to hash.
 * @returns The lower-case hex digest.
 */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Hashes a JSON value by its canonical bytes.
 *
 * @param value The value to hash.
 * @returns The lower-case hex sha256 of the RFC 8785 bytes.
 * @throws {ValidationError} As {@linkcode canonicalJson}.
 */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalBytes(value));
}

/**
 * Hashes a file's bytes with sha256, streaming it in chunks.
 *
 * @param path The file.
 * @returns The lower-case hex digest.
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = new Uint8Array(4 * 1024 * 1024);
    while (true) {
      const n = await file.read(buffer);
      if (n === null) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return hash.digest("hex");
}
