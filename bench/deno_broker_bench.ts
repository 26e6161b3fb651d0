/**
 * Deno's permission broker on vs off: wall time of a `deno run` that reads
 * 1,000 files of a workspace, with the kernel answering every read check
 * (`startDenoBroker`, each path resolved in the process's own view) against
 * the same `deno run` with `--allow-read=<workspace>` alone. No target: the
 * issue asks for the ratio only.
 *
 * @module
 */

import { join } from "node:path";
import { type BenchContext, type Figure, interleave, makeFigure, withTempDir } from "./_measure.ts";
import { startDenoBroker } from "../src/runtime/executors/deno_broker.ts";

const READER = `
const dir = Deno.args[0];
let bytes = 0;
for (let i = 0; i < Number(Deno.args[1]); i++) bytes += Deno.readFileSync(\`\${dir}/f\${i}.txt\`).length;
console.log(bytes);
`;

async function runDeno(args: string[], env: Record<string, string>, expect: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const printed = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || printed !== expect) {
    throw new Error(
      `The reader failed (exit ${out.code}, printed ${JSON.stringify(printed)}): ` +
        new TextDecoder().decode(out.stderr).trim(),
    );
  }
}

/**
 * Measures both sides, alternating, after one warm-up of each; reports the medians.
 *
 * @param ctx The bench context.
 * @returns One figure in ms, without a target.
 */
export async function benchDenoBroker(ctx: BenchContext): Promise<Figure[]> {
  const files = ctx.quick ? 100 : 1000;
  const tries = ctx.quick ? 3 : 7;
  return await withTempDir(async (dir) => {
    const ws = join(dir, "ws");
    await Deno.mkdir(ws);
    for (let i = 0; i < files; i++) await Deno.writeTextFile(join(ws, `f${i}.txt`), "x");
    const reader = join(ws, "reader.js");
    await Deno.writeTextFile(reader, READER);
    const args = ["run", "--no-prompt", `--allow-read=${ws}`, reader, ws, String(files)];
    const expect = String(files);
    let checks = 0;
    const broker = startDenoBroker({
      socketPath: join(dir, "b.sock"),
      rules: { read: [ws], write: [], deny: [], readOnly: [], net: [], env: [], run: [], sys: [] },
      onAccess: (record) => {
        checks++;
        if (!record.allowed) {
          throw new Error(`The broker denied ${record.target}: ${record.reason}`);
        }
      },
    });
    try {
      const ms = await interleave({
        lily: async () => {
          const child = new Deno.Command(Deno.execPath(), {
            args,
            env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...broker.env },
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          broker.track(child.pid);
          const out = await child.output();
          const printed = new TextDecoder().decode(out.stdout).trim();
          if (!out.success || printed !== expect) {
            throw new Error(`The brokered reader failed (exit ${out.code}, printed ${printed})`);
          }
        },
        floor: () => runDeno(args, {}, expect),
      }, { blocks: tries, perBlock: 1 });
      ctx.progress(`deno broker: ${tries} tries each, ${checks} checks answered`);
      return [makeFigure({
        name: `deno broker on/off, ${files} reads`,
        unit: "ms",
        value: ms.lily,
        floor: ms.floor,
      })];
    } finally {
      await broker.close();
    }
  });
}
