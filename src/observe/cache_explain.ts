/**
 * `lily cache explain`, as pure functions: a step attempt's key parts beside
 * those of the nearest earlier cache entry, with one readable line per part
 * that differs ("input `src` sha256 changed: ab12… → cd34…", "environment
 * deno_version 2.9.6 → 2.9.7"), and a reason for every outcome, a miss
 * above all: silent invalidation is the most common complaint about
 * Nextflow's, DVC's and Bazel's caches.
 *
 * @module
 */

import { canonicalHash } from "../core/canonical_json.ts";
import type { CacheEntry, CacheKeyParts, CacheProbe } from "../store/ports.ts";

/** The five parts of a key. */
export type CacheKeyPart = keyof CacheKeyParts;

/** One part of a key that differs from the nearest entry's. */
export interface CacheDifference {
  /** Which part. */
  readonly part: CacheKeyPart;
  /** Where inside it, dot-separated (an input's or an output's name, a field). */
  readonly path: string;
  /** The entry's value (`null`: it had none). */
  readonly before: unknown;
  /** This attempt's value (`null`: it has none). */
  readonly after: unknown;
  /** The difference in words. */
  readonly text: string;
}

/** An earlier entry a step's key is compared with. */
export interface NearestEntry {
  /**
   * How it was chosen: the entry with the attempt's key (a hit), else the
   * same step of the same workflow, else the same executor kind.
   */
  readonly match: "same key" | "same step" | "same executor kind";
  /** The entry. */
  readonly entry: CacheEntry;
  /** What differs, part by part. */
  readonly differences: readonly CacheDifference[];
}

/** One part of the key beside the nearest entry's, by the part's canonical hash. */
export interface PartSideBySide {
  /** The part. */
  readonly part: CacheKeyPart;
  /** sha256 of this attempt's part (canonical JSON), first 12 hex digits. */
  readonly attempt: string;
  /** The same of the nearest entry's part (null: no entry to compare with). */
  readonly nearest: string | null;
  /** Whether they are equal. */
  readonly same: boolean | null;
}

/** Why a step hit or missed. */
export interface CacheExplanation {
  /** The run. */
  readonly run_id: string;
  /** The step. */
  readonly step: string;
  /** The attempt explained (its last probed one), or null. */
  readonly attempt: number | null;
  /** What happened: a lookup outcome, or why there was no lookup. */
  readonly outcome: "hit" | "miss" | "bypassed" | "not_enabled" | "not_started";
  /** Why, in words. */
  readonly reason: string;
  /** The attempt's key, when it had one. */
  readonly key: string | null;
  /** Its key parts, when it had a key. */
  readonly parts: CacheKeyParts | null;
  /** On a hit: the attempt whose outputs were reused. */
  readonly cached_from: CacheProbe["cached_from"];
  /** The nearest earlier entry and what differs from it (null: none to compare with). */
  readonly nearest: NearestEntry | null;
  /** The key's parts beside the nearest entry's (empty without parts). */
  readonly parts_side_by_side: readonly PartSideBySide[];
}

const PARTS: readonly CacheKeyPart[] = ["executor", "inputs", "outputs", "policy", "environment"];

