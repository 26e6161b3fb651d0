/**
 * The artifact store: the only way payloads enter a run. It joins two ports:
 * every put stores the payload in the {@linkcode BlobStore} (which resolves
 * once it is durable), then commits one row to the {@linkcode ArtifactIndex},
 * so an index row never names a payload that is not durable. Each payload's
 * key is `<run_id>/artifacts/<artifact_id>/<file name>` with a fresh id, and
 * the blob store never overwrites a key: an overwrite is impossible by
 * construction.
 *
 * @module
 */

import { basename } from "node:path";
import { canonicalBytes, sha256Hex } from "../core/canonical_json.ts";
import {
  IntegrityError,
  LilyError,
  NotFoundError,
  PathSecurityError,
  UsageError,
} from "../core/errors.ts";
import { assertUuid, type IdSource, newArtifactId } from "../core/ids.ts";
import type { ArtifactIndex, ArtifactQuery, BlobInfo, BlobSource, BlobStore } from "./ports.ts";
import {
  type ArtifactRef,
  PRODUCER_KINDS,
  type ProducerKind,
  type StorageKind,
} from "./artifact_ref.ts";
import { storageError } from "../core/storage_error.ts";
import { checkFileName } from "./safe_path.ts";

/** What to do about a damaged payload, appended to its errors. */
const PAYLOAD_HINT = "restore it from a backup (lily verify lists every damaged file)";

const TYPE_ID = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,199}$/;
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
  /**
   * Checks that a run exists and may take artifacts (called once per run
   * before its first put); throws when it may not.
   * @default {no check}
   */
  checkRun?: (runId: string) => Promise<void>;
}

/** A json or text payload read back from the store, with its reference. */
export interface StoredPayload {
  /** The artifact's reference from the index. */
  readonly ref: ArtifactRef;
  /** The parsed JSON value, or the text. */
  readonly value: unknown;
}

/** Reads and writes the artifacts of every run in one workspace store. */
export class ArtifactStore {
  #blobs: BlobStore;
  #index: ArtifactIndex;
  #checkRun: (runId: string) => Promise<void>;
  #now: () => Date;
  #newId: IdSource;
  #defaultProducer: Producer;
  #checks: PayloadCheck[];
  /** Runs whose manifest this store has read and found valid (checked once per run). */
  #validRuns = new Set<string>();

