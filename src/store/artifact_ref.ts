/**
 * The ArtifactRef: everything the store knows about one stored artifact.
 *
 * @module
 */

/** How an artifact's payload is stored. */
export type StorageKind = "json" | "text" | "file";

/** Who made an artifact. */
export type ProducerKind = "tool" | "llm" | "human" | "system";

/** The storage kinds, in a fixed order. */
export const STORAGE_KINDS: readonly StorageKind[] = ["json", "text", "file"];

/** The producer kinds, in a fixed order. */
export const PRODUCER_KINDS: readonly ProducerKind[] = ["tool", "llm", "human", "system"];

/** A reference to one immutable stored artifact, with its provenance. */
export interface ArtifactRef {
  /** The artifact's UUID. */
  readonly artifact_id: string;
  /** The run it belongs to. */
  readonly run_id: string;
  /** Its type, e.g. `work_order.v1`. */
  readonly artifact_type: string;
  /** How its payload is stored. */
  readonly storage_kind: StorageKind;
  /** An optional, non-unique, human-friendly name. */
  readonly artifact_name: string | null;
  /** Payload path relative to the run root, e.g. `artifacts/<id>/payload.json`. */
  readonly rel_path: string;
  /** sha256 (hex) of the stored payload bytes. */
  readonly sha256: string;
  /** When it was stored (ISO-8601 UTC). */
  readonly created_at: string;
  /** The id of the step, tool, model or person that produced it. */
  readonly producer_id: string;
  /** What kind of producer that was. */
  readonly producer_kind: ProducerKind;
  /** Ids of the artifacts it was made from. */
  readonly input_artifact_refs: readonly string[];
  /** Size of the stored payload in bytes. */
  readonly size_bytes: number;
}
