/**
 * What keeps payloads and what removed them: pins, the marks gc leaves on
 * the artifacts whose payloads it removed, and gc's own log. Kept in the
 * artifact index beside the artifact rows (which stay, immutable, after gc:
 * provenance still answers "this existed, its hash was X").
 *
 * @module
 */

/** A pin: keeps an artifact's payload from gc. */
export interface ArtifactPin {
  /** The pinned artifact. */
  readonly artifact_id: string;
  /** Why, in words, or null. */
  readonly reason: string | null;
  /** Who pinned it. */
  readonly pinned_by: string;
  /** When (ISO 8601 UTC). */
  readonly pinned_at: string;
}

/** The mark gc leaves on an artifact whose payload it removed. */
export interface ArtifactCollection {
  /** The artifact. */
  readonly artifact_id: string;
  /** The gc that removed its payload (its {@linkcode GcRecord.gc_id}). */
  readonly gc_id: string;
  /** When (ISO 8601 UTC). */
  readonly collected_at: string;
}

/** What one `lily gc` removed, as its log records it. */
export interface GcRecord {
  /** The gc's id (a UUID). */
  readonly gc_id: string;
  /** When it ran (ISO 8601 UTC). */
  readonly at: string;
  /** Who ran it. */
  readonly by: string;
  /** The selection it was given: `older_than_ms`, `keep_last` (null when not given). */
  readonly selection: { readonly older_than_ms: number | null; readonly keep_last: number | null };
  /** The runs whose artifacts it collected. */
  readonly runs: readonly string[];
  /** The artifacts it marked collected. */
  readonly artifacts: readonly string[];
  /** The payloads it removed from the content store. */
  readonly payloads: readonly { readonly sha256: string; readonly size: number }[];
  /** Bytes of payloads removed. */
  readonly bytes_freed: number;
  /** Keys (artifact paths) it removed: collected artifacts' and those without an index row. */
  readonly keys: readonly string[];
  /** Leftovers of interrupted puts it removed. */
  readonly leftovers: readonly string[];
}

/** Pins, collection marks and the gc log of one workspace. */
export interface RetentionIndex {
  /**
   * Pins an artifact, or updates its pin (reason, who, when).
   *
   * @param pin The pin.
   * @returns Whether it was pinned already.
   */
  pin(pin: ArtifactPin): Promise<boolean>;
  /**
   * Removes an artifact's pin.
   *
   * @param artifactId The artifact.
   * @returns Whether it was pinned.
   */
  unpin(artifactId: string): Promise<boolean>;
  /**
   * Lists every pin, oldest first.
   *
   * @returns The pins.
   */
  pins(): Promise<ArtifactPin[]>;
  /**
   * Tells whether (and by which gc) an artifact's payload was collected.
   *
   * @param artifactId The artifact.
   * @returns The mark, or `undefined` when its payload was not collected.
   */
  collection(artifactId: string): Promise<ArtifactCollection | undefined>;
  /**
   * Lists the ids of every artifact whose payload was collected.
   *
   * @returns The ids.
   */
  collectedIds(): Promise<Set<string>>;
  /**
   * Marks artifacts collected by a gc, in one transaction, before the gc
   * removes anything (a gc cut short leaves its removals to the next).
   *
   * @param gcId The gc.
   * @param artifactIds The artifacts.
   * @param at When (ISO 8601 UTC).
   */
  markCollected(gcId: string, artifactIds: readonly string[], at: string): Promise<void>;
  /**
   * Records what a gc removed.
   *
   * @param record The gc's record.
   */
  recordGc(record: GcRecord): Promise<void>;
  /**
   * Lists the gc log, oldest first.
   *
   * @returns Every gc's record.
   */
  gcLog(): Promise<GcRecord[]>;
}
