/**
 * The content store's dedup: 1,000 puts of the same 1 MB payload against
 * 1,000 puts of distinct 1 MB payloads, each into a store of its own. Two
 * figures: the disk the files take (real blocks, `du`-like: every regular
 * file under `.iris/` but the index, each inode counted once; the index and
 * the layout's directories, one per artifact, are reported beside), and
 * the rate of a duplicate put against a new one.
 *
 * @module
 */

import { join } from "node:path";
import { openStore } from "../store.ts";
import { type BenchContext, type Figure, makeFigure, withTempDir } from "./_measure.ts";

const MB = 1024 * 1024;

/** Disk blocks in use under `.iris/`, each inode once, in bytes. */
interface Usage {
  /** Regular files but the index: payloads, manifests, lock files. */
  files: number;
  /** Directories: the layout's (one per artifact: `artifacts/<artifact_id>/`). */
  dirs: number;
  /** `index.sqlite` and its WAL. */
  index: number;
}

async function diskUsage(dir: string): Promise<Usage> {
  const seen = new Set<string>();
  const usage: Usage = { files: 0, dirs: 0, index: 0 };
  async function walk(path: string): Promise<void> {
    for await (const entry of Deno.readDir(path)) {
      const child = join(path, entry.name);
      const info = await Deno.lstat(child);
      if (entry.isDirectory) await walk(child);
      const id = `${info.dev}:${info.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const bytes = (info.blocks ?? 0) * 512;
      if (entry.name.startsWith("index.sqlite")) usage.index += bytes;
      else if (entry.isDirectory) usage.dirs += bytes;
      else usage.files += bytes;
    }
  }
  await walk(dir);
  return usage;
}

/** Puts `count` 1 MB payloads into a fresh store; `distinct` varies each. Returns puts/s and disk. */
async function putMany(
  dir: string,
  count: number,
  distinct: boolean,
): Promise<Usage & { rate: number }> {
  const payload = new Uint8Array(MB);
  for (let offset = 0; offset < MB; offset += 65536) {
    crypto.getRandomValues(payload.subarray(offset, offset + 65536));
  }
  const store = await openStore(dir);
  try {
    const runId = (await store.runs.create()).manifest.run_id;
    const options = { type: "blob.v1", fileName: "payload.bin" };
    // One put first, so both sides start with the store and its directories made.
    await store.artifacts.putBytes(runId, payload, options);
    const started = performance.now();
    for (let i = 1; i <= count; i++) {
      if (distinct) new DataView(payload.buffer).setUint32(0, i);
      await store.artifacts.putBytes(runId, payload, options);
    }
    const rate = count / ((performance.now() - started) / 1000);
    return { rate, ...(await diskUsage(join(dir, ".iris"))) };
  } finally {
    store.close();
  }
}

/**
 * Measures 1,000 puts (50 when quick) of the same 1 MB payload against as
 * many distinct ones.
 *
 * @param ctx The bench context.
 * @returns Two figures: disk of the duplicates in MB against the distinct
 * copies' (target ratio at most 1.05 / count: one payload plus 5 %), and
 * duplicate puts/s against new puts/s (target ratio at least 2).
 */
export async function benchDedup(ctx: BenchContext): Promise<Figure[]> {
  const count = ctx.quick ? 50 : 1000;
  return await withTempDir(async (dir) => {
    ctx.progress(`dedup: ${count} puts of one 1 MB payload, and of ${count} distinct ones`);
    const same = await putMany(join(dir, "same"), count, false);
    const distinct = await putMany(join(dir, "distinct"), count, true);
    const mb = (bytes: number) => `${(bytes / MB).toFixed(2)} MB`;
    ctx.progress(
      `dedup: beside the files, duplicates: index ${mb(same.index)}, directories ` +
        `${mb(same.dirs)}; distinct: index ${mb(distinct.index)}, directories ${mb(distinct.dirs)}`,
    );
    return [
      makeFigure({
        name: `dedup ${count} × 1 MB same payload, disk`,
        unit: "MB",
        value: same.files / MB,
        floor: distinct.files / MB,
        target: `<= ${(1.05 / count).toPrecision(3)}`,
      }),
      makeFigure({
        name: "dedup put 1 MB duplicate vs new",
        unit: "puts/s",
        value: same.rate,
        floor: distinct.rate,
        target: ">= 2",
      }),
    ];
  });
}
