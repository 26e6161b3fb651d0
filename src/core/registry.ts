/**
 * One registry type for every kind of extension — artifact schemas, executor
 * kinds, and later step and gate templates and routes: values by id, each
 * with the origin that registered it (`kernel` or a pack's name). An id is
 * registered once; a second registration, from the same origin or another,
 * is refused naming both origins.
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * const kinds = new Registry<string>({ what: "executor kind" });
 * kinds.register("command", "runs an argv", { origin: "kernel" });
 * try {
 *   kinds.register("command", "runs something else", { origin: "acme" });
 * } catch (err) {
 *   console.assert(String(err).includes("already registered from origin kernel"));
 * }
 * console.assert(kinds.get("command") === "runs an argv");
 * ```
 *
 * @module
 */

import { UsageError } from "./errors.ts";

/** One registered value, with its id and origin. */
export interface RegistryEntry<T> {
  /** The id it is registered under. */
  readonly id: string;
  /** Who registered it: `kernel` or a pack's name. */
  readonly origin: string;
  /** The value. */
  readonly value: T;
}

/** Options of {@linkcode Registry}. */
export interface RegistryOptions {
  /** What the registry holds, singular, for messages (`schema`, `executor kind`). */
  readonly what: string;
  /**
   * What to do instead, appended to a collision's message (e.g. "a changed
   * type needs a new id such as x.v2").
   */
  readonly collisionHint?: (id: string) => string;
}

/** Values by id, each with its origin; see the module doc. */
export class Registry<T> {
  readonly #entries = new Map<string, RegistryEntry<T>>();
  readonly #what: string;
  readonly #hint: ((id: string) => string) | undefined;

  /**
   * Creates an empty registry.
   *
   * @param options What it holds, and the hint added to a collision's message.
   */
  constructor(options: RegistryOptions) {
    this.#what = options.what;
    this.#hint = options.collisionHint;
  }

  /**
   * Refuses an id that is already registered, naming both origins.
   *
   * @param id The id about to be registered.
   * @param origin Who is about to register it.
   * @throws {UsageError} When `id` is registered.
   */
  assertFree(id: string, origin: string): void {
    const existing = this.#entries.get(id);
    if (existing === undefined) return;
    throw new UsageError(
      `Cannot register ${this.#what} ${id} from origin ${origin}: it is already registered ` +
        `from origin ${existing.origin}${this.#hint ? `; ${this.#hint(id)}` : ""}`,
    );
  }

  /**
   * Registers a value.
   *
   * @param id Its id.
   * @param value The value.
   * @param options `origin`: `kernel` or the pack's name.
   * @returns The entry.
   * @throws {UsageError} When `id` is already registered (from any origin).
   */
  register(id: string, value: T, options: { readonly origin: string }): RegistryEntry<T> {
    this.assertFree(id, options.origin);
    const entry = Object.freeze({ id, origin: options.origin, value });
    this.#entries.set(id, entry);
    return entry;
  }

  /**
   * Whether an id is registered.
   *
   * @param id The id.
   * @returns `true` when it is.
   */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /**
   * The value registered under an id.
   *
   * @param id The id.
   * @returns The value, or `undefined` when none is.
   */
  get(id: string): T | undefined {
    return this.#entries.get(id)?.value;
  }

  /**
   * The entry (value and origin) registered under an id.
   *
   * @param id The id.
   * @returns The entry, or `undefined` when none is.
   */
  entry(id: string): RegistryEntry<T> | undefined {
    return this.#entries.get(id);
  }

  /**
   * The value registered under an id, which must exist.
   *
   * @param id The id.
   * @returns The value.
   * @throws {UsageError} Naming the known ids, when none is registered.
   */
  require(id: string): T {
    const entry = this.#entries.get(id);
    if (entry !== undefined) return entry.value;
    const known = this.ids().map((k) => JSON.stringify(k)).join(", ");
    throw new UsageError(
      `Unknown ${this.#what} ${JSON.stringify(id)}; known: ${known || "none"}`,
    );
  }

  /**
   * The registered ids, in registration order.
   *
   * @returns The ids.
   */
  ids(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * The entries, in registration order.
   *
   * @returns The entries.
   */
  entries(): RegistryEntry<T>[] {
    return [...this.#entries.values()];
  }
}
