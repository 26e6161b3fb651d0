/**
 * Canonical hashing for Layer 1 and above. The one implementation of
 * RFC 8785 canonicalization and sha256 is `src/core/canonical_json.ts` (the
 * run store needs it too); this module re-exports it for the layers above
 * and adds {@linkcode canonicalForm}, which gives the canonical text, bytes
 * and hash of a value in one pass.
 *
 * @module
 */

import { canonicalJson, sha256Hex } from "../core/canonical_json.ts";

export {
  canonicalBytes,
  canonicalHash,
  canonicalJson,
  jsonIssues,
  type JsonValue,
  sha256Hex,
} from "../core/canonical_json.ts";

/** A JSON value in canonical form, with its hash. */
export interface CanonicalForm {
  /** The RFC 8785 text. */
  readonly text: string;
  /** The text's UTF-8 bytes: what the store writes for a JSON artifact. */
  readonly bytes: Uint8Array;
  /** The lower-case hex sha256 of `bytes`. */
  readonly sha256: string;
}

/**
 * Canonicalizes a JSON value once and hashes the result, for callers that
 * need both the bytes and the hash.
 *
 * @example The hash a stored JSON artifact records
 * ```ts
 * import { canonicalForm, canonicalHash } from "./canonical.ts";
 * const form = canonicalForm({ b: [1, 2], a: "x" });
 * console.assert(form.text === '{"a":"x","b":[1,2]}');
 * console.assert(form.sha256 === canonicalHash({ a: "x", b: [1, 2] }));
 * ```
 *
 * @param value The value to canonicalize.
 * @returns Its canonical text, bytes and sha256.
 * @throws {ValidationError} When the value holds anything JSON cannot
 * represent exactly (NaN, Infinity, undefined, BigInt, functions, cycles,
 * lone surrogates); the message names the JSON path.
 */
export function canonicalForm(value: unknown): CanonicalForm {
  const text = canonicalJson(value);
  const bytes = new TextEncoder().encode(text);
  return { text, bytes, sha256: sha256Hex(bytes) };
}
