/**
 * `putJson` of a 1 KB document against a floor that does by hand the work a
 * durable, indexed, content-addressed put cannot avoid: sha256, write and
 * fsync a temp file, link it under its hash in the content store (removing
 * the temp name) and fsync that directory, mkdir the artifact directory, hard-link the payload into
 * it, fsync it and its parent directory, and one committed SQLite insert
 * into a table of the same shape (WAL, `synchronous = FULL`).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openStore } from "../store.ts";
import {
  type BenchContext,
  type Figure,
  interleave,
  makeFigure,
  withTempDir,
  writeFully,
} from "./_measure.ts";

const DOCUMENT_BYTES = 1024;

function documentOf(seq: number, body: string): Record<string, unknown> {
  return {
    author: { id: "planner", kind: "llm" },
    body,
    seq: String(seq).padStart(8, "0"),
    steps: ["plan", "edit", "test", "review"].map((id, i) => ({ attempt: i + 1, id })),
    tags: ["alpha", "beta", "gamma"],
    title: "A one kilobyte benchmark document",
  };
}

const BODY = "lorem ipsum ".repeat(DOCUMENT_BYTES)
  .slice(0, DOCUMENT_BYTES - JSON.stringify(documentOf(0, "")).length);

/**
 * A JSON document of exactly {@linkcode DOCUMENT_BYTES} bytes. Its keys are in
 * sorted order and its values plain ASCII, so `JSON.stringify` gives the same
 * bytes as Lily's canonical form.
 */
function makeDocument(seq: number): Record<string, unknown> {
  return documentOf(seq, BODY);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/** The floor: one durable, indexed JSON put written out by hand. */
class FloorPut {
  #artifacts: string;
  #cas: string;
  #runId: string;
  #db: DatabaseSync;
  #insert;

  constructor(root: string, runId: string, db: DatabaseSync) {
    this.#artifacts = join(root, "artifacts");
    this.#cas = join(root, "cas");
    Deno.mkdirSync(join(this.#cas, "tmp"), { recursive: true });
    for (let i = 0; i < 256; i++) Deno.mkdirSync(join(this.#cas, i.toString(16).padStart(2, "0")));
    this.#runId = runId;
    this.#db = db;
    this.#insert = db.prepare(
      "INSERT INTO artifacts (artifact_id, run_id, artifact_type, storage_kind, artifact_name, " +
        "rel_path, sha256, created_at, producer_id, producer_kind, inputs_json, size_bytes) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
  }

  async put(value: unknown): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const id = crypto.randomUUID();
    const dir = join(this.#artifacts, id);
    await Deno.mkdir(dir);
    const temp = join(this.#cas, "tmp", `${id}.tmp`);
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o444 });
    try {
      await writeFully(file, bytes);
      await file.sync();
    } finally {
      file.close();
    }
    const shard = join(this.#cas, sha256.slice(0, 2));
    await Deno.link(temp, join(shard, sha256));
    await Deno.remove(temp);
    await syncDir(shard);
    await Deno.link(join(shard, sha256), join(dir, "payload.json"));
    await syncDir(dir);
    await syncDir(this.#artifacts);
    this.#insert.run(
      id,
      this.#runId,
      "bench.v1",
      "json",
      null,
      `artifacts/${id}/payload.json`,
      sha256,
      new Date().toISOString(),
      "lily",
      "system",
      "[]",
      bytes.length,
    );
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * Opens the floor's database: same pragmas as Lily's index, and its schema
 * (the `artifacts` table and its indexes, the lineage table and the trigger
 * that fills it) copied from Lily's own, in the order it was created.
 */
function openFloorDb(path: string, lilyIndexPath: string): DatabaseSync {
  const lily = new DatabaseSync(lilyIndexPath, { readOnly: true });
  let schema: string[];
  try {
    schema = (lily.prepare(
      "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid",
    ).all() as { sql: string }[]).map((row) => row.sql);
  } finally {
    lily.close();
  }
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  for (const sql of schema) db.exec(sql);
  return db;
}

/**
 * Measures `putJson` of a 1 KB document and its floor in alternating blocks
 * of 10 puts, after a warm-up of two blocks each.
 *
 * @param ctx The bench context.
 * @returns One figure in ops/s; the target is a ratio of at least 0.8.
 */
export async function benchPutJson(ctx: BenchContext): Promise<Figure[]> {
  const blocks = ctx.quick ? 6 : 100;
  const perBlock = 10;
  return await withTempDir(async (dir) => {
    const store = await openStore(join(dir, "workspace"));
    try {
      const { manifest } = await store.runs.create();
      const runId = manifest.run_id;
      const floorRoot = join(dir, "floor");
      await Deno.mkdir(join(floorRoot, "artifacts"), { recursive: true });
      const floor = new FloorPut(
        floorRoot,
        runId,
        openFloorDb(join(dir, "floor.sqlite"), join(dir, "workspace", ".iris", "index.sqlite")),
      );
      try {
        let seq = 0;
        const ms = await interleave({
          lily: () => store.artifacts.putJson(runId, makeDocument(seq++), { type: "bench.v1" }),
          floor: () => floor.put(makeDocument(seq++)),
        }, { blocks, perBlock, warmupBlocks: 2 });
        ctx.progress(
          `putJson: ${blocks} blocks of ${perBlock} puts each, median ms per put: ` +
            `Lily ${ms.lily.toFixed(2)}, floor ${ms.floor.toFixed(2)}`,
        );
        return [makeFigure({
          name: "putJson 1 KB",
          unit: "ops/s",
          value: 1000 / ms.lily,
          floor: 1000 / ms.floor,
          target: ">= 0.8",
        })];
      } finally {
        floor.close();
      }
    } finally {
      store.close();
    }
  });
}
