/**
 * `lily verify`.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { verifyWorkspace } from "../kernel/verify_workspace.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, withStore } from "./context.ts";
import { emitResult } from "./output.ts";

/**
 * Adds `verify` to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerVerifyCommand(program: Command, ctx: CliContext): void {
  program.command("verify")
    .description("Recompute every hash; check index, files, manifests and run journals agree")
    .option("--run <run_id>", "check only this run")
    .action(async (opts, cmd) => {
      const g = globalOptions(cmd);
      const report = await withStore(
        ctx,
        g,
        false,
        (store) => verifyWorkspace(store, { runId: opts.run }),
      );
      const errors = report.findings.filter((f) => f.severity === "error").length;
      const warnings = report.findings.length - errors;
      const summary = `${report.ok ? "OK" : "FAILED"}: ${report.runs_checked} runs, ` +
        `${report.artifacts_checked} artifacts checked, ${errors} errors, ${warnings} warnings`;
      emitResult(
        ctx.output,
        g.json,
        { ...report },
        () => [
          ...report.findings.map((f) =>
            `${f.severity} ${f.kind}: run ${f.run_id}` +
            (f.artifact_id ? ` artifact ${f.artifact_id}` : "") + ` ${f.path}: ${f.detail}`
          ),
          summary,
        ],
        report.ok ? undefined : { message: summary, code: "integrity", said: true },
      );
    });
}
