/**
 * `lily journal <run_id> [--step S]`: a run's access journal, grouped by
 * step and attempt — what each attempt read, was granted, was allowed or
 * denied (every `deno` permission decision), staged and committed.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import type { JournalAccess, JournalGrant, JournalView } from "../kernel/journal_view.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, withKernel } from "./context.ts";
import { emit } from "./output.ts";

/**
 * Adds `journal` to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerJournalCommand(program: Command, ctx: CliContext): void {
  program.command("journal")
    .description(
      "Show what each attempt of a run read, was granted, was allowed or denied, staged and " +
        "committed",
    )
    .argument("<run_id>", "the run")
    .option("--step <step>", "only this step")
    .action(async (runId, opts, cmd) => {
      const g = globalOptions(cmd);
      const view = await withKernel(ctx, g, (k) => k.queries.journal(runId, { step: opts.step }));
      for (const warning of view.warnings) ctx.output.err(`lily: warning: ${warning}`);
      emit(ctx.output, g.json, view, () => journalLines(view));
    });
}

const SHOWN_MOUNTS: readonly (readonly [string, string])[] = [
  ["writable", "writable"],
  ["read-only", "read-only"],
  ["hidden", "hidden"],
  ["masked-file", "masked"],
];

function grantLines(grant: JournalGrant): string[] {
  const lines = [
    `granted: sandbox ${grant.sandbox}; net: ${grant.net.join(", ") || "none"}; ` +
    `tools: ${grant.tools?.join(", ") ?? "any"}`,
  ];
  for (const [mode, label] of SHOWN_MOUNTS) {
    const paths = grant.mounts.filter((m) => m.mode === mode).map((m) => m.path);
    if (paths.length > 0) lines.push(`  ${label}: ${paths.join(", ")}`);
  }
  lines.push(`  env names: ${grant.env.join(", ") || "none"}`);
  return lines;
}

function accessLines(access: JournalAccess, indent: string): string[] {
  const inputs = Object.entries(access.inputs);
  const lines = inputs.length === 0
    ? ["read: no inputs"]
    : inputs.map(([name, i]) => `read: ${name} = ${i.artifact_id} sha256 ${i.sha256 ?? "unknown"}`);
  if (access.grant) lines.push(...grantLines(access.grant));
  for (const p of access.permissions) {
    const written = p.value !== null && p.value !== p.target ? ` (as ${p.value})` : "";
    lines.push(
      `${
        p.decision === "allow" ? "allowed" : "denied"
      } ${p.kind} ${p.target}${written}: ${p.reason}`,
    );
  }
  if (access.staged !== null) {
    const staged = Object.entries(access.staged);
    if (staged.length === 0) lines.push("staged: none of its declared outputs");
    for (const [name, o] of staged) {
      lines.push(`staged: ${name} ${o.path} sha256 ${o.sha256} (${o.size} bytes)`);
    }
  }
  if (access.committed === null) {
    if (access.staged !== null) lines.push("committed: nothing");
  } else {
    for (const [name, o] of Object.entries(access.committed)) {
      lines.push(`committed: ${name} = ${o.artifact_id} sha256 ${o.sha256}`);
    }
  }
  return lines.map((line) => indent + line);
}

/**
 * The human text of a journal: per step, per attempt, one line per fact.
 *
 * @param view The journal.
 * @returns The lines.
 */
function journalLines(view: JournalView): string[] {
  const lines = [`Access journal of run ${view.run_id} (${view.entries} entries)`];
  for (const step of view.steps) {
    lines.push(`step ${step.step}`);
    if (step.attempts.length === 0) lines.push("  no attempts");
    for (const attempt of step.attempts) {
      lines.push(`  attempt ${attempt.attempt} (${attempt.status ?? "not in the run's events"})`);
      lines.push(...accessLines(attempt, "    "));
      for (const gate of attempt.gates) {
        lines.push(`    gate ${gate.gate} (${gate.status ?? "no outcome"})`);
        lines.push(...accessLines(gate, "      "));
      }
    }
  }
  return lines;
}
