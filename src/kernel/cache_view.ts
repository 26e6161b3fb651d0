/**
 * The kernel's `cache explain`: a step's last probe, the nearest earlier
 * entry (not of the same run, stored before the lookup) and what differs.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { Store } from "../store/store.ts";
import type { CacheEntry, CacheKeyParts, CacheProbe } from "../store/ports.ts";
import { foldEvents } from "../runtime/run_events.ts";
import { readJournal } from "../runtime/run_journal.ts";
import {
  type CacheExplanation,
  explainCache,
  keyPartDifferences,
  type NearestEntry,
  nearestEntry,
} from "../observe/cache_explain.ts";

/** How many of a step's (or an executor kind's) newest entries `explain` compares with. */
const NEAREST_POOL = 200;

/**
 * Explains why a step of a run hit or missed the cache.
 *
 * @param store The open store.
 * @param runId The run.
 * @param step The step.
 * @returns The explanation (`docs/cache.md`).
 * @throws {NotFoundError} When there is no such run.
 * @throws {UsageError} When the step is not one of the run's.
 */
export async function explainStepCache(
  store: Store,
  runId: string,
  step: string,
): Promise<CacheExplanation> {
  await store.runs.get(runId);
  const state = foldEvents(runId, (await readJournal(store.events, runId)).events);
  const stepState = state.steps[step];
  if (stepState === undefined) {
    throw new UsageError(
      `Run ${runId} has no step ${JSON.stringify(step)}; its steps: ` +
        (Object.keys(state.steps).join(", ") || "none"),
    );
  }
  const probe = (await store.cache.probes(runId, step)).at(-1);
  const parts = probe?.parts ?? null;
  return explainCache({
    runId,
    step,
    probe,
    started: stepState.attempts.length > 0,
    nearest: probe === undefined || parts === null ? null : await nearestOf(store, probe, parts),
  });
}

/**
 * The entry a probe is compared with: on a hit, the entry with its key;
 * else the nearest earlier entry of another run stored before the lookup.
 */
async function nearestOf(
  store: Store,
  probe: CacheProbe,
  parts: CacheKeyParts,
): Promise<NearestEntry | null> {
  if (probe.outcome === "hit") {
    const entry = probe.key === null ? undefined : await store.cache.get(probe.key);
    if (entry === undefined) return null;
    return { match: "same key", entry, differences: keyPartDifferences(entry.parts, parts) };
  }
  const earlier = (entries: CacheEntry[]) =>
    entries.filter((e) => e.run_id !== probe.run_id && e.created_at <= probe.at)
      .slice(0, NEAREST_POOL);
  return nearestEntry(parts, {
    sameStep: earlier(
      await store.cache.list({ step: probe.step_id, workflow: probe.workflow_name }),
    ),
    sameKind: earlier(await store.cache.list({ executorKind: probe.executor_kind })),
  });
}
