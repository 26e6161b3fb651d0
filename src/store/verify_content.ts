/**
 * Verification of the content store (`.iris/cas/`): every payload file's
 * name is the sha256 of its bytes, every kept artifact's path is a link to
 * (or a reference to) the payload of its hash, and payloads nothing
 * references, like temp files of interrupted puts, are reported for gc.
 * Files are hashed once per inode, so an artifact linked into the content
 * store is not hashed twice.
 *
 * @module
 */

import { join } from "node:path";
import { sha256File } from "../core/canonical_json.ts";
import type { FsBlobStore } from "./fs/fs_blob_store.ts";
import { isPayloadName } from "./fs/fs_content_store.ts";

/** Hashes files, once per inode. */
export class InodeHasher {
  #known = new Map<string, string>();

  /**
   * The sha256 of a file's bytes.
   *
   * @param path The file.
   * @returns The hex digest.
   * @throws {Error} When it cannot be read.
   */
  async hash(path: string): Promise<string> {
    const info = await Deno.stat(path);
    const id = `${info.dev}:${info.ino}`;
    const known = this.#known.get(id);
    if (known !== undefined) return known;
    const digest = await sha256File(path);
    this.#known.set(id, digest);
    return digest;
  }
}

/** A content-store finding, as verification reports it. */
export interface ContentFinding {
  /** What it is. */
  readonly kind: "hash_mismatch" | "orphan_content" | "unlinked_payload" | "stray_entry";
  /** The artifact it concerns, when there is one. */
  readonly artifact_id: string | null;
  /** The run it concerns, when there is one. */
  readonly run_id: string | null;
  /** The file. */
  readonly path: string;
  /** What is wrong. */
  readonly detail: string;
}

/**
 * Tells whether an artifact's payload file is the content store's file for
 * its hash (the same inode), or a reference to it.
 *
 * @param blobs The blob store.
 * @param payload The artifact's payload path, as `openPath` gives it.
 * @param sha256 The hash the index records.
 * @returns A finding when it is neither, else `undefined`.
 */
export async function linkProblem(
  blobs: FsBlobStore,
  payload: string,
  sha256: string,
): Promise<string | undefined> {
  const cas = blobs.content.path(sha256);
  if (payload === cas) return undefined;
  let own: Deno.FileInfo;
  let stored: Deno.FileInfo;
  try {
    own = await Deno.stat(payload);
    stored = await Deno.stat(cas);
  } catch {
    return `its bytes are intact but the content store has no payload ${sha256} ` +
      "(stored before content addressing, or that payload was removed); it is not deduplicated";
  }
  if (own.dev === stored.dev && own.ino === stored.ino) return undefined;
  return `its file is not a link to the content store's payload ${cas}; it is not deduplicated`;
}

/**
 * Checks every payload of the content store and reports leftovers.
 *
 * @param blobs The blob store.
 * @param kept The hashes kept artifacts and pins reference.
 * @param hasher The shared per-inode hasher.
 * @returns The findings.
 */
export async function checkContentStore(
  blobs: FsBlobStore,
  kept: ReadonlySet<string>,
  hasher: InodeHasher,
): Promise<ContentFinding[]> {
  const findings: ContentFinding[] = [];
  const add = (kind: ContentFinding["kind"], path: string, detail: string) =>
    findings.push({ kind, artifact_id: null, run_id: null, path, detail });
  for (const content of await blobs.contents()) {
    const path = blobs.content.path(content.sha256);
    let actual: string;
    try {
      actual = await hasher.hash(path);
    } catch (err) {
      add("hash_mismatch", path, `payload is unreadable: ${(err as Error).message}`);
      continue;
    }
    if (actual !== content.sha256) {
      add(
        "hash_mismatch",
        path,
        `content store payload is damaged: its name says sha256 ${content.sha256}, its bytes ` +
          `hash to ${actual}; restore it from a backup (every artifact linked to it is damaged too)`,
      );
    } else if (!kept.has(content.sha256)) {
      add("orphan_content", path, "payload no kept artifact or pin references; lily gc removes it");
    }
  }
  for (const leftover of await blobs.leftovers()) {
    add("orphan_content", leftover, "temp file left by an interrupted put; lily gc removes it");
  }
  try {
    for await (const entry of Deno.readDir(blobs.content.dir)) {
      if (entry.isDirectory && /^[0-9a-f]{2}$/.test(entry.name)) {
        for await (const inner of Deno.readDir(join(blobs.content.dir, entry.name))) {
          if (isPayloadName(entry.name, inner)) continue;
          const path = join(blobs.content.dir, entry.name, inner.name);
          add("stray_entry", path, "entry the content store did not write");
        }
        continue;
      }
      if (entry.name === ".lock" || entry.name === "tmp") continue;
      add(
        "stray_entry",
        join(blobs.content.dir, entry.name),
        "entry the content store did not write",
      );
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return findings;
}
