/**
 * The step cache's effect shell for the run loop: gathers an attempt's key
 * parts, looks the key up through the store's {@linkcode StepCache} port,
 * checks the entry's outputs are still in the store, asks the pure rules of
 * `cache_decider.ts`, and records the attempt's probe (its key, parts,
 * outcome and reason) for `lily cache explain`. Once a step finishes with
 * every gate passed, {@linkcode StepCacheShell.remember} stores its entry.
 *
 * @module
 */

import type { Clock } from "../core/clock.ts";
import type { Store } from "../store/store.ts";
import type { CacheOutcome, CacheProbe } from "../store/ports.ts";
import type { StepSpec } from "../graph/workflow.ts";
import type { Confinement } from "../policy/policy_model.ts";
import { type CacheEnvironment, keyStep } from "./cache_key.ts";
import { cacheable, type CacheDecision, cacheLookup, useCached } from "./cache_decider.ts";
import type { AttemptCause, InputRecord, RunState } from "./run_events.ts";

/** One attempt about to start, as the cache sees it. */
export interface CacheAttempt {
  /** The step. */
  readonly step: StepSpec;
  /** The attempt number. */
  readonly attempt: number;
  /** Why it starts. */
  readonly cause: AttemptCause;
  /** Its inputs, as `attempt_started` records them. */
  readonly inputs: Readonly<Record<string, InputRecord>>;
  /** Its effective confinement. */
  readonly confinement: Confinement;
}

/** Options of {@linkcode StepCacheShell}. */
export interface StepCacheShellOptions {
  /** Timestamps probes and entries. */
  readonly clock: Clock;
  /**
   * The run's environment fields the key covers, read once per runner (from
   * the run's environment snapshot).
   */
  readonly environment: () => Promise<CacheEnvironment>;
}

/** The run loop's access to the step cache. */
export class StepCacheShell {
  #store: Store;
  #options: StepCacheShellOptions;
  #environment: Promise<CacheEnvironment> | undefined;

  /**
   * @param store The open store (its `cache` port and artifact index).
   * @param options The clock and the environment fields.
   */
  constructor(store: Store, options: StepCacheShellOptions) {
    this.#store = store;
    this.#options = options;
  }

  /**
   * Decides whether an attempt reuses a cached result, recording its probe.
   *
   * @param state The run state (its id, workflow and `--no-cache`).
   * @param attempt The attempt about to start.
   * @returns `use_cached` with the entry's outputs, or `run`; `null` when the step does not cache.
   */
  async lookup(state: RunState, attempt: CacheAttempt): Promise<CacheDecision | null> {
    const { step } = attempt;
    const plan = cacheLookup({
      enabled: step.cache === true,
      noCache: state.no_cache === true,
      attempt: attempt.attempt,
      cause: attempt.cause,
    });
    if (plan.kind === "off") return null;
    this.#environment ??= this.#options.environment();
    const keyed = keyStep(step, {
      inputs: attempt.inputs,
      confinement: attempt.confinement,
      environment: await this.#environment,
    });
    let decision: CacheDecision;
    if (keyed.kind === "unkeyable") {
      decision = { kind: "run", outcome: "bypassed", reason: `step ${step.id}: ${keyed.reason}` };
    } else if (plan.kind === "bypass") {
      decision = { kind: "run", outcome: "bypassed", reason: plan.reason };
    } else {
      const entry = await this.#store.cache.get(keyed.key);
      const missing: string[] = [];
      for (const [name, id] of Object.entries(entry?.outputs ?? {})) {
        const ref = await this.#store.index.get(id);
        const present = ref !== undefined &&
          await this.#store.blobs.has(`${ref.run_id}/${ref.rel_path}`);
        if (!present) missing.push(name);
      }
      decision = useCached({ entry, missing });
    }
    const outcome: CacheOutcome = decision.kind === "use_cached" ? "hit" : decision.outcome;
    const probe: CacheProbe = {
      run_id: state.run_id,
      step_id: step.id,
      attempt: attempt.attempt,
      workflow_name: state.workflow_name ?? "",
      executor_kind: step.executor.kind,
      key: keyed.kind === "keyed" ? keyed.key : null,
      parts: keyed.kind === "keyed" ? keyed.parts : null,
      outcome,
      reason: decision.reason,
      cached_from: decision.kind === "use_cached" ? decision.from : null,
      at: this.#options.clock.now().toISOString(),
    };
    await this.#store.cache.recordProbe(probe);
    return decision;
  }

  /**
   * Stores the entry of a step's finished attempt when it may be reused: it
   * succeeded, did not come from the cache, every gate passed, and its
   * probe holds a key. A crash before this leaves no entry: a later run
   * misses and runs the step.
   *
   * @param state The run state after the step finished.
   * @param step The step.
   * @param attemptNo The attempt that finished it.
   */
  async remember(state: RunState, step: StepSpec, attemptNo: number): Promise<void> {
    if (step.cache !== true) return;
    const attempt = state.steps[step.id]?.attempts.find((a) => a.attempt === attemptNo);
    if (attempt === undefined || !cacheable(attempt)) return;
    const probe = (await this.#store.cache.probes(state.run_id, step.id))
      .find((p) => p.attempt === attemptNo);
    if (probe === undefined || probe.key === null || probe.parts === null) return;
    await this.#store.cache.put({
      key: probe.key,
      parts: probe.parts,
      workflow_name: probe.workflow_name,
      step_id: step.id,
      executor_kind: step.executor.kind,
      run_id: state.run_id,
      attempt: attemptNo,
      outputs: { ...attempt.outputs },
      created_at: this.#options.clock.now().toISOString(),
    });
  }
}
