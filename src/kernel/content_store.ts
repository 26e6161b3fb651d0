/**
 * The kernel's content-store operations: pin and unpin an artifact's
 * payload, and gc (`lily pin`, `lily unpin`, `lily gc`). What gc removes is
 * decided by `gc_plan.ts`; this shell gathers the facts and acts, holding
 * the put/gc lock exclusive (`BlobStore.exclusive`) from gathering to the
 * last removal, so a put running in another process is never half seen.
 *
 * Order, so a crash mid-gc loses nothing it should keep: the collected
 * artifacts are marked in the index first (one transaction); then their
 * paths, the unreferenced payloads and temp files are removed; then the gc
 * log row is written. A gc cut short leaves its remaining removals to the
 * next one (a marked artifact's payload is unreferenced then).
 *
 * @module
 */

import type { Clock } from "../core/clock.ts";
import { IntegrityError, LilyError, NotFoundError, UsageError } from "../core/errors.ts";
import { assertUuid } from "../core/ids.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import { readJournal } from "../runtime/run_journal.ts";
import { journalArtifactRefs } from "../runtime/run_journal_check.ts";
import type { ArtifactRef } from "../store/artifact_ref.ts";
import type { ArtifactPin, GcRecord } from "../store/retention.ts";
import { runReferences } from "./gc_references.ts";
import { storedRunRedactor } from "./run_redaction.ts";
import {
  type ArtifactReference,
  type GcFacts,
  type GcPlan,
  type GcRun,
  type GcSelection,
  planGc,
} from "./gc_plan.ts";

/** The longest pin reason, in characters. */
const MAX_REASON = 1000;

/** Options of {@linkcode ContentOperations.pin}. */
export interface PinOptions {
  /** Why, in words (at most 1000 characters). */
  readonly reason?: string;
}

/** What {@linkcode ContentOperations.pin} recorded. */
export interface PinResult extends ArtifactPin {
  /** The artifact's run. */
  readonly run_id: string;
  /** The payload's hash. */
  readonly sha256: string;
  /** Whether it was pinned already (the pin was updated). */
  readonly was_pinned: boolean;
}

/** Options of {@linkcode ContentOperations.gc}. */
export interface GcOptions {
  /**
   * Decide and report only; change nothing.
   * @default {false}
   */
  readonly dryRun?: boolean;
  /** Collect ended runs last updated at least this many ms ago. */
  readonly olderThanMs?: number;
  /** Collect every ended run but the newest N (N ≥ 0). */
  readonly keepLast?: number;
}

/** What {@linkcode ContentOperations.gc} did (or, dry, would do). */
export interface GcReport extends GcPlan {
  /** Whether nothing was changed. */
  readonly dry_run: boolean;
  /** The gc's id in the gc log; null for a dry run or a workspace without a store. */
  readonly gc_id: string | null;
  /** The selection given. */
  readonly selection: GcSelection;
  /** Bytes of the payloads removed. */
  readonly bytes_freed: number;
}

/** Pin, unpin and gc. */
export interface ContentOperations {
  /**
   * Pins an artifact's payload so gc never removes it (again: updates the reason).
   *
   * @param artifactId The artifact.
   * @param options Why.
   * @returns The pin.
   * @throws {UsageError} For an id that is no UUID or a reason too long.
   * @throws {NotFoundError} For an unknown artifact, or one whose payload gc removed.
   */
  pin(artifactId: string, options?: PinOptions): Promise<PinResult>;
  /**
   * Removes an artifact's pin.
   *
   * @param artifactId The artifact.
   * @returns The artifact and its run.
   * @throws {NotFoundError} For an unknown artifact, or one that is not pinned.
   */
  unpin(artifactId: string): Promise<{ artifact_id: string; run_id: string }>;
  /**
   * Collects the payloads of the selected runs and every unreferenced
   * payload (see `gc_plan.ts` for the model).
   *
   * @param options Dry run, `olderThanMs`, `keepLast`.
   * @returns What was (or would be) removed.
   * @throws {UsageError} For a negative or fractional `keepLast` or `olderThanMs`.
   */
  gc(options?: GcOptions): Promise<GcReport>;
}

