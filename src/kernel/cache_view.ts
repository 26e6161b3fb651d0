/**
 * The kernel's `cache explain`: a step's last probe, the nearest earlier
 * entry (not of the same run, stored before the lookup) and what differs.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { Store } from "../store/store.ts";
import type { CacheEntry } from "../store/ports.ts";
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
  let nearest: NearestEntry | null = null;
  const hitEntry = probe?.outcome === "hit" && probe.key !== null
    ? await store.cache.get(probe.key)
    : undefined;
  if (probe?.parts != null && hitEntry !== undefined) {
    nearest = {
      match: "same key",
      entry: hitEntry,
      differences: keyPartDifferences(hitEntry.parts, probe.parts),
    };
  } else if (probe?.parts != null && probe.outcome !== "hit") {
    const earlier = (entries: CacheEntry[]) =>
      entries.filter((e) => e.run_id !== runId && e.created_at <= probe.at).slice(0, NEAREST_POOL);
    nearest = nearestEntry(probe.parts, {
      sameStep: earlier(await store.cache.list({ step, workflow: probe.workflow_name })),
      sameKind: earlier(await store.cache.list({ executorKind: probe.executor_kind })),
    });
  }
  return explainCache({
    runId,
    step,
    probe,
    started: stepState.attempts.length > 0,
    nearest,
  });
}