/** A value as it is shown: hashes shortened, JSON otherwise, long values cut. */
function shown(value: unknown): string {
  if (typeof value === "string" && /^[0-9a-f]{64}$/.test(value)) return `${value.slice(0, 12)}…`;
  if (typeof value === "string") return value;
  const text = JSON.stringify(value) ?? "none";
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The leaves of a JSON value by dot-separated path (arrays are leaves). */
function leaves(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (isRecord(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
  return out;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Differences of the named members of a part (inputs, outputs): added, removed, changed. */
function memberDifferences(
  part: "inputs" | "outputs",
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): CacheDifference[] {
  const noun = part === "inputs" ? "input" : "output";
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: CacheDifference[] = [];
  for (const name of names) {
    const [b, a] = [before[name], after[name]];
    if (same(b, a)) continue;
    const base = { part, path: name, before: b ?? null, after: a ?? null };
    if (b === undefined) {
      out.push({ ...base, text: `${noun} \`${name}\` added: ${shown(a)}` });
    } else if (a === undefined) {
      out.push({ ...base, text: `${noun} \`${name}\` removed (was ${shown(b)})` });
    } else if (part === "inputs") {
      out.push({ ...base, text: `input \`${name}\` sha256 changed: ${shown(b)} → ${shown(a)}` });
    } else {
      const fields = leafDifferences(b, a).map((d) => d.path).join(", ");
      out.push({
        ...base,
        text: `output \`${name}\` changed (${fields}): ${shown(b)} → ${shown(a)}`,
      });
    }
  }
  return out;
}

/** Leaf-by-leaf differences of two values. */
function leafDifferences(
  before: unknown,
  after: unknown,
): { path: string; before: unknown; after: unknown }[] {
  const [b, a] = [leaves(before, "", new Map()), leaves(after, "", new Map())];
  const paths = [...new Set([...b.keys(), ...a.keys()])].sort();
  return paths.filter((p) => !same(b.get(p), a.get(p))).map((p) => ({
    path: p,
    before: b.get(p) ?? null,
    after: a.get(p) ?? null,
  }));
}

/**
 * Names every part of a key that differs between an entry and an attempt.
 *
 * @param before The entry's parts.
 * @param after The attempt's parts.
 * @returns One difference per input or output added, removed or changed and
 * per field of the executor, the policy or the environment that changed,
 * in part order.
 */
export function keyPartDifferences(
  before: CacheKeyParts,
  after: CacheKeyParts,
): CacheDifference[] {
  const out: CacheDifference[] = [];
  for (const part of PARTS) {
    if (part === "inputs" || part === "outputs") {
      out.push(...memberDifferences(part, before[part], after[part]));
      continue;
    }
    for (const d of leafDifferences(before[part], after[part])) {
      const label = part === "environment" ? "environment" : part;
      out.push({
        part,
        ...d,
        text: `${label} ${d.path} ${part === "environment" ? "" : "changed: "}${
          shown(d.before)
        } → ${shown(d.after)}`,
      });
    }
  }
  return out;
}

/**
 * Chooses the nearest earlier entry: among the same step's entries (else
 * the same executor kind's), the one with the fewest differing parts, the
 * newest among equals.
 *
 * @param parts The attempt's key parts.
 * @param candidates The same step's entries and the same executor kind's, each newest first.
 * @returns The nearest entry with its differences, or null when there is none.
 */
export function nearestEntry(
  parts: CacheKeyParts,
  candidates: {
    readonly sameStep: readonly CacheEntry[];
    readonly sameKind: readonly CacheEntry[];
  },
): NearestEntry | null {
  const pool = candidates.sameStep.length > 0 ? candidates.sameStep : candidates.sameKind;
  let best: NearestEntry | null = null;
  for (const entry of pool) {
    const differences = keyPartDifferences(entry.parts, parts);
    if (best === null || differences.length < best.differences.length) {
      best = {
        match: candidates.sameStep.length > 0 ? "same step" : "same executor kind",
        entry,
        differences,
      };
    }
  }
  return best;
}

function partHash(value: unknown): string {
  return canonicalHash(value).slice(0, 12);
}

/**
 * Sets a key's parts beside an entry's.
 *
 * @param parts The attempt's parts.
 * @param entry The entry's parts, or null.
 * @returns One row per part, in key order.
 */
export function sideBySide(parts: CacheKeyParts, entry: CacheKeyParts | null): PartSideBySide[] {
  return PARTS.map((part) => {
    const [mine, theirs] = [partHash(parts[part]), entry ? partHash(entry[part]) : null];
    return { part, attempt: mine, nearest: theirs, same: theirs === null ? null : mine === theirs };
  });
}

/**
 * Explains a step's encounter with the cache.
 *
 * @param subject The run, the step, its last probe (undefined when it had none), whether it started, and the nearest entry.
 * @returns The outcome and its reason; for a miss or a bypass, the nearest
 * entry's differences are the reason's detail.
 */
export function explainCache(
  subject: {
    readonly runId: string;
    readonly step: string;
    readonly probe: CacheProbe | undefined;
    readonly started: boolean;
    readonly nearest: NearestEntry | null;
  },
): CacheExplanation {
  const { runId, step, probe, nearest } = subject;
  const base = {
    run_id: runId,
    step,
    cached_from: null,
    nearest: null,
    key: null,
    parts: null,
    parts_side_by_side: [],
  };
  if (probe === undefined) {
    return subject.started
      ? {
        ...base,
        attempt: null,
        outcome: "not_enabled",
        reason: `the cache is not enabled for step ${step} in this run's workflow ` +
          "(add cache: true to the step, or to the workflow)",
      }
      : { ...base, attempt: null, outcome: "not_started", reason: `step ${step} has not started` };
  }
  const known = {
    ...base,
    attempt: probe.attempt,
    key: probe.key,
    parts: probe.parts,
    parts_side_by_side: probe.parts === null
      ? []
      : sideBySide(probe.parts, subject.nearest?.entry.parts ?? null),
  };
  if (probe.outcome === "hit") {
    return {
      ...known,
      outcome: "hit",
      reason: probe.reason,
      cached_from: probe.cached_from,
      nearest,
    };
  }
  let detail = "";
  if (probe.parts !== null && probe.outcome === "miss") {
    if (nearest === null) detail = "; no earlier entry for this step or its executor kind";
    else {
      const e = nearest.entry;
      const what = nearest.differences.length === 0
        ? "has the same key parts"
        : `differs in: ${nearest.differences.map((d) => d.text).join("; ")}`;
      detail = `; the nearest earlier entry (${nearest.match}: run ${e.run_id} step ` +
        `${e.step_id} attempt ${e.attempt}) ${what}`;
    }
  }
  return { ...known, outcome: probe.outcome, reason: probe.reason + detail, nearest };
}