/** What the content operations need from the kernel. */
export interface ContentDeps {
  /** Opens the workspace's existing store. */
  store(): Promise<ContractStore>;
  /** Whether the workspace has a store. */
  storeExists(): Promise<boolean>;
  /** The clock. */
  readonly clock: Clock;
  /** Who acts. */
  actor(): string;
  /** Makes the gc id. */
  newId(): string;
  /** The kernel's environment (a pin's reason is redacted with its run's secrets). */
  kernelEnv(): Readonly<Record<string, string>>;
}

/**
 * Creates the content operations over a kernel's store.
 *
 * @param deps The store, clock, actor and id source.
 * @returns The operations.
 */
export function contentOperations(deps: ContentDeps): ContentOperations {
  return {
    async pin(artifactId, options = {}) {
      assertUuid(artifactId, "artifact id");
      const reason = options.reason ?? null;
      if (reason !== null && (reason.length > MAX_REASON || reason.includes("\0"))) {
        throw new UsageError(
          `Invalid pin reason: expected at most ${MAX_REASON} characters without NUL, ` +
            `got ${reason.length}`,
        );
      }
      const store = await deps.store();
      const ref = await store.artifacts.ref(artifactId);
      const collected = await store.index.collection(artifactId);
      if (collected !== undefined) {
        throw new NotFoundError(
          `Artifact ${artifactId} cannot be pinned: its payload was removed by lily gc ` +
            `(gc ${collected.gc_id} at ${collected.collected_at})`,
        );
      }
      const redactor = await storedRunRedactor(store, ref.run_id, deps.kernelEnv());
      const pin: ArtifactPin = {
        artifact_id: artifactId,
        reason: reason === null ? null : redactor.text(reason),
        pinned_by: deps.actor(),
        pinned_at: deps.clock.now().toISOString(),
      };
      const was = await store.index.pin(pin);
      return { ...pin, run_id: ref.run_id, sha256: ref.sha256, was_pinned: was };
    },
    async unpin(artifactId) {
      assertUuid(artifactId, "artifact id");
      const store = await deps.store();
      const ref = await store.artifacts.ref(artifactId);
      if (!(await store.index.unpin(artifactId))) {
        throw new NotFoundError(
          `Artifact ${artifactId} is not pinned, so there is nothing to unpin ` +
            `(lily pin ${artifactId} pins it)`,
        );
      }
      return { artifact_id: artifactId, run_id: ref.run_id };
    },
    async gc(options = {}) {
      const selection = checkSelection(options);
      const dry = options.dryRun ?? false;
      if (!(await deps.storeExists())) return report(emptyPlan(), { dry, selection });
      const store = await deps.store();
      if (dry) return report(planGc(await gather(store, deps, selection)), { dry, selection });
      return await store.blobs.exclusive(async () => {
        const plan = planGc(await gather(store, deps, selection));
        const gcId = deps.newId();
        const at = deps.clock.now().toISOString();
        await store.index.markCollected(gcId, plan.artifacts, at);
        for (const key of plan.keys) await store.blobs.delete(key);
        for (const payload of plan.payloads) await store.blobs.removeContent(payload.sha256);
        for (const leftover of plan.leftovers) await store.blobs.removeLeftover(leftover);
        const done = report(plan, { dry, selection, gcId });
        const record: GcRecord = {
          gc_id: gcId,
          at,
          by: deps.actor(),
          selection,
          runs: plan.runs,
          artifacts: plan.artifacts,
          payloads: plan.payloads,
          bytes_freed: done.bytes_freed,
          keys: plan.keys,
          leftovers: plan.leftovers,
        };
        await store.index.recordGc(record);
        return done;
      });
    },
  };
}

