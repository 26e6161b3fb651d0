/**
 * The run manifest, `run_manifest.json`: a run's identity and status, written
 * atomically under the run lock and read back with validation.
 *
 * @module
 */

import type { Immutable } from "../core/immutable.ts";
import type { AssertTrue, SameType } from "../core/same_type.ts";
import { formatIssuePath } from "../core/issue.ts";
import { z } from "zod";
import { causeMessage, IntegrityError, NotFoundError } from "../core/errors.ts";
import type { ArtifactRef } from "./artifact_ref.ts";
import { storageError } from "../core/storage_error.ts";
import { writeFileAtomic } from "./durable_file.ts";

/** What to do about a damaged manifest, appended to its errors. */
const DAMAGED_HINT = "restore the file from a backup (lily verify lists every damaged file)";

/** Where a run is in its life. */
export type RunStatus = "created" | "running" | "waiting" | "failed" | "succeeded" | "cancelled";

/** The run statuses, in lifecycle order. */
export const RUN_STATUSES: readonly RunStatus[] = [
  "created",
  "running",
  "waiting",
  "failed",
  "succeeded",
  "cancelled",
];

/** The git state of the workspace when the run was created. */
export interface WorkspaceSnapshot {
  /** The git checkout's top-level directory. */
  readonly path: string;
  /** The commit HEAD pointed at, or null in a repository without commits. */
  readonly git_commit: string | null;
  /** Whether tracked or untracked files differed from that commit. */
  readonly dirty: boolean;
}

/** The contents of `run_manifest.json`, field names exactly as on disk. */
export interface RunManifest {
  /** The run's UUID. */
  readonly run_id: string;
  /** When the run was created (ISO-8601 UTC). */
  readonly created_at: string;
  /** When the manifest was last written (ISO-8601 UTC). */
  readonly updated_at: string;
  /** The kernel version that created the run. */
  readonly kernel_version: string;
  /** Where the run is in its life. */
  readonly status: RunStatus;
  /** The work order artifact, or null. */
  readonly work_order_ref: ArtifactRef | null;
  /** The workspace's git state, when the workspace is a git checkout. */
  readonly workspace_snapshot?: WorkspaceSnapshot;
  /** The run this one re-applies (`lily run replay --reapply`), when it does. */
  readonly reapply_of?: string;
}

const uuid = z.string().regex(
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  "expected a UUID",
);
const isoTime = z.iso.datetime();

const artifactRefSchema = z.object({
  artifact_id: uuid,
  run_id: uuid,
  artifact_type: z.string().min(1),
  storage_kind: z.enum(["json", "text", "file"]),
  artifact_name: z.string().nullable(),
  rel_path: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  created_at: isoTime,
  producer_id: z.string().min(1),
  producer_kind: z.enum(["tool", "llm", "human", "system"]),
  input_artifact_refs: z.array(uuid),
  size_bytes: z.number().int().nonnegative(),
});

const manifestSchema = z.object({
  run_id: uuid,
  created_at: isoTime,
  updated_at: isoTime,
  kernel_version: z.string().min(1),
  status: z.enum(RUN_STATUSES as [RunStatus, ...RunStatus[]]),
  work_order_ref: artifactRefSchema.nullable(),
  workspace_snapshot: z.object({
    path: z.string(),
    git_commit: z.string().nullable(),
    dirty: z.boolean(),
  }).optional(),
  reapply_of: uuid.optional(),
});

// The documented manifest (and its ArtifactRef) is exactly what the schema
// accepts: a field changed in one and not the other fails type-checking.
type _ManifestMatchesSchema = AssertTrue<
  SameType<RunManifest, Immutable<z.infer<typeof manifestSchema>>>
>;

/**
 * Parses and validates manifest text.
 *
 * @param text The file's contents.
 * @param path The file, for error messages.
 * @returns The manifest.
 * @throws {IntegrityError} When the text is not a valid manifest; the message
 * names the file and the first wrong field.
 */
