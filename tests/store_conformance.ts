/**
 * The store conformance suite: what every store backend must do, written
 * once against the ports (`src/store/ports.ts`, exported by `store.ts`) and run against each backend
 * (as LangGraph's checkpoint-validation, go-workflows' backendtest and hono's
 * `common.case.test.ts` do). Today the filesystem + SQLite backend runs it
 * (`store_conformance_test.ts`); a PostgreSQL + S3 backend will call
 * {@linkcode runStoreSpec} with its own {@linkcode StoreSpecOptions}.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { createHash } from "node:crypto";
import { ConflictError, IntegrityError, NotFoundError } from "../mod.ts";
import {
  type ArtifactRef,
  type CacheEntry,
  type CacheProbe,
  LOG_START,
  type LogCodec,
  type Store,
} from "../store.ts";

/** A backend opened for one test, with the hooks only a backend can provide. */
export interface StoreUnderTest {
  /** The open store. */
  readonly store: Store;
  /**
   * Starts another process that takes `runId`'s lease and holds it until
   * killed; resolves once the lease is held.
   */
  holdLeaseElsewhere(runId: string): Promise<Deno.ChildProcess>;
  /**
   * Leaves a torn entry at the end of `runId`'s event log, as a writer
   * killed mid-append would.
   */
  tearLogTail(runId: string): Promise<void>;
  /**
   * Leaves `runId`'s event log holding entries' worth of NUL bytes, as a
   * power loss can.
   */
  zeroLog(runId: string): Promise<void>;
  /** Closes the store and removes everything the test created. */
  dispose(): Promise<void>;
}

/** Options of {@linkcode runStoreSpec}. */
export interface StoreSpecOptions {
  /** The backend's name, prefixed to every test name. */
  readonly name: string;
  /** Opens a fresh, empty backend. */
  readonly newStore: () => Promise<StoreUnderTest>;
}

const encoder = new TextEncoder();

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Entries `{ n }` numbered from 1 by line, like the run journal's `seq`. */
const NUMBERED: LogCodec<{ n: number }> = {
  label: "Test log",
  parse(value, line) {
    const n = (value as { n?: unknown })?.n;
    return n === line
      ? { entry: { n } }
      : { problem: `n is ${JSON.stringify(n)}, expected ${line}` };
  },
};

function ref(runId: string, id: string, overrides: Partial<ArtifactRef> = {}): ArtifactRef {
  return {
    artifact_id: id,
    run_id: runId,
    artifact_type: "t.v1",
    storage_kind: "text",
    artifact_name: null,
    rel_path: `artifacts/${id}/payload.txt`,
    sha256: "0".repeat(64),
    created_at: "2026-01-01T00:00:00.000Z",
    producer_id: "p",
    producer_kind: "tool",
    input_artifact_refs: [],
    size_bytes: 1,
    ...overrides,
  };
}

/**
 * Registers the conformance tests for one backend: blobs (content-addressed:
 * identical bytes stored once, commit inside the put, gc's exclusive hold),
 * the artifact index (pins, collection marks, gc log), the run event log (append, read, torn tail, NUL damage), the run
 * lease (exclusive, released by a killed holder, remembered as taken), the
 * locations named in messages, run control and the step cache.
 *
 * @param options The backend's name and how to open it.
 */