function checkSelection(options: GcOptions): GcSelection {
  const check = (value: number | undefined, what: string, min: number) => {
    if (value === undefined) return null;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new UsageError(`Invalid ${what} ${value}: expected a whole number from ${min}`);
    }
    return value;
  };
  return {
    older_than_ms: check(options.olderThanMs, "older-than duration (ms)", 1),
    keep_last: check(options.keepLast, "keep-last count", 0),
  };
}

function emptyPlan(): GcPlan {
  return {
    runs: [],
    artifacts: [],
    pinned_kept: [],
    referenced_kept: [],
    keys: [],
    payloads: [],
    shared_kept: 0,
    leftovers: [],
  };
}

function report(
  plan: GcPlan,
  how: { dry: boolean; selection: GcSelection; gcId?: string },
): GcReport {
  return {
    dry_run: how.dry,
    gc_id: how.gcId ?? null,
    selection: how.selection,
    ...plan,
    bytes_freed: plan.payloads.reduce((sum, p) => sum + p.size, 0),
  };
}

/** Reads everything gc decides from. */
async function gather(
  store: ContractStore,
  deps: ContentDeps,
  selection: GcSelection,
): Promise<GcFacts> {
  const runs: GcRun[] = [];
  const keys: string[] = [];
  const references: ArtifactReference[] = [];
  for (const listing of await store.runs.list()) {
    keys.push(...await store.blobs.keys(`${listing.run_id}/artifacts`));
    references.push(...await runReferences(store, listing.run_id));
    // A run whose manifest is unreadable is never selected; its keys are kept by its rows.
    if (!("manifest" in listing)) continue;
    const manifest = listing.manifest;
    runs.push({
      run_id: manifest.run_id,
      status: manifest.status,
      created_at: manifest.created_at,
      updated_at: manifest.updated_at,
      live: await store.leases.isLive(manifest.run_id),
    });
  }
  const rows = await store.index.query();
  await refuseLostRows(store, rows, keys);
  return {
    now: deps.clock.now(),
    selection,
    runs,
    rows,
    collected: await store.index.collectedIds(),
    pinned: new Set((await store.index.pins()).map((p) => p.artifact_id)),
    contents: await store.blobs.contents(),
    keys,
    leftovers: await store.blobs.leftovers(),
    references,
  };
}

/**
 * Refuses to collect when a key without an index row belongs to an
 * artifact its run's journal or manifest records: then the index lost rows
 * (not a put that crashed before its row), and gc would take the only copy.
 */
async function refuseLostRows(
  store: ContractStore,
  rows: readonly ArtifactRef[],
  keys: readonly string[],
): Promise<void> {
  const known = new Set(rows.map((r) => r.artifact_id));
  // Keys are `<run_id>/artifacts/<artifact_id>/<name>`.
  const orphans = keys.map((key) => {
    const [runId = "", , artifactId = ""] = key.split("/");
    return { runId, artifactId };
  }).filter((o) => !known.has(o.artifactId));
  for (const runId of new Set(orphans.map((o) => o.runId))) {
    const recorded = new Set<string>();
    try {
      const manifest = await store.runs.get(runId);
      if (manifest.work_order_ref) recorded.add(manifest.work_order_ref.artifact_id);
      const { events } = await readJournal(store.events, runId);
      for (const ref of journalArtifactRefs(events)) recorded.add(ref.artifact_id);
    } catch (err) {
      if (!(err instanceof LilyError)) throw err;
      throw new IntegrityError(
        `Cannot gc: run ${runId} has payloads without index rows and its records cannot be ` +
          `read (${err.message}); run lily verify and repair the run first`,
        { cause: err },
      );
    }
    const lost = orphans.find((o) => o.runId === runId && recorded.has(o.artifactId));
    if (lost !== undefined) {
      throw new IntegrityError(
        `Cannot gc: artifact ${lost.artifactId} of run ${runId} is recorded by the run but missing from ` +
          `the index ${store.index.location()}; restore the index from a backup (lily verify ` +
          "lists what it lost), then gc",
      );
    }
  }
}