export function parseManifest(text: string, path: string): RunManifest {
  if (text.includes("\0")) {
    throw new IntegrityError(
      `Unreadable run manifest ${path}: it holds NUL bytes (what a power loss leaves); ` +
        DAMAGED_HINT,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new IntegrityError(
      `Unreadable run manifest ${path}: not valid JSON (${causeMessage(err)}); ${DAMAGED_HINT}`,
      { cause: err },
    );
  }
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = formatIssuePath(issue.path.filter((k) => typeof k !== "symbol"));
    throw new IntegrityError(
      `Invalid run manifest ${path}: ${where}: ${issue.message}; ${DAMAGED_HINT}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/**
 * Reads and validates a manifest file.
 *
 * @param path The `run_manifest.json` path.
 * @param runId The run it must name (checked when given).
 * @returns The manifest.
 * @throws {NotFoundError} When the file does not exist.
 * @throws {IntegrityError} When it is not a valid manifest, or names another run.
 */
export async function readManifest(path: string, runId?: string): Promise<RunManifest> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`Run manifest ${path} does not exist`, { cause: err });
    }
    throw new IntegrityError(
      `Unreadable run manifest ${path}: ${storageError(err, path, "read").message}`,
      { cause: err },
    );
  }
  const manifest = parseManifest(text, path);
  if (runId !== undefined && manifest.run_id !== runId) {
    throw new IntegrityError(
      `Run manifest ${path} names run ${manifest.run_id}, not ${runId}: it was copied from ` +
        `another run or tampered with; ${DAMAGED_HINT}`,
    );
  }
  return manifest;
}

/**
 * The error for a run whose manifest is absent: the run does not exist, or
 * (when its directory does) its manifest was lost.
 *
 * @param root The run's directory.
 * @param path The `run_manifest.json` path.
 * @param runId The run.
 * @returns A {@linkcode NotFoundError} without the directory, else an
 * {@linkcode IntegrityError} saying what to do.
 */
export async function missingManifestError(
  root: string,
  path: string,
  runId: string,
): Promise<NotFoundError | IntegrityError> {
  const dir = await Deno.lstat(root).then((info) => info.isDirectory, () => false);
  return dir
    ? new IntegrityError(
      `Run ${runId} has lost its manifest: ${path} is missing although the run directory ` +
        `exists; ${DAMAGED_HINT}`,
    )
    : new NotFoundError(`Run ${runId} does not exist (no directory ${root})`);
}

/**
 * Writes a manifest atomically (the caller holds the run lock).
 *
 * @param path The `run_manifest.json` path.
 * @param manifest The manifest to write.
 */
export async function writeManifest(path: string, manifest: RunManifest): Promise<void> {
  await writeFileAtomic(path, manifestBytes(manifest));
}

/**
 * Serialises a manifest as it is stored: JSON indented by two spaces, with a
 * final newline, UTF-8.
 *
 * @param manifest The manifest.
 * @returns The file's bytes.
 */
export function manifestBytes(manifest: RunManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
}

/**
 * Checks that a run exists with a valid manifest, before it takes artifacts:
 * a corrupt run takes no new artifacts.
 *
 * @param run The run's directory and `run_manifest.json`.
 * @param runId The run id, for the message.
 * @throws {NotFoundError} When the run does not exist.
 * @throws {IntegrityError} When its manifest is invalid, names another run,
 * or is missing from an existing run directory.
 * @throws {StorageError} When the manifest cannot be read (names it).
 */
export async function requireRunManifest(
  run: { readonly root: string; readonly manifest: string },
  runId: string,
): Promise<void> {
  const manifestPath = run.manifest;
  try {
    const info = await Deno.lstat(manifestPath);
    if (!info.isFile) throw new Deno.errors.NotFound();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, manifestPath, "read");
    throw await missingManifestError(run.root, manifestPath, runId);
  }
  await readManifest(manifestPath, runId);
}
