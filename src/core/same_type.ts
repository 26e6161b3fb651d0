/**
 * Compile-time checks that two declarations of one shape agree: where a
 * documented TypeScript type and a zod schema describe the same data (run
 * events, kernel artifact types), the module asserts that the type inferred
 * from the schema is exactly the declared type, so neither can drift
 * without failing `deno check`.
 *
 * @example
 * ```ts
 * import type { AssertTrue, SameType } from "./same_type.ts";
 * type Point = { readonly x: number };
 * type _Checked = AssertTrue<SameType<Point, { readonly x: number }>>;
 * ```
 *
 * @module
 */

/** `T` with intersections merged into one object type, all the way down (unions kept). */
export type Flatten<T> = T extends (...args: never[]) => unknown ? T
  : T extends object ? { [K in keyof T]: Flatten<T[K]> }
  : T;

/**
 * `true` when `A` and `B` are the same type once intersections are merged,
 * `readonly` and optional modifiers included; `false` otherwise.
 */
export type SameType<A, B> = (<T>() => T extends Flatten<A> ? 1 : 2) extends
  (<T>() => T extends Flatten<B> ? 1 : 2) ? true
  : false;

/** Type-checks only when `T` is `true`: `type _X = AssertTrue<SameType<A, B>>`. */
export type AssertTrue<T extends true> = T;

type KnownKeys<T> = { [K in keyof T as string extends K ? never : K]: T[K] };

/**
 * The fields a type declares by name, all the way down: the index
 * signature of a loose object (zod's `looseObject`, which keeps unknown
 * fields) is dropped; a pure record (`Record<string, V>`) is kept.
 */
export type DeclaredFields<T> = T extends (...args: never[]) => unknown ? T
  : T extends readonly (infer U)[] ? DeclaredFields<U>[]
  : T extends object
    ? [keyof KnownKeys<T>] extends [never] ? { [K in keyof T]: DeclaredFields<T[K]> }
    : { [K in keyof KnownKeys<T>]: DeclaredFields<KnownKeys<T>[K]> }
  : T;
