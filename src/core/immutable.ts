/**
 * A deeply read-only view of a type, for values inferred from zod schemas
 * (which infers mutable types) that Lily hands out but never lets callers
 * change.
 *
 * @module
 */

/** `T` with every property, array and record read-only, all the way down. */
export type Immutable<T> = T extends (...args: never[]) => unknown ? T
  : T extends readonly (infer U)[] ? readonly Immutable<U>[]
  : T extends object ? { readonly [K in keyof T]: Immutable<T[K]> }
  : T;
