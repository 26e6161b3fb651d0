/**
 * The kernel's environment: the variables it reads (`LILY_WORKSPACE`,
 * `LILY_USER`, `LILY_LLM`, …) and the whole set from which steps and gates
 * get their subset. Injected, so a test or an embedding program decides
 * what the kernel sees instead of the process's own environment.
 *
 * @example An environment from a record
 * ```ts
 * import { envFrom } from "./env.ts";
 * const env = envFrom({ LILY_USER: "alice" });
 * console.assert(env.get("LILY_USER") === "alice");
 * console.assert(env.get("HOME") === undefined);
 * ```
 *
 * @module
 */

/** Reads environment variables. */
export interface Env {
  /**
   * Reads one variable.
   *
   * @param name The variable's name.
   * @returns Its value, or `undefined` when it is not set.
   */
  get(name: string): string | undefined;
  /**
   * Reads every variable.
   *
   * @returns A fresh record of names to values.
   */
  toObject(): Record<string, string>;
}

/** The process's environment (`Deno.env`; needs `--allow-env`). */
export const systemEnv: Env = {
  get: (name) => Deno.env.get(name),
  toObject: () => Deno.env.toObject(),
};

/**
 * An environment holding exactly the given variables.
 *
 * @param vars Variables by name.
 * @returns An environment that reads them.
 */
export function envFrom(vars: Readonly<Record<string, string>>): Env {
  const copy = { ...vars };
  return {
    get: (name) => Object.hasOwn(copy, name) ? copy[name] : undefined,
    toObject: () => ({ ...copy }),
  };
}

/**
 * Who acts when a person starts a run, creates one or decides a gate:
 * `LILY_USER`, else `USER`, else `human`.
 *
 * @param env The environment.
 * @returns The actor's id.
 */
export function actorId(env: Env): string {
  return env.get("LILY_USER") ?? env.get("USER") ?? "human";
}
