/**
 * Assertions for the tests, from Node's built-in `assert/strict` (JSR's
 * `@std/assert` is not reachable from this project's machines).
 *
 * @module
 */

export {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
