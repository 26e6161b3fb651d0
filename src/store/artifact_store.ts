/**
 * The artifact store: the only way payloads enter a run. Every put writes the
 * payload, fsyncs it and its directories, then commits one index row, so an
 * index row never names a payload that is not durable. Artifact directories
 * are created exclusively: an overwrite is impossible by construction.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { canonicalBytes, sha256Hex } from "../core/canonical_json.ts";
import {
  IntegrityError,
  LilyError,
  NotFoundError,
  PathSecurityError,
  UsageError,
} from "../core/errors.ts";
import { assertUuid, type IdSource, newArtifactId } from "../core/ids.ts";
import type { ArtifactIndex, ArtifactQuery } from "./artifact_index.ts";
import {
  type ArtifactRef,
  PRODUCER_KINDS,
  type ProducerKind,
  type StorageKind,
} from "./artifact_ref.ts";
import { syncDir, syncFile, writeAll, writeNewFileSynced } from "./durable_file.ts";
import { storageError } from "../core/storage_error.ts";
import { type RunLayout, runLayout, type StoreLayout } from "./layout.ts";
import { missingManifestError, readManifest } from "./run_manifest.ts";
import { checkFileName, resolveInside } from "./safe_path.ts";

/** What to do about a damaged payload, appended to its errors. */
const PAYLOAD_HINT = "restore it from a backup (lily verify lists every damaged file)";

const TYPE_ID = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,199}$/;
const COPY_CHUNK = 4 * 1024 * 1024;
/** `.json` files up to this size get the JSON checks too when put as files. */
const JSON_FILE_CHECK_LIMIT = 64 * 1024 * 1024;

/** Who produced an artifact. */
export interface Producer {
  /** The step, tool, model or person id. */
  readonly id: string;
  /** What kind of producer it is. */
  readonly kind: ProducerKind;
}

/** What every put records besides the payload. */
export interface PutOptions {
  /** The artifact type, e.g. `work_order.v1`. */
  type: string;
  /** An optional human-friendly name (not unique). */
  name?: string;
  /**
   * Who produced it.
   * @default {the store's default producer}
   */
  producer?: Producer;
  /**
   * Ids of the artifacts it was made from; each must exist in the index.
   * @default {[]}
   */
  inputs?: readonly string[];
}

/** Options of {@linkcode ArtifactStore.putFile}. */
export interface PutFileOptions extends PutOptions {
  /**
   * Move the file into the store instead of copying it.
   * @default {false}
   */
  move?: boolean;
  /**
   * The stored file name.
   * @default {the source's base name}
   */
  fileName?: string;
}

/**
 * A check run on a JSON payload before anything is written, e.g. schema
 * validation from a higher layer. It throws to reject the put.
 */
export type PayloadCheck = (artifactType: string, value: unknown) => void;

/** Options of an {@linkcode ArtifactStore}. */
export interface ArtifactStoreOptions {
  /**
   * The clock that stamps `created_at`.
   * @default {() => new Date()}
   */
  now?: () => Date;
  /**
   * The source of artifact ids.
   * @default {newArtifactId}
   */
  newId?: IdSource;
  /**
   * The producer recorded when a put names none.
   * @default {{ id: "lily", kind: "system" }}
   */
  defaultProducer?: Producer;
  /** Checks run on JSON payloads before they are written. */
  checks?: readonly PayloadCheck[];
}

/** A json or text payload read back from the store, with its reference. */
export interface StoredPayload {
  /** The artifact's reference from the index. */
  readonly ref: ArtifactRef;
  /** The parsed JSON value, or the text. */
  readonly value: unknown;
}

interface Written {
  sha256: string;
  size: number;
}

/** Reads and writes the artifacts of every run in one workspace store. */
export class ArtifactStore {
  #layout: StoreLayout;
  #index: ArtifactIndex;
  #now: () => Date;
  #newId: IdSource;
  #defaultProducer: Producer;
  #checks: PayloadCheck[];
  /** Runs whose manifest this store has read and found valid (checked once per run). */
  #validRuns = new Set<string>();

  /**
   * Creates a store over an open index.
   *
   * @param layout The workspace store's paths.
   * @param index The open artifact index.
   * @param options Clock, id source, default producer and payload checks.
   */
  constructor(layout: StoreLayout, index: ArtifactIndex, options: ArtifactStoreOptions = {}) {
    this.#layout = layout;
    this.#index = index;
    this.#now = options.now ?? (() => new Date());
    this.#newId = options.newId ?? newArtifactId;
    this.#defaultProducer = options.defaultProducer ?? { id: "lily", kind: "system" };
    this.#checks = [...(options.checks ?? [])];
  }

