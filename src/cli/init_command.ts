/**
 * `lily init [--pack NAME]`: writes `lily.json` and an example workflow
 * into the workspace, refusing to overwrite either.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { type CliContext, globalOptions, hint, withKernel } from "./context.ts";
import { emit } from "./output.ts";

/**
 * Adds `lily init` to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerInitCommand(program: Command, ctx: CliContext): void {
  program.command("init")
    .description("Write lily.json and an example workflow (workflow.yaml) into the workspace")
    .option("--pack <name>", "write this pack's example workflow (see lily pack list)")
    .action(async (opts, cmd) => {
      const g = globalOptions(cmd);
      const result = await withKernel(ctx, g, (kernel) => kernel.init({ pack: opts.pack }));
      emit(ctx.output, g.json, result, () => [
        ...result.files.map((f) => `wrote ${f}`),
        `Run the example with: ${hint(ctx, g, ["run", "start", "workflow.yaml"])}`,
      ]);
    });
}