  /**
   * Creates a store over a blob store and an open index.
   *
   * @param blobs Where payloads are kept.
   * @param index The open artifact index.
   * @param options Clock, id source, default producer, payload and run checks.
   */
  constructor(blobs: BlobStore, index: ArtifactIndex, options: ArtifactStoreOptions = {}) {
    this.#blobs = blobs;
    this.#index = index;
    this.#checkRun = options.checkRun ?? (() => Promise.resolve());
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
    return await this.#put(runId, "json", "payload.json", options, bytes);
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
    return await this.#put(runId, "text", "payload.txt", options, bytes);
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
    return await this.#put(runId, "file", fileName, options, bytes);
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
    return await this.#put(runId, "file", fileName, options, {
      file: sourcePath,
      move: options.move ?? false,
    });
  }

  async #put(
    runId: string,
    kind: StorageKind,
    fileName: string,
    options: PutOptions,
    data: BlobSource,
  ): Promise<ArtifactRef> {
    checkType(options.type);
    assertUuid(runId, "run id");
    if (!this.#validRuns.has(runId)) {
      await this.#checkRun(runId);
      this.#validRuns.add(runId);
    }
    const name = options.name === undefined ? null : checkArtifactName(options.name);
    const producer = checkProducer(options.producer ?? this.#defaultProducer);
    const inputs: string[] = [];
    for (const id of options.inputs ?? []) {
      inputs.push((await this.#requireArtifact(id)).artifact_id);
    }
    const artifactId = this.#newId();
    const relPath = `artifacts/${artifactId}/${fileName}`;
    let ref: ArtifactRef | undefined;
    // The row is committed inside the put, while gc cannot remove the bytes.
    await this.#blobs.put(`${runId}/${relPath}`, data, {
      commit: async (written: BlobInfo) => {
        ref = {
          artifact_id: artifactId,
          run_id: runId,
          artifact_type: options.type,
          storage_kind: kind,
          artifact_name: name,
          rel_path: relPath,
          sha256: written.sha256,
          created_at: this.#now().toISOString(),
          producer_id: producer.id,
          producer_kind: producer.kind,
          input_artifact_refs: inputs,
          size_bytes: written.size,
        };
        await this.#index.insert(ref);
      },
    });
    return ref!;
  }

  async #requireArtifact(artifactId: string): Promise<ArtifactRef> {
    const ref = await this.#index.get(assertUuid(artifactId, "artifact id"));
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
  async ref(artifactId: string): Promise<ArtifactRef> {
    return await this.#requireArtifact(artifactId);
  }

  /**
   * Reads a stored payload's bytes after checking the reference against the
   * index, the path against the run root and the bytes against the hash.
   *
   * @param ref An artifact id, or a reference that must match the index.
   * @returns The index's reference and the payload bytes.
   * @throws {IntegrityError} When the reference, path or hash does not match.
   * @throws {NotFoundError} When gc removed the payload (the message names the gc and the hash).
   */
  async readBytes(ref: ArtifactRef | string): Promise<{ ref: ArtifactRef; bytes: Uint8Array }> {
    const stored = await this.#matchIndex(ref);
    const path = await this.#payloadPath(stored);
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
    const stored = await this.#matchIndex(ref);
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
  async openPath(runId: string, artifactId: string): Promise<string> {
    assertUuid(runId, "run id");
    const ref = await this.#requireArtifact(artifactId);
    if (ref.run_id !== runId) {
      throw new NotFoundError(`Artifact ${artifactId} does not belong to run ${runId}`);
    }
    if (ref.storage_kind !== "file") {
      throw new UsageError(
        `Artifact ${artifactId} is a ${ref.storage_kind} artifact; openPath serves file artifacts only, use get`,
      );
    }
    return await this.#payloadPath(ref);
  }

  /**
   * Copies an artifact's payload to a new local file, for a step to read.
   * The copy is not checked against the hash here; the caller hashes it.
   *
   * @param artifactId The artifact id.
   * @param dest The file to create.
   * @returns The index's reference.
   * @throws {NotFoundError} When there is no such artifact.
   * @throws {IntegrityError} When the stored path escapes the run root.
   * @throws {StorageError} When the copy cannot be made (the message names `dest`).
   */
  async copyTo(artifactId: string, dest: string): Promise<ArtifactRef> {
    const ref = await this.#requireArtifact(artifactId);
    const source = await this.#payloadPath(ref);
    try {
      await Deno.copyFile(source, dest);
    } catch (err) {
      throw storageError(err, dest, "write");
    }
    return ref;
  }

  /**
   * Reads the last bytes of an artifact's payload without reading the rest
   * (for showing the end of a large log). The bytes are not checked against
   * the hash, which covers the whole payload.
   *
   * @param artifactId The artifact id.
   * @param maxBytes At most this many bytes.
   * @returns The bytes, and the payload's offset they start at.
   * @throws {NotFoundError} When there is no such artifact.
   * @throws {StorageError} When the payload cannot be read (the message names it).
   */
  async readTail(
    artifactId: string,
    maxBytes: number,
  ): Promise<{ bytes: Uint8Array; offset: number }> {
    const path = await this.#payloadPath(await this.#requireArtifact(artifactId));
    try {
      using file = await Deno.open(path);
      const size = (await file.stat()).size;
      const offset = Math.max(0, size - maxBytes);
      await file.seek(offset, Deno.SeekMode.Start);
      const bytes = new Uint8Array(size - offset);
      let read = 0;
      while (read < bytes.length) {
        const n = await file.read(bytes.subarray(read));
        if (n === null) break;
        read += n;
      }
      return { bytes: bytes.subarray(0, read), offset };
    } catch (err) {
      throw storageError(err, path, "read");
    }
  }

  /**
   * Lists one run's artifacts, newest first.
   *
   * @param runId The run.
   * @param filters Further filters (type, name, producer, sha256, time, limit).
   * @returns The matching references.
   */
  async list(runId: string, filters: Omit<ArtifactQuery, "runId"> = {}): Promise<ArtifactRef[]> {
    return await this.#index.query({ ...filters, runId: assertUuid(runId, "run id") });
  }

  /**
   * Queries artifacts across all runs, newest first.
   *
   * @param filters Run, type, name, producer, sha256, time and limit filters.
   * @returns The matching references.
   */
  async query(filters: ArtifactQuery = {}): Promise<ArtifactRef[]> {
    if (filters.runId !== undefined) assertUuid(filters.runId, "run id");
    return await this.#index.query(filters);
  }

  async #matchIndex(ref: ArtifactRef | string): Promise<ArtifactRef> {
    if (typeof ref === "string") return await this.#requireArtifact(ref);
    const stored = await this.#requireArtifact(ref.artifact_id);
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

  /**
   * The payload's local file, its stored path checked to stay inside its run.
   *
   * @throws {NotFoundError} When gc collected the payload (naming the gc and the hash).
   */
  async #payloadPath(ref: ArtifactRef): Promise<string> {
    const collected = await this.#index.collection(ref.artifact_id);
    if (collected !== undefined) {
      throw new NotFoundError(
        `Payload of artifact ${ref.artifact_id} was removed by lily gc (gc ${collected.gc_id} ` +
          `at ${collected.collected_at}); its sha256 was ${ref.sha256}; pin artifacts ` +
          "(lily pin) to keep their payloads from gc",
      );
    }
    try {
      return await this.#blobs.openPath(`${ref.run_id}/${ref.rel_path}`);
    } catch (err) {
      if (err instanceof PathSecurityError) {
        throw new IntegrityError(`Artifact ${ref.artifact_id}: ${err.message}`, { cause: err });
      }
      if (err instanceof Deno.errors.NotFound) {
        throw new IntegrityError(
          `Payload of artifact ${ref.artifact_id} is missing: its run ${ref.run_id} has no ` +
            `directory; ${PAYLOAD_HINT}`,
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