  /**
   * Adds a check that every later JSON put must pass.
   *
   * @param check Throws to reject a payload.
   */
  addCheck(check: PayloadCheck): void {
    this.#checks.push(check);
  }

  /**
   * Stores a JSON value in canonical (RFC 8785) form, so the file's sha256 is
   * also the value's canonical hash.
   *
   * @param runId The run to store it in.
   * @param value Any JSON value.
   * @param options Type, name, producer and inputs.
   * @returns The new artifact's reference.
   */
  async putJson(runId: string, value: unknown, options: PutOptions): Promise<ArtifactRef> {
    checkType(options.type);
    const bytes = canonicalBytes(value);
    for (const check of this.#checks) check(options.type, value);
    return await this.#put(runId, "json", "payload.json", options, async (dest) => {
      await writeNewFileSynced(dest, bytes, { mode: 0o444 });
      return { sha256: sha256Hex(bytes), size: bytes.length };
    });
  }

  /**
   * Stores text as UTF-8.
   *
   * @param runId The run to store it in.
   * @param text The text.
   * @param options Type, name, producer and inputs.
   * @returns The new artifact's reference.
   */
  async putText(runId: string, text: string, options: PutOptions): Promise<ArtifactRef> {
    const bytes = new TextEncoder().encode(text);
    return await this.#put(runId, "text", "payload.txt", options, async (dest) => {
      await writeNewFileSynced(dest, bytes, { mode: 0o444 });
      return { sha256: sha256Hex(bytes), size: bytes.length };
    });
  }

  /**
   * Stores bytes as a file artifact named `fileName`, exactly as given (for
   * data read once from a user's file or a pipe). A `.json` name that parses
   * as JSON must pass the store's JSON checks first, as with
   * {@linkcode ArtifactStore.putFile}.
   *
   * @param runId The run to store it in.
   * @param bytes The payload.
   * @param options Type, name, producer, inputs and the stored `fileName`.
   * @returns The new artifact's reference.
   */
  async putBytes(
    runId: string,
    bytes: Uint8Array,
    options: PutOptions & { fileName: string },
  ): Promise<ArtifactRef> {
    const fileName = checkFileName(options.fileName);
    checkType(options.type);
    if (this.#checks.length > 0 && fileName.endsWith(".json")) {
      let value: unknown;
      let parsed = true;
      try {
        value = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        parsed = false;
      }
      if (parsed) { for (const check of this.#checks) check(options.type, value); }
    }
    return await this.#put(runId, "file", fileName, options, async (dest) => {
      await writeNewFileSynced(dest, bytes, { mode: 0o444 });
      return { sha256: sha256Hex(bytes), size: bytes.length };
    });
  }

  /**
   * Stores a file by copying it (hashing the bytes as they are written) or,
   * with `move`, by renaming it into the store and hashing it there. A
   * `.json` file (up to 64 MiB) that parses as JSON must pass the store's
   * JSON checks first, as {@linkcode ArtifactStore.putJson} payloads do; it
   * is read once and the bytes checked are the bytes stored.
   *
   * @param runId The run to store it in.
   * @param sourcePath The file to store; must be a regular file.
   * @param options Type, name, producer, inputs, `move` and `fileName`.
   * @returns The new artifact's reference.
   * @throws {NotFoundError} When the source does not exist.
   * @throws {UsageError} When the source is not a regular file.
   */
  async putFile(runId: string, sourcePath: string, options: PutFileOptions): Promise<ArtifactRef> {
    const source = await checkSourceFile(sourcePath, options.move ?? false);
    const size = source.size;
    const fileName = checkFileName(options.fileName ?? basename(sourcePath));
    checkType(options.type);
    if (this.#checks.length > 0 && fileName.endsWith(".json") && size <= JSON_FILE_CHECK_LIMIT) {
      // Read once, so the bytes checked are the bytes stored.
      const ref = await this.putBytes(runId, await Deno.readFile(sourcePath), {
        ...options,
        fileName,
      });
      if (options.move) await Deno.remove(sourcePath);
      return ref;
    }
    // A moved file with other hard links could be changed through them after
    // commit, so it is copied (and the source name removed) instead.
    const transfer = !options.move
      ? copyAndHash
      : source.nlink !== null && source.nlink > 1
      ? copyThenRemove
      : moveAndHash;
    return await this.#put(runId, "file", fileName, options, (dest) => transfer(sourcePath, dest));
  }

  async #put(
    runId: string,
    kind: StorageKind,
    fileName: string,
    options: PutOptions,
    write: (dest: string) => Promise<Written>,
  ): Promise<ArtifactRef> {
    checkType(options.type);
    const run = runLayout(this.#layout, runId);
    if (!this.#validRuns.has(runId)) {
      await requireRun(run, runId);
      this.#validRuns.add(runId);
    }
    const name = options.name === undefined ? null : checkArtifactName(options.name);
    const producer = checkProducer(options.producer ?? this.#defaultProducer);
    const inputs = (options.inputs ?? []).map((id) => this.#requireArtifact(id).artifact_id);
    const artifactId = this.#newId();
    const dirRel = `artifacts/${artifactId}`;
    // The id is fresh and mkdir refuses any existing entry (a planted symlink
    // included), so confining the existing artifacts/ dir confines the new one.
    const dir = join(resolveInside(run.root, "artifacts"), artifactId);
    try {
      await Deno.mkdir(dir);
    } catch (err) {
      // An existing directory means a reused id: Lily's own bug, not the disk's.
      if (err instanceof Deno.errors.AlreadyExists) throw err;
      throw storageError(err, dir, "create");
    }
    let written: Written;
    try {
      written = await write(join(dir, fileName));
      await syncDir(dir);
      await syncDir(run.artifacts);
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw storageError(err, join(dir, fileName), "write");
    }
    const ref: ArtifactRef = {
      artifact_id: artifactId,
      run_id: runId,
      artifact_type: options.type,
      storage_kind: kind,
      artifact_name: name,
      rel_path: `${dirRel}/${fileName}`,
      sha256: written.sha256,
      created_at: this.#now().toISOString(),
      producer_id: producer.id,
      producer_kind: producer.kind,
      input_artifact_refs: inputs,
      size_bytes: written.size,
    };
    this.#index.insert(ref);
    return ref;
  }

  #requireArtifact(artifactId: string): ArtifactRef {
    const ref = this.#index.get(assertUuid(artifactId, "artifact id"));
    if (!ref) throw new NotFoundError(`Artifact ${artifactId} does not exist in the index`);
    return ref;
  }

  /**
   * Looks up an artifact's reference by id.
   *
   * @param artifactId The artifact id.
   * @returns Its reference.
   * @throws {UsageError} When the id is not a UUID.
   * @throws {NotFoundError} When there is no such artifact.
   */
  ref(artifactId: string): ArtifactRef {
    return this.#requireArtifact(artifactId);
  }

  /**
   * Reads a stored payload's bytes after checking the reference against the
   * index, the path against the run root and the bytes against the hash.
   *
   * @param ref An artifact id, or a reference that must match the index.
   * @returns The index's reference and the payload bytes.
   * @throws {IntegrityError} When the reference, path or hash does not match.
   */
  async readBytes(ref: ArtifactRef | string): Promise<{ ref: ArtifactRef; bytes: Uint8Array }> {
    const stored = this.#matchIndex(ref);
    const path = this.#payloadPath(stored);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (err) {
      const reason = err instanceof Deno.errors.NotFound
        ? "it does not exist"
        : storageError(err, path, "read").message;
      throw new IntegrityError(
        `Payload of artifact ${stored.artifact_id} is missing or unreadable at ${path} ` +
          `(${reason}); ${PAYLOAD_HINT}`,
        { cause: err },
      );
    }
    const actual = sha256Hex(bytes);
    if (actual !== stored.sha256) {
      throw new IntegrityError(
        `Payload of artifact ${stored.artifact_id} at ${path} is corrupt: ` +
          `expected sha256 ${stored.sha256}, got ${actual}; ${PAYLOAD_HINT}`,
      );
    }
    return { ref: stored, bytes };
  }

  /**
   * Reads a json or text artifact.
   *
   * @param ref An artifact id, or a reference that must match the index.
   * @returns The parsed JSON value or the text, with the index's reference.
   * @throws {UsageError} For file artifacts; use {@linkcode ArtifactStore.openPath}.
   * @throws {IntegrityError} When the reference, path or hash does not match.
   */
  async get(ref: ArtifactRef | string): Promise<StoredPayload> {
    const stored = this.#matchIndex(ref);
    if (stored.storage_kind === "file") {
      throw new UsageError(
        `Artifact ${stored.artifact_id} is a file artifact; get reads json and text only, ` +
          "use openPath (lily artifact path) for files",
      );
    }
    const { bytes } = await this.readBytes(stored);
    const text = new TextDecoder().decode(bytes);
    return { ref: stored, value: stored.storage_kind === "json" ? JSON.parse(text) : text };
  }

  /**
   * Gives the validated absolute path of a file artifact's payload.
   *
   * @param runId The run the artifact must belong to.
   * @param artifactId The artifact id.
   * @returns A path inside the run root.
   * @throws {NotFoundError} When the artifact is not in that run.
   * @throws {UsageError} When it is not a file artifact.
   */
  // deno-lint-ignore require-await -- promise-based API; path checks are sync today
  async openPath(runId: string, artifactId: string): Promise<string> {
    assertUuid(runId, "run id");
    const ref = this.#requireArtifact(artifactId);
    if (ref.run_id !== runId) {
      throw new NotFoundError(`Artifact ${artifactId} does not belong to run ${runId}`);
    }
    if (ref.storage_kind !== "file") {
      throw new UsageError(
        `Artifact ${artifactId} is a ${ref.storage_kind} artifact; openPath serves file artifacts only, use get`,
      );
    }
    return this.#payloadPath(ref);
  }

  /**
   * Gives the validated absolute path of any artifact's payload, for reading.
   *
   * @param artifactId The artifact id.
   * @returns The index's reference and a path inside its run root.
   * @throws {NotFoundError} When there is no such artifact.
   * @throws {IntegrityError} When the stored path escapes the run root.
   */
  // deno-lint-ignore require-await -- promise-based API; path checks are sync today
  async payloadPath(artifactId: string): Promise<{ ref: ArtifactRef; path: string }> {
    const ref = this.#requireArtifact(artifactId);
    return { ref, path: this.#payloadPath(ref) };
  }

  /**
   * Lists one run's artifacts, newest first.
   *
   * @param runId The run.
   * @param filters Further filters (type, name, producer, sha256, time, limit).
   * @returns The matching references.
   */
  list(runId: string, filters: Omit<ArtifactQuery, "runId"> = {}): ArtifactRef[] {
    return this.#index.query({ ...filters, runId: assertUuid(runId, "run id") });
  }

  /**
   * Queries artifacts across all runs, newest first.
   *
   * @param filters Run, type, name, producer, sha256, time and limit filters.
   * @returns The matching references.
   */
  query(filters: ArtifactQuery = {}): ArtifactRef[] {
    if (filters.runId !== undefined) assertUuid(filters.runId, "run id");
    return this.#index.query(filters);
  }

  #matchIndex(ref: ArtifactRef | string): ArtifactRef {
    if (typeof ref === "string") return this.#requireArtifact(ref);
    const stored = this.#requireArtifact(ref.artifact_id);
    for (const field of ["run_id", "rel_path", "sha256", "storage_kind"] as const) {
      if (stored[field] !== ref[field]) {
        throw new IntegrityError(
          `Reference to artifact ${ref.artifact_id} does not match the index: ` +
            `${field} is ${JSON.stringify(ref[field])}, the index says ${
              JSON.stringify(stored[field])
            }`,
        );
      }
    }
    return stored;
  }

  #payloadPath(ref: ArtifactRef): string {
    const run = runLayout(this.#layout, ref.run_id);
    try {
      return resolveInside(run.root, ref.rel_path);
    } catch (err) {
      if (err instanceof PathSecurityError) {
        throw new IntegrityError(`Artifact ${ref.artifact_id}: ${err.message}`, { cause: err });
      }
      if (err instanceof Deno.errors.NotFound) {
        throw new IntegrityError(
          `Payload of artifact ${ref.artifact_id} is missing: its run directory ${run.root} ` +
            `does not exist; ${PAYLOAD_HINT}`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}

function checkType(type: string): void {
  if (!TYPE_ID.test(type)) {
    throw new UsageError(
      `Invalid artifact type ${JSON.stringify(type)}: expected letters, digits and . _ - / ` +
        "(at most 200), such as work_order.v1",
    );
  }
}

function checkArtifactName(name: string): string {
  if (name.length === 0 || name.length > 255 || name.includes("\0")) {
    throw new UsageError(
      `Invalid artifact name ${JSON.stringify(name.slice(0, 80))}: expected 1 to 255 ` +
        "characters without NUL",
    );
  }
  return name;
}

function checkProducer(producer: Producer): Producer {
  if (!PRODUCER_KINDS.includes(producer.kind)) {
    throw new UsageError(
      `Invalid producer kind ${JSON.stringify(producer.kind)}: expected one of ${
        PRODUCER_KINDS.join(", ")
      }`,
    );
  }
  if (producer.id.length === 0 || producer.id.length > 255 || producer.id.includes("\0")) {
    throw new UsageError(
      `Invalid producer id ${JSON.stringify(producer.id.slice(0, 80))}: expected 1 to 255 ` +
        "characters without NUL",
    );
  }
  return producer;
}

/** A put needs the run to exist with a valid manifest: a corrupt run takes no new artifacts. */
async function requireRun(run: RunLayout, runId: string): Promise<void> {
  try {
    const info = await Deno.lstat(run.manifest);
    if (!info.isFile) throw new Deno.errors.NotFound();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, run.manifest, "read");
    throw await missingManifestError(run.root, run.manifest, runId);
  }
  await readManifest(run.manifest, runId);
}

async function checkSourceFile(path: string, move: boolean): Promise<Deno.FileInfo> {
  let info: Deno.FileInfo;
  try {
    info = move ? await Deno.lstat(path) : await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`File ${path} does not exist`, { cause: err });
    }
    throw new LilyError(`Cannot read file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (info.isDirectory) {
    throw new UsageError(`${path} is a directory; expected a regular file`);
  }
  if (info.isSymlink) {
    throw new UsageError(`${path} is a symlink; a move takes regular files only, copy it instead`);
  }
  if (!info.isFile) throw new UsageError(`${path} is not a regular file`);
  return info;
}

async function copyThenRemove(source: string, dest: string): Promise<Written> {
  const written = await copyAndHash(source, dest);
  await removeSource(source);
  return written;
}

async function removeSource(source: string): Promise<void> {
  try {
    await Deno.remove(source);
  } catch (err) {
    throw storageError(err, source, "remove");
  }
}

async function openOrThrow(path: string, options: Deno.OpenOptions): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, options);
  } catch (err) {
    throw storageError(err, path, options.write ? "create" : "read");
  }
}

async function readChunk(
  file: Deno.FsFile,
  buffer: Uint8Array,
  path: string,
): Promise<number | null> {
  try {
    return await file.read(buffer);
  } catch (err) {
    throw storageError(err, path, "read");
  }
}

async function copyAndHash(source: string, dest: string): Promise<Written> {
  const hash = createHash("sha256");
  const input = await openOrThrow(source, { read: true });
  try {
    const output = await openOrThrow(dest, { write: true, createNew: true, mode: 0o444 });
    try {
      const buffer = new Uint8Array(COPY_CHUNK);
      let size = 0;
      while (true) {
        const n = await readChunk(input, buffer, source);
        if (n === null) break;
        const chunk = buffer.subarray(0, n);
        hash.update(chunk);
        await writeAll(output, chunk, { path: dest });
        size += n;
      }
      await syncFile(output, dest);
      return { sha256: hash.digest("hex"), size };
    } finally {
      output.close();
    }
  } finally {
    input.close();
  }
}

async function moveAndHash(source: string, dest: string): Promise<Written> {
  try {
    await Deno.rename(source, dest);
    await Deno.chmod(dest, 0o444);
  } catch (err) {
    if (!(err instanceof Error && /cross-device|EXDEV/i.test(err.message))) {
      throw storageError(err, dest, "move a file to");
    }
    const written = await copyAndHash(source, dest);
    await removeSource(source);
    return written;
  }
  try {
    const file = await openOrThrow(dest, { read: true });
    try {
      await syncFile(file, dest);
      const hash = createHash("sha256");
      const buffer = new Uint8Array(COPY_CHUNK);
      let size = 0;
      while (true) {
        const n = await readChunk(file, buffer, dest);
        if (n === null) break;
        hash.update(buffer.subarray(0, n));
        size += n;
      }
      return { sha256: hash.digest("hex"), size };
    } finally {
      file.close();
    }
  } catch (err) {
    await Deno.rename(dest, source).catch(() => {});
    throw err;
  }
}
