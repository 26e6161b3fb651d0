/**
 * Identity: run and artifact ids are UUIDs, made by one function each and
 * validated before they touch a path.
 *
 * @module
 */

import { UsageError } from "./errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A source of fresh ids, so tests and simulation can substitute their own. */
export type IdSource = () => string;

/**
 * Makes a new run id.
 *
 * @returns A random UUID string.
 */
export function newRunId(): string {
  return crypto.randomUUID();
}

/**
 * Makes a new artifact id.
 *
 * @returns A random UUID string.
 */
export function newArtifactId(): string {
  return crypto.randomUUID();
}

/**
 * Tells whether a string is a lower-case UUID as Lily writes them.
 *
 * @param value The string to test.
 * @returns `true` for a UUID.
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Checks that an id from outside is a UUID before it is used in a path.
 *
 * @param value The id as given.
 * @param what What the id names, for the error message (`run id`).
 * @returns The id, unchanged.
 * @throws {UsageError} When the value is not a UUID.
 */
export function assertUuid(value: string, what: string): string {
  if (!isUuid(value)) {
    throw new UsageError(
      `Invalid ${what}: expected a UUID like 123e4567-e89b-12d3-a456-426614174000, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}