export function runStoreSpec(options: StoreSpecOptions): void {
  const test = (name: string, fn: (under: StoreUnderTest, runId: string) => Promise<void>) =>
    Deno.test(`${options.name}: ${name}`, async () => {
      const under = await options.newStore();
      try {
        const { manifest } = await under.store.runs.create();
        await fn(under, manifest.run_id);
      } finally {
        await under.dispose();
      }
    });

  test(
    "blobs: a put of bytes or a stream gives their sha256 and size, and reads back the same bytes",
    async ({ store }, runId) => {
      const bytes = encoder.encode("hello blobs\n");
      const key = `${runId}/artifacts/${crypto.randomUUID()}/a.txt`;
      const info = await store.blobs.put(key, bytes);
      assertEquals(info, { key, sha256: sha256(bytes), size: bytes.length });
      assertEquals(await readAll(await store.blobs.open(key)), bytes);
      assert(await store.blobs.has(key));
      assertEquals(await Deno.readFile(await store.blobs.openPath(key)), bytes);
      const streamed = `${runId}/artifacts/${crypto.randomUUID()}/b.txt`;
      const fromStream = await store.blobs.put(streamed, new Blob([bytes, bytes]).stream());
      assertEquals(fromStream.sha256, sha256(new Uint8Array([...bytes, ...bytes])));
      assertEquals(fromStream.size, 2 * bytes.length);
    },
  );

  test(
    "blobs: a local file is copied, or moved and gone from where it was",
    async ({ store }, runId) => {
      const dir = await Deno.makeTempDir();
      try {
        const source = `${dir}/source.bin`;
        const bytes = crypto.getRandomValues(new Uint8Array(60_000));
        await Deno.writeFile(source, bytes);
        const copied = await store.blobs.put(`${runId}/artifacts/${crypto.randomUUID()}/c.bin`, {
          file: source,
        });
        assertEquals(copied.sha256, sha256(bytes));
        assertEquals(await Deno.readFile(source), bytes, "a copy leaves its source");
        const moved = await store.blobs.put(`${runId}/artifacts/${crypto.randomUUID()}/m.bin`, {
          file: source,
          move: true,
        });
        assertEquals(await readAll(await store.blobs.open(moved.key)), bytes);
        await assertRejects(() => Deno.stat(source), Deno.errors.NotFound);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  test(
    "blobs: a taken key is never overwritten, and a deleted blob is gone",
    async ({ store }, runId) => {
      const key = `${runId}/artifacts/${crypto.randomUUID()}/once.txt`;
      await store.blobs.put(key, encoder.encode("first"));
      await assertRejects(() => store.blobs.put(key, encoder.encode("second")));
      assertEquals(new TextDecoder().decode(await readAll(await store.blobs.open(key))), "first");
      await store.blobs.delete(key);
      assertEquals(await store.blobs.has(key), false);
      await store.blobs.delete(key);
      await assertRejects(() => store.blobs.open(key), NotFoundError);
    },
  );

  test(
    "blobs: identical bytes under two keys are stored once; deleting one key leaves the other",
    async ({ store }, runId) => {
      const bytes = encoder.encode("the same bytes\n");
      const first = `${runId}/artifacts/${crypto.randomUUID()}/a.txt`;
      const second = `${runId}/artifacts/${crypto.randomUUID()}/b.txt`;
      await store.blobs.put(first, bytes);
      await store.blobs.put(second, new Blob([bytes]).stream());
      assertEquals(await store.blobs.contents(), [{ sha256: sha256(bytes), size: bytes.length }]);
      assertEquals(await store.blobs.keys(`${runId}/artifacts`), [first, second].sort());
      await store.blobs.delete(first);
      assertEquals(await readAll(await store.blobs.open(second)), bytes);
      assertEquals(await store.blobs.keys(`${runId}/artifacts`), [second]);
      assertEquals((await store.blobs.contents()).length, 1, "deleting a key removed the bytes");
    },
  );

  test(
    "blobs: a put's commit runs once the blob is stored; a failing commit fails the put and frees its key",
    async ({ store }, runId) => {
      const bytes = encoder.encode("committed");
      const key = `${runId}/artifacts/${crypto.randomUUID()}/c.txt`;
      let seen: unknown;
      const info = await store.blobs.put(key, bytes, {
        commit: async (stored) => {
          seen = stored;
          assert(await store.blobs.has(key), "the blob is not stored when commit runs");
        },
      });
      assertEquals(seen, info);
      const failing = `${runId}/artifacts/${crypto.randomUUID()}/d.txt`;
      await assertRejects(
        () => store.blobs.put(failing, bytes, { commit: () => Promise.reject(new Error("no")) }),
        Error,
        "no",
      );
      assertEquals(await store.blobs.has(failing), false);
    },
  );

  test(
    "blobs: no put runs while gc holds the store exclusive; unreferenced bytes can then be removed",
    async ({ store }, runId) => {
      const bytes = encoder.encode("waits for gc");
      const key = `${runId}/artifacts/${crypto.randomUUID()}/e.txt`;
      let stored = false;
      let pending: Promise<unknown> = Promise.resolve();
      await store.blobs.exclusive(async () => {
        pending = store.blobs.put(key, bytes).then(() => stored = true);
        await new Promise((resolve) => setTimeout(resolve, 200));
        assertEquals(stored, false, "a put ran while gc held the store");
      });
      await pending;
      assert(stored);
      await store.blobs.delete(key);
      await store.blobs.exclusive(() => store.blobs.removeContent(sha256(bytes)));
      assertEquals(await store.blobs.contents(), []);
      assertEquals(await store.blobs.leftovers(), []);
    },
  );

  test("index: pins, collection marks and the gc log read back", async ({ store }, runId) => {
    const row = ref(runId, crypto.randomUUID());
    await store.index.insert(row);
    const pin = {
      artifact_id: row.artifact_id,
      reason: "audit",
      pinned_by: "ada",
      pinned_at: "2026-01-01T00:00:00.000Z",
    };
    assertEquals(await store.index.pin(pin), false);
    assertEquals(await store.index.pin({ ...pin, reason: null }), true);
    assertEquals(await store.index.pins(), [{ ...pin, reason: null }]);
    assertEquals(await store.index.unpin(row.artifact_id), true);
    assertEquals(await store.index.unpin(row.artifact_id), false);
    const gcId = crypto.randomUUID();
    assertEquals(await store.index.collection(row.artifact_id), undefined);
    await store.index.markCollected(gcId, [row.artifact_id], "2026-01-02T00:00:00.000Z");
    assertEquals(await store.index.collection(row.artifact_id), {
      artifact_id: row.artifact_id,
      gc_id: gcId,
      collected_at: "2026-01-02T00:00:00.000Z",
    });
    assertEquals(await store.index.collectedIds(), new Set([row.artifact_id]));
    assertEquals(await store.index.get(row.artifact_id), row, "a collected row changed");
    const record = {
      gc_id: gcId,
      at: "2026-01-02T00:00:00.000Z",
      by: "ada",
      selection: { older_than_ms: null, keep_last: 0 },
      runs: [runId],
      artifacts: [row.artifact_id],
      payloads: [{ sha256: row.sha256, size: 1 }],
      bytes_freed: 1,
      keys: [],
      leftovers: [],
    };
    await store.index.recordGc(record);
    assertEquals(await store.index.gcLog(), [record]);
  });

  test("index: rows read back as inserted; unknown ids are undefined", async ({ store }, runId) => {
    const row = ref(runId, crypto.randomUUID(), { artifact_name: "n", input_artifact_refs: [] });
    await store.index.insert(row);
    assertEquals(await store.index.get(row.artifact_id), row);
    assertEquals(await store.index.get(crypto.randomUUID()), undefined);
  });

  test(
    "index: queries filter and give the newest first; counts are by type",
    async ({ store }, runId) => {
      const other = (await store.runs.create()).manifest.run_id;
      const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
      const a = ref(runId, crypto.randomUUID(), { created_at: at(1), artifact_name: "n" });
      const b = ref(runId, crypto.randomUUID(), {
        created_at: at(2),
        artifact_type: "u.v1",
        producer_id: "q",
        sha256: "1".repeat(64),
      });
      const c = ref(other, crypto.randomUUID(), { created_at: at(3), artifact_name: "n" });
      for (const row of [a, b, c]) await store.index.insert(row);
      const ids = (rows: ArtifactRef[]) => rows.map((r) => r.artifact_id);
      assertEquals(ids(await store.index.query({ runId })), [b.artifact_id, a.artifact_id]);
      assertEquals(ids(await store.index.query({ name: "n" })), [c.artifact_id, a.artifact_id]);
      assertEquals(ids(await store.index.query({ type: "u.v1" })), [b.artifact_id]);
      assertEquals(ids(await store.index.query({ producer: "q" })), [b.artifact_id]);
      assertEquals(ids(await store.index.query({ sha256: "1".repeat(64) })), [b.artifact_id]);
      assertEquals(ids(await store.index.query({ since: at(2), until: at(3) })), [b.artifact_id]);
      assertEquals(ids(await store.index.query({ limit: 1 })), [c.artifact_id]);
      assertEquals(await store.index.countByType(runId), { "t.v1": 1, "u.v1": 1 });
    },
  );

  test(
    "index: lineage gives an artifact's inputs and what was made from it, across runs",
    async ({ store }, runId) => {
      const other = (await store.runs.create()).manifest.run_id;
      const source = ref(runId, crypto.randomUUID(), { created_at: "2026-01-01T00:00:01.000Z" });
      const made = ref(runId, crypto.randomUUID(), {
        created_at: "2026-01-01T00:00:02.000Z",
        input_artifact_refs: [source.artifact_id],
      });
      const later = ref(other, crypto.randomUUID(), {
        created_at: "2026-01-01T00:00:03.000Z",
        input_artifact_refs: [made.artifact_id, source.artifact_id],
      });
      for (const row of [source, made, later]) await store.index.insert(row);
      assertEquals(await store.index.lineage(source.artifact_id), {
        inputs: [],
        outputs: [made, later],
      });
      assertEquals(await store.index.lineage(later.artifact_id), {
        inputs: [made, source],
        outputs: [],
      });
      assertEquals(await store.index.lineage(crypto.randomUUID()), { inputs: [], outputs: [] });
    },
  );

  test(
    "event log: appends issued together all become durable, in order, and read back",
    async ({ store }, runId) => {
      const { log, entries } = await store.events.open(runId, NUMBERED);
      try {
        assertEquals(entries, []);
        await Promise.all(Array.from({ length: 50 }, (_, i) => log.append({ n: i + 1 })));
        assertEquals(log.length, 50);
      } finally {
        log.close();
      }
      const read = await store.events.read(runId, NUMBERED);
      assertEquals(read.entries.map((e) => e.n), Array.from({ length: 50 }, (_, i) => i + 1));
      assertEquals(read.tornTail, false);
      const reopened = await store.events.open(runId, NUMBERED);
      reopened.log.close();
      assertEquals(reopened.entries.length, 50);
    },
  );

  test(
    "access log: a run's second log, with the same semantics, apart from its event log",
    async ({ store }, runId) => {
      const { log } = await store.access.open(runId, NUMBERED);
      try {
        await Promise.all([1, 2, 3].map((n) => log.append({ n })));
      } finally {
        log.close();
      }
      assertEquals((await store.access.read(runId, NUMBERED)).entries.map((e) => e.n), [1, 2, 3]);
      assertEquals((await store.events.read(runId, NUMBERED)).entries, []);
      assert(store.access.location(runId).includes(runId), store.access.location(runId));
      assert(store.access.location(runId) !== store.events.location(runId));
    },
  );

  test(
    "event log: a torn last entry is ignored by readers and cut off by the next writer",
    async (under, runId) => {
      const { store } = under;
      const first = await store.events.open(runId, NUMBERED);
      try {
        await first.log.append({ n: 1 });
        await first.log.append({ n: 2 });
      } finally {
        first.log.close();
      }
      await under.tearLogTail(runId);
      const torn = await store.events.read(runId, NUMBERED);
      assertEquals([torn.entries.length, torn.tornTail], [2, true]);
      const { log, entries } = await store.events.open(runId, NUMBERED);
      try {
        assertEquals(entries.length, 2);
        await log.append({ n: 3 });
      } finally {
        log.close();
      }
      const healed = await store.events.read(runId, NUMBERED);
      assertEquals([healed.entries.map((e) => e.n), healed.tornTail], [[1, 2, 3], false]);
    },
  );

  test(
    "event log: an entry the codec refuses is damage, not a torn tail",
    async ({ store }, runId) => {
      const { log } = await store.events.open(runId, NUMBERED);
      try {
        await log.append({ n: 7 });
        await log.append({ n: 2 });
      } finally {
        log.close();
      }
      await assertRejects(() => store.events.read(runId, NUMBERED), IntegrityError, "line 1");
    },
  );

  test(
    "event log: readFrom returns what was appended after a cursor, as a follower sees it",
    async (under, runId) => {
      const { store } = under;
      assertEquals(await store.events.readFrom(runId, NUMBERED, LOG_START), {
        entries: [],
        cursor: LOG_START,
      });
      const { log } = await store.events.open(runId, NUMBERED);
      let cursor = LOG_START;
      try {
        await log.append({ n: 1 });
        await log.append({ n: 2 });
        const first = await store.events.readFrom(runId, NUMBERED, cursor);
        assertEquals(first.entries.map((e) => e.n), [1, 2]);
        assertEquals(first.cursor.entries, 2);
        cursor = first.cursor;
        assertEquals((await store.events.readFrom(runId, NUMBERED, cursor)).entries, []);
        await log.append({ n: 3 });
        const next = await store.events.readFrom(runId, NUMBERED, cursor);
        assertEquals(next.entries.map((e) => e.n), [3]);
        cursor = next.cursor;
      } finally {
        log.close();
      }
      await under.tearLogTail(runId);
      const torn = await store.events.readFrom(runId, NUMBERED, cursor);
      assertEquals([torn.entries, torn.cursor], [[], cursor]);
      const whole = await store.events.readFrom(runId, NUMBERED, LOG_START);
      assertEquals(whole.entries.map((e) => e.n), [1, 2, 3]);
      assertEquals(whole.cursor, cursor);
    },
  );

  test("lease: one holder at a time; released, it can be taken again", async ({ store }, runId) => {
    assertEquals(await store.leases.isLive(runId), false);
    const held = await store.leases.acquire(runId);
    try {
      assertEquals(await store.leases.isLive(runId), true);
      await assertRejects(() => store.leases.acquire(runId), ConflictError);
    } finally {
      held.release();
    }
    assertEquals(await store.leases.isLive(runId), false);
    (await store.leases.acquire(runId)).release();
  });

  test("lease: a killed holder leaves the run free at once", async (under, runId) => {
    const { store } = under;
    const child = await under.holdLeaseElsewhere(runId);
    try {
      assertEquals(await store.leases.isLive(runId), true);
      await assertRejects(() => store.leases.acquire(runId), ConflictError);
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
    assertEquals(await store.leases.isLive(runId), false);
    (await store.leases.acquire(runId)).release();
  });

  test("lease: a run's lease, once taken, stays known as taken", async ({ store }, runId) => {
    const other = (await store.runs.create()).manifest.run_id;
    assertEquals(await store.leases.taken(runId), false);
    (await store.leases.acquire(runId)).release();
    assertEquals(await store.leases.taken(runId), true);
    assertEquals(await store.leases.isLive(runId), false);
    assertEquals(await store.leases.taken(other), false);
  });

  test(
    "locations: the index and each run's log name where they are, one per run",
    async ({ store }, runId) => {
      const other = (await store.runs.create()).manifest.run_id;
      assert(store.index.location().length > 0);
      assert(store.events.location(runId).includes(runId), store.events.location(runId));
      assert(store.events.location(runId) !== store.events.location(other));
    },
  );

  test(
    "cache: an entry by key, replaced by a newer one with its key; listed newest first, cleared by step",
    async ({ store }, runId) => {
      const entry = (key: string, step: string, at: string): CacheEntry => ({
        key,
        parts: {
          executor: { spec: { kind: "command", argv: ["true"] }, env: {}, env_pass: [] },
          inputs: { src: "a".repeat(64) },
          outputs: {},
          policy: { mode: "none" },
          environment: { deno_version: "2.9.6", deno_lock_sha256: null },
        },
        workflow_name: "w",
        step_id: step,
        executor_kind: "command",
        run_id: runId,
        attempt: 1,
        outputs: { out: crypto.randomUUID() },
        created_at: at,
      });
      const k1 = "1".repeat(64);
      assertEquals(await store.cache.get(k1), undefined);
      const first = entry(k1, "build", "2026-01-01T00:00:01.000Z");
      await store.cache.put(first);
      assertEquals(await store.cache.get(k1), first);
      const newer = { ...entry(k1, "build", "2026-01-01T00:00:02.000Z"), attempt: 2 };
      await store.cache.put(newer);
      assertEquals(await store.cache.get(k1), newer);
      const other = entry("2".repeat(64), "test", "2026-01-01T00:00:03.000Z");
      await store.cache.put(other);
      assertEquals((await store.cache.list()).map((e) => e.key), [other.key, k1]);
      assertEquals(await store.cache.list({ step: "build" }), [newer]);
      assertEquals(await store.cache.list({ executorKind: "deno" }), []);
      assertEquals(await store.cache.clear({ step: "build" }), 1);
      assertEquals(await store.cache.list(), [other]);
      assertEquals(await store.cache.clear(), 1);
      assertEquals(await store.cache.list(), []);
    },
  );

  test(
    "cache: probes by run and step, oldest attempt first; a probe again replaces its attempt's",
    async ({ store }, runId) => {
      const probe = (attempt: number, outcome: CacheProbe["outcome"]): CacheProbe => ({
        run_id: runId,
        step_id: "build",
        attempt,
        workflow_name: "w",
        executor_kind: "command",
        key: outcome === "hit" ? "3".repeat(64) : null,
        parts: null,
        outcome,
        reason: `because ${attempt}`,
        cached_from: outcome === "hit" ? { run: runId, step: "build", attempt: 1 } : null,
        at: "2026-01-01T00:00:00.000Z",
      });
      await store.cache.recordProbe(probe(2, "bypassed"));
      await store.cache.recordProbe(probe(1, "miss"));
      await store.cache.recordProbe(probe(1, "hit"));
      assertEquals(await store.cache.probes(runId, "build"), [
        probe(1, "hit"),
        probe(2, "bypassed"),
      ]);
      assertEquals(await store.cache.probes(runId, "other"), []);
      await store.cache.clear();
      assertEquals((await store.cache.probes(runId, "build")).length, 2);
    },
  );

  test(
    "event log: a log of only NUL bytes is damage, not a torn tail",
    async (under, runId) => {
      const { store } = under;
      await under.zeroLog(runId);
      await assertRejects(() => store.events.read(runId, NUMBERED), IntegrityError, "NUL");
    },
  );

  test(
    "control: a cancel request stays until cleared, for its run only",
    async ({ store }, runId) => {
      const other = (await store.runs.create()).manifest.run_id;
      assertEquals(await store.control.cancelRequested(runId), false);
      await store.control.requestCancel(runId);
      assertEquals(await store.control.cancelRequested(runId), true);
      assertEquals(await store.control.cancelRequested(other), false);
      await store.control.clearCancel(runId);
      assertEquals(await store.control.cancelRequested(runId), false);
      await store.control.clearCancel(runId);
    },
  );

  test(
    "control: each request has its own id, and clearing by id spares a newer request",
    async ({ store }, runId) => {
      assertEquals(await store.control.pendingCancel(runId), null);
      const first = await store.control.requestCancel(runId);
      assertEquals(await store.control.pendingCancel(runId), first);
      const second = await store.control.requestCancel(runId);
      assert(first !== second, "two requests share an id");
      await store.control.clearCancel(runId, first);
      assertEquals(await store.control.pendingCancel(runId), second);
      await store.control.clearCancel(runId, second);
      assertEquals(await store.control.pendingCancel(runId), null);
    },
  );
}
