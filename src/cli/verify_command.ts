/**
 * `lily verify [--run <id>] [--clean-partial]`.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { openContractStore } from "../contracts/contract_store.ts";
import {
  cleanPartialRuns,
  type PartialRunsCleaned,
  verifyWorkspace,
} from "../kernel/verify_workspace.ts";
import type { VerifyReport } from "../store/verify.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, workspaceOf } from "./context.ts";
import { existingWorkspace } from "../kernel/workspace.ts";
import { emitResult } from "./output.ts";

/**
 * Adds `verify` to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerVerifyCommand(program: Command, ctx: CliContext): void {
  program.command("verify")
    .description(
      "Check the index, every hash, manifest and run journal; report damaged files and " +
        "interrupted run creations",
    )
    .option("--run <run_id>", "check only this run")
    .option(
      "--clean-partial",
      "first remove what interrupted run creations left behind (runs/.creating-<id>) and " +
        "mark runs interrupted while starting as failed",
    )
    .action(async (opts, cmd) => {
      const g = globalOptions(cmd);
      // A damaged index is a finding, not a reason to stop: the store opens
      // anyway and verification goes on with what it can check.
      const store = await openContractStore(await existingWorkspace(workspaceOf(ctx, g)), {
        create: false,
        tolerateDamagedIndex: true,
      });
      let report: VerifyReport;
      let cleaned: PartialRunsCleaned | undefined;
      try {
        if (opts.cleanPartial) cleaned = await cleanPartialRuns(store);
        report = await verifyWorkspace(store, { runId: opts.run });
      } finally {
        store.close();
      }
      const errors = report.findings.filter((f) => f.severity === "error").length;
      const warnings = report.findings.length - errors;
      const summary = `${report.ok ? "OK" : "FAILED"}: ${report.runs_checked} runs, ` +
        `${report.artifacts_checked} artifacts checked, ${errors} errors, ${warnings} warnings`;
      emitResult(
        ctx.output,
        g.json,
        cleaned
          ? { ...report, partial_removed: cleaned.removed, interrupted_marked: cleaned.marked }
          : { ...report },
        () => [
          ...(cleaned?.removed ?? []).map((path) => `removed partial run creation ${path}`),
          ...(cleaned?.marked ?? []).map((id) =>
            `marked run ${id} failed: it was interrupted while starting and nothing ran`
          ),
          ...(cleaned?.busy
            ? ["a run is being created right now; nothing was removed, run this again in a moment"]
            : []),
          ...report.findings.map((f) =>
            `${f.severity} ${f.kind}:` + (f.run_id ? ` run ${f.run_id}` : "") +
            (f.artifact_id ? ` artifact ${f.artifact_id}` : "") + ` ${f.path}: ${f.detail}`
          ),
          summary,
        ],
        report.ok ? undefined : { message: summary, code: "integrity", said: true },
      );
    });
}
