/**
 * The step cache key (`docs/cache.md`): the canonical hash (RFC 8785 JSON,
 * sha256; `src/core/canonical_json.ts`) of what decides a step's outputs —
 * its executor spec with the variables it sets and the names it passes
 * through, its inputs' hashes, its declared outputs, its effective
 * confinement, and the environment-snapshot fields that matter (the Deno
 * version and the `deno.lock` hash). Pure: the run loop gathers the facts.
 *
 * @module
 */

import { canonicalHash, jsonIssues } from "../core/canonical_json.ts";
import type { StepSpec } from "../graph/workflow.ts";
import type { Confinement } from "../policy/policy_model.ts";
import type { CacheKeyParts } from "../store/ports.ts";
import type { InputRecord } from "./run_events.ts";

/** Bumped when what the key covers changes, so older entries stop matching. */
export const CACHE_KEY_VERSION = 1;

/** The environment-snapshot fields a key covers. */
export type CacheEnvironment = CacheKeyParts["environment"];

/** A step's key parts, or why it cannot be keyed. */
export type KeyedStep =
  | { readonly kind: "keyed"; readonly key: string; readonly parts: CacheKeyParts }
  | { readonly kind: "unkeyable"; readonly reason: string };

/** A value with its `undefined` object members left out, as JSON would leave them. */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [
      k,
      withoutUndefined(v),
    ]),
  );
}

/**
 * Gathers a step's key parts and hashes them.
 *
 * @param step The step.
 * @param facts The attempt's inputs (as `attempt_started` records them), its confinement, and the run's environment fields.
 * @returns The key and its parts, or why the step cannot be keyed (its
 * executor spec is not plain JSON, e.g. an `fn` step given a function).
 */
export function keyStep(
  step: StepSpec,
  facts: {
    readonly inputs: Readonly<Record<string, InputRecord>>;
    readonly confinement: Confinement;
    readonly environment: CacheEnvironment;
  },
): KeyedStep {
  const executor = {
    spec: withoutUndefined(step.executor),
    env: step.env,
    env_pass: step.envPass,
  };
  const [issue] = jsonIssues(executor);
  if (issue !== undefined) {
    return {
      kind: "unkeyable",
      reason: `its executor spec is not plain JSON at ${issue.path.replace(/^\$/, "executor")} ` +
        `(${issue.message}), so it has no stable identity to key on`,
    };
  }
  const parts: CacheKeyParts = {
    executor,
    inputs: Object.fromEntries(Object.entries(facts.inputs).map(([name, i]) => [name, i.sha256])),
    outputs: withoutUndefined(step.outputs) as CacheKeyParts["outputs"],
    policy: withoutUndefined(facts.confinement) as CacheKeyParts["policy"],
    environment: facts.environment,
  };
  return { kind: "keyed", key: cacheKey(parts), parts };
}

/**
 * Hashes key parts.
 *
 * @param parts The parts.
 * @returns The lower-case hex sha256 of the canonical JSON of the parts and {@linkcode CACHE_KEY_VERSION}.
 */
export function cacheKey(parts: CacheKeyParts): string {
  return canonicalHash({ version: CACHE_KEY_VERSION, ...parts });
}
