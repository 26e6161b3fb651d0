/**
 * The validation engine's results and errors. Failures are data: a
 * {@linkcode ValidationResult} lists every {@linkcode ValidationIssue} with
 * its JSON path, what was expected and what was found; callers that prefer
 * an exception get a {@linkcode ValidationError} whose one-line message
 * names the subject, the schema and the first offending path.
 *
 * This module also holds the checks that wire validation into the run store:
 * {@linkcode workOrderCheck} (work orders given to `lily run new`) and
 * {@linkcode validateJsonText} (files given to `lily schema validate`).
 *
 * @module
 */

import {
  causeMessage,
  type Issue,
  NotFoundError,
  UsageError,
  ValidationError,
} from "../core/errors.ts";
import { failure, type Result } from "../core/issue.ts";
import { WORK_ORDER_TYPE, type WorkOrderCheck } from "../store/run_store.ts";
import type { SchemaRegistry } from "./schema_registry.ts";

/** One way a value fails its schema. */
export interface ValidationIssue extends Issue {
  /** What the schema wanted there, e.g. `string` or `"pass" | "fail"`. */
  readonly expected?: string;
  /** What was there, e.g. `number 3`, `string "x"` or `missing`. */
  readonly found?: string;
}

/**
 * The outcome of validating one value against one schema: the value, or
 * every issue found, in document order as the validator reports them.
 */
export type ValidationResult = Result<unknown, ValidationIssue>;

/** What a {@linkcode validationError} message names. */
export interface ValidationErrorInput {
  /** What was validated, e.g. `Artifact of type gate_result.v1`. */
  readonly subject: string;
  /** The schema id it was validated against. */
  readonly schemaId: string;
  /** Where that schema came from: `kernel` or a pack name. */
  readonly origin: string;
  /** The issues found; at least one. */
  readonly issues: readonly ValidationIssue[];
}

const MORE_PATHS_SHOWN = 5;

/**
 * Builds the error thrown for an invalid value: one line naming the subject,
 * the schema and its origin, the first issue in full and the paths of the
 * others. Every issue is kept on the error's `issues`.
 *
 * @example
 * ```ts
 * import { validationError } from "./validation.ts";
 * const err = validationError({
 *   subject: "Artifact of type work_order.v1",
 *   schemaId: "work_order.v1",
 *   origin: "kernel",
 *   issues: [{ code: "invalid_type", path: "$.goal", message: "expected string, got number 3" }],
 * });
 * console.assert(err.message ===
 *   "Artifact of type work_order.v1 does not match schema work_order.v1 (origin kernel): " +
 *     "$.goal: expected string, got number 3");
 * ```
 *
 * @param input The subject, schema, origin and issues.
 * @returns The error, not thrown.
 */
export function validationError(input: ValidationErrorInput): ValidationError {
  const [first, ...rest] = input.issues;
  let message = `${input.subject} does not match schema ${input.schemaId} ` +
    `(origin ${input.origin})` + (first ? `: ${first.path}: ${first.message}` : "");
  if (rest.length > 0) {
    const shown = rest.slice(0, MORE_PATHS_SHOWN).map((i) => i.path).join(", ");
    const hidden = rest.length - Math.min(rest.length, MORE_PATHS_SHOWN);
    message += `; ${rest.length} more ${rest.length === 1 ? "issue" : "issues"} at ${shown}` +
      (hidden > 0 ? ` and ${hidden} other places` : "");
  }
  return new ValidationError(message, { issues: input.issues });
}

/** Input of {@linkcode validateJsonText}. */
export interface JsonTextInput {
  /** The schema id to validate against. */
  readonly schemaId: string;
  /** The JSON text. */
  readonly text: string;
}

/**
 * Parses JSON text and validates the value. Text that is not JSON is an
 * invalid result with one `invalid_json` issue at `$`, not an exception.
 *
 * @param registry The schemas.
 * @param input The schema id and the text.
 * @returns The validation result.
 * @throws {NotFoundError} When no schema has that id.
 */
export function validateJsonText(registry: SchemaRegistry, input: JsonTextInput): ValidationResult {
  registry.require(input.schemaId);
  let value: unknown;
  try {
    value = JSON.parse(input.text.replace(/^\uFEFF/, ""));
  } catch (err) {
    return failure([{
      code: "invalid_json",
      path: "$",
      message: `not valid JSON: ${causeMessage(err)}`,
      expected: "JSON text",
    }]);
  }
  return registry.validate(input.schemaId, value);
}

/** Input of {@linkcode validateJsonFile}. */
export interface JsonFileInput {
  /** The schema id to validate against. */
  readonly schemaId: string;
  /** The file holding the JSON text. */
  readonly path: string;
}

/**
 * Reads a file and validates its JSON, as {@linkcode validateJsonText}.
 *
 * @param registry The schemas.
 * @param input The schema id and the file.
 * @returns The validation result.
 * @throws {NotFoundError} When no schema has that id or the file does not exist.
 * @throws {UsageError} When the file cannot be read.
 */
export async function validateJsonFile(
  registry: SchemaRegistry,
  input: JsonFileInput,
): Promise<ValidationResult> {
  registry.require(input.schemaId);
  let text: string;
  try {
    text = await Deno.readTextFile(input.path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`File ${input.path} does not exist`, { cause: err });
    }
    throw new UsageError(`Cannot read ${input.path}: ${(err as Error).message}`, { cause: err });
  }
  return validateJsonText(registry, { schemaId: input.schemaId, text });
}

/**
 * Makes the check `lily run new --work-order` runs before it creates
 * anything: a work order that is JSON (a `.json` name, or text that parses
 * as JSON) must match `work_order.v1`; any other text (e.g. Markdown) is
 * accepted as it is. A registry without `work_order.v1` accepts everything.
 *
 * @param registry The schemas.
 * @returns The check, for `openStore({ checkWorkOrder })`.
 */
export function workOrderCheck(registry: SchemaRegistry): WorkOrderCheck {
  return (bytes, path) => {
    const schema = registry.get(WORK_ORDER_TYPE);
    if (!schema) return;
    const text = new TextDecoder().decode(bytes);
    const result = validateJsonText(registry, { schemaId: WORK_ORDER_TYPE, text });
    if (result.ok) return;
    const notJson = result.issues.length === 1 && result.issues[0]?.code === "invalid_json";
    if (notJson && !/\.json$/i.test(path)) return;
    throw validationError({
      subject: `Work order ${path}`,
      schemaId: schema.id,
      origin: schema.origin,
      issues: result.issues,
    });
  };
}
