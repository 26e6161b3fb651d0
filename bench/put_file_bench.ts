/**
 * `putFile` of a large file, copied and moved, against the same work done by
 * the system tools: `cp` then `sha256sum` (copy), `mv` then `sha256sum`
 * (move). Each side runs after a `sync`, so none pays for another's
 * writeback; the best of three is reported.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { openStore } from "../store.ts";
import {
  type BenchContext,
  type Figure,
  flushDisk,
  makeFigure,
  runTool,
  withTempDir,
  writeFully,
} from "./_measure.ts";

const MB = 1024 * 1024;
const TRIES = 3;

type SideName = "copyLily" | "copyFloor" | "moveLily" | "moveFloor";

/** One side of a comparison: untimed preparation, then the timed work. */
interface Side {
  /** Puts the input in place; not timed. */
  prepare?: () => Promise<void>;
  /** The timed work; returns the path it created, removed afterwards. */
  run: () => Promise<string>;
}

async function writeSourceFile(path: string, size: number): Promise<void> {
  const chunk = new Uint8Array(4 * MB);
  for (let offset = 0; offset < chunk.length; offset += 65536) {
    crypto.getRandomValues(chunk.subarray(offset, offset + 65536));
  }
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    for (let written = 0; written < size; written += chunk.length) {
      new DataView(chunk.buffer).setUint32(0, written);
      await writeFully(file, chunk.subarray(0, Math.min(chunk.length, size - written)));
    }
  } finally {
    file.close();
  }
}

async function sha256sum(path: string): Promise<string> {
  return (await runTool("sha256sum", [path])).split(" ")[0];
}

function checkHash(side: string, actual: string, expected: string): void {
  if (actual !== expected) {
    throw new Error(`Failed to cross-check ${side}: expected sha256 ${expected}, got ${actual}`);
  }
}

/**
 * Measures `putFile` with copy and with move of a large file (200 MB, or
 * 20 MB when quick, new random bytes each try) and their floors, alternating
 * sides over three tries.
 *
 * @param ctx The bench context.
 * @returns Two figures in ms: copy (target ratio at most 1.2) and move (no target).
 */
export async function benchPutFile(ctx: BenchContext): Promise<Figure[]> {
  const sizeMb = ctx.quick ? 20 : 200;
  return await withTempDir(async (dir) => {
    // Each try writes new random payloads (untimed), so no put meets one the
    // content store already holds: a duplicate would only be linked.
    const copySource = join(dir, "copy.bin");
    const moveOriginal = join(dir, "move_original.bin");
    const moveSource = join(dir, "move.bin");
    const expected = { copy: "", move: "" };
    const freshPayloads = async () => {
      for (const path of [copySource, moveOriginal]) await Deno.remove(path).catch(() => {});
      await writeSourceFile(copySource, sizeMb * MB);
      await writeSourceFile(moveOriginal, sizeMb * MB);
      expected.copy = await sha256sum(copySource);
      expected.move = await sha256sum(moveOriginal);
    };
    const store = await openStore(join(dir, "workspace"));
    try {
      const { manifest, path: runRoot } = await store.runs.create();
      const runId = manifest.run_id;
      const floorDest = join(dir, "floor.bin");
      const prepareMove = () => Deno.copyFile(moveOriginal, moveSource);
      const lilyPut = async (from: string, move: boolean) => {
        const ref = await store.artifacts.putFile(runId, from, { type: "blob.v1", move });
        checkHash(
          `putFile ${move ? "move" : "copy"}`,
          ref.sha256,
          move ? expected.move : expected.copy,
        );
        return dirname(join(runRoot, ref.rel_path));
      };
      const floorHash = async (tool: string, hash: string) => {
        checkHash(`${tool} + sha256sum`, await sha256sum(floorDest), hash);
        return floorDest;
      };
      const sides: Record<SideName, Side> = {
        copyLily: { run: () => lilyPut(copySource, false) },
        copyFloor: {
          run: async () => {
            await runTool("cp", [copySource, floorDest]);
            return await floorHash("cp", expected.copy);
          },
        },
        moveLily: { prepare: prepareMove, run: () => lilyPut(moveSource, true) },
        moveFloor: {
          prepare: prepareMove,
          run: async () => {
            await runTool("mv", [moveSource, floorDest]);
            return await floorHash("mv", expected.move);
          },
        },
      };
      const best = {
        copyLily: Infinity,
        copyFloor: Infinity,
        moveLily: Infinity,
        moveFloor: Infinity,
      };
      for (let i = 0; i < TRIES; i++) {
        await freshPayloads();
        const order: SideName[] = i % 2 === 0
          ? ["copyLily", "copyFloor", "moveLily", "moveFloor"]
          : ["copyFloor", "copyLily", "moveFloor", "moveLily"];
        for (const name of order) {
          const side = sides[name];
          await side.prepare?.();
          await flushDisk();
          const start = performance.now();
          const output = await side.run();
          best[name] = Math.min(best[name], performance.now() - start);
          await Deno.remove(output, { recursive: true });
        }
        ctx.progress(`putFile: try ${i + 1} of ${TRIES} done`);
      }
      return [
        makeFigure({
          name: `putFile copy ${sizeMb} MB`,
          unit: "ms",
          value: best.copyLily,
          floor: best.copyFloor,
          target: "<= 1.2",
        }),
        makeFigure({
          name: `putFile move ${sizeMb} MB`,
          unit: "ms",
          value: best.moveLily,
          floor: best.moveFloor,
        }),
      ];
    } finally {
      store.close();
    }
  });
}
