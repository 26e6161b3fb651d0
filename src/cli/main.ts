/**
 * The CLI program: builds the command tree, runs it, and maps errors to exit
 * codes in one place (0 ok, 1 failure or not found, 2 invalid usage).
 *
 * @module
 */

import { Command, CommanderError, type CommandUnknownOpts } from "@commander-js/extra-typings";
import {
  causeMessage,
  ConflictError,
  IntegrityError,
  isLilyError,
  type LilyError,
  NotFoundError,
  UsageError,
  ValidationError,
} from "../core/errors.ts";
import { systemEnv } from "../core/env.ts";
import { KERNEL_VERSION } from "../core/version.ts";
import { registerArtifactCommands } from "./artifact_commands.ts";
import { registerContentCommands } from "./content_commands.ts";
import { registerCacheCommands } from "./cache_commands.ts";
import { type CliContext, globalOptions, workspaceOf } from "./context.ts";
import { completeHints } from "./hints.ts";
import { registerJournalCommand } from "./journal_command.ts";
import { processOutput, ReportedFailure } from "./output.ts";
import { registerLogsCommand } from "./logs_command.ts";
import { registerProvenanceCommand } from "./provenance_command.ts";
import { registerRunCommands } from "./run_commands.ts";
import { registerReplayCommands } from "./replay_commands.ts";
import { registerComparisonCommands } from "./comparison_commands.ts";
import { registerSchemaCommands } from "./schema_commands.ts";
import { registerVerifyCommand } from "./verify_command.ts";
import { registerWorkflowCommands } from "./workflow_commands.ts";
import { registerPackCommands } from "./pack_commands.ts";
import { registerInitCommand } from "./init_command.ts";

/**
 * Builds the `lily` command tree.
 *
 * @param ctx Where to print and how to read the environment.
 * @returns The root command, not yet parsed.
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command()
    .name("lily")
    .description("Lily: a workflow kernel whose every run is inspectable, auditable and resumable")
    .version(KERNEL_VERSION)
    .option("-w, --workspace <dir>", "the workspace (default: $LILY_WORKSPACE, else the cwd)")
    .option("--json", "print exactly one JSON document on stdout")
    .option("--debug", "show stack traces on errors")
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => ctx.output.out(s.trimEnd()),
      writeErr: (s) => ctx.output.err(s.trimEnd()),
      outputError: () => {},
    })
    .hook("preAction", (_, action) => refuseEmptyValues(action));
  const run = registerRunCommands(program, ctx);
  registerWorkflowCommands(program, run, ctx);
  const artifact = registerArtifactCommands(program, ctx);
  registerReplayCommands(run, artifact, ctx);
  registerLogsCommand(program, ctx);
  registerProvenanceCommand(program, ctx);
  registerComparisonCommands(run, ctx);
  registerVerifyCommand(program, ctx);
  registerJournalCommand(program, ctx);
  registerContentCommands(program, ctx);
  registerCacheCommands(program, ctx);
  registerSchemaCommands(program, ctx);
  registerPackCommands(program, ctx);
  registerInitCommand(program, ctx);
  for (const sub of allCommands(program)) {
    sub.exitOverride().configureOutput({
      writeOut: (s) => ctx.output.out(s.trimEnd()),
      writeErr: (s) => ctx.output.err(s.trimEnd()),
      outputError: () => {},
    });
  }
  return program;
}

/**
 * Refuses an empty option value or argument (`-w ""`, `--out ""`, `check ""`):
 * none of Lily's options means anything empty, and quietly falling back to a
 * default (the cwd for `--workspace`) would act on something not asked for.
 */
function refuseEmptyValues(action: CommandUnknownOpts): void {
  for (let cmd: CommandUnknownOpts | null = action; cmd !== null; cmd = cmd.parent) {
    for (const option of cmd.options) {
      const value = cmd.getOptionValue(option.attributeName());
      const values: unknown[] = Array.isArray(value) ? value : [value];
      if (values.some((v) => v === "")) {
        throw new UsageError(`${option.long ?? option.short} needs a value; got an empty string`);
      }
    }
  }
  action.registeredArguments.forEach((argument, i) => {
    const value = action.processedArgs[i];
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (values.some((v) => v === "")) {
      throw new UsageError(`<${argument.name()}> needs a value; got an empty string`);
    }
  });
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c as Command, ...allCommands(c as Command)]);
}

/**
 * Maps an error to the exit code the CLI returns for it.
 *
 * @param err Any thrown value.
 * @returns 2 for usage errors, a reported failure's own code (3 for a run
 * that waits for a person), 1 for everything else.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof ReportedFailure) return err.exitCode;
  return err instanceof UsageError ? 2 : 1;
}

/**
 * The machine-readable code of an error, as `--json` prints it in
 * `{"error": {"code", …}}`.
 *
 * @param err Any thrown value.
 * @returns `usage`, `not_found`, `integrity`, `validation`, `conflict`,
 * `run_failed`, `waiting`, `failed` or `internal` (a bug in Lily).
 */
export function errorCode(err: unknown): string {
  if (err instanceof ReportedFailure) return err.code;
  if (err instanceof CommanderError || err instanceof UsageError) return "usage";
  if (err instanceof NotFoundError) return "not_found";
  if (err instanceof IntegrityError) return "integrity";
  if (err instanceof ValidationError) return "validation";
  if (err instanceof ConflictError) return "conflict";
  return isLilyError(err) || isOsError(err) ? "failed" : "internal";
}

/**
 * An error the operating system raised about a file (it carries an errno code
 * such as `ENOSPC`, and Deno's message names the file): the environment's
 * fault, not Lily's, so it is no internal error even where no layer wrapped it.
 */
function isOsError(err: unknown): err is Error {
  const code = (err as { code?: unknown })?.code;
  return err instanceof Error && typeof code === "string" && /^E[A-Z0-9]+$/.test(code);
}

/** The lines an error prints on stderr, each without the `lily: ` prefix. */
function errorLines(err: unknown, workspace: string | undefined): string[] {
  if (err instanceof CommanderError) {
    // A command group given without its subcommand: its usage was printed.
    if (err.code === "commander.help") return ["Missing a subcommand; see the usage above"];
    return [`${causeMessage(err).replace(/^error: /, "")} (see lily --help)`];
  }
  if (isOsError(err)) return [causeMessage(err)];
  if (!isLilyError(err)) {
    return [`internal error: ${causeMessage(err)}`];
  }
  // An error that collects issues prints one line per issue (its message is
  // built that way); every other error is one line.
  const lines = err.issues.length > 0 ? err.message.split("\n") : [causeMessage(err)];
  return workspace === undefined ? lines : lines.map((line) => completeHints(line, workspace));
}

/**
 * Runs the CLI on the given arguments.
 *
 * @param args The arguments after the program name.
 * @param ctx Where to print and how to read the environment.
 * @returns The process exit code.
 */
export async function main(
  args: string[],
  ctx: CliContext = {
    output: processOutput,
    env: systemEnv,
  },
): Promise<number> {
  const debug = args.includes("--debug");
  const json = args.includes("--json");
  let workspace: string | undefined;
  const program = buildProgram(ctx).hook("preAction", (_root, action) => {
    workspace = workspaceOf(ctx, globalOptions(action));
  });
  if (args.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    const code = exitCodeFor(err);
    if (code === 0) return 0;
    const lines = errorLines(err, workspace);
    const said = err instanceof ReportedFailure && err.said && !json;
    if (!said) { for (const line of lines) ctx.output.err(`lily: ${line}`); }
    if (json) {
      const data = err instanceof ReportedFailure ? err.data : {};
      const issues = isLilyError(err) && err.issues.length > 0 && !("issues" in data);
      const error = { code: errorCode(err), message: lines.join("\n"), exit_code: code };
      // A streaming `--follow --json` prints one JSON object per line, its error too.
      ctx.output.out(JSON.stringify(
        { ...data, error: issues ? { ...error, issues: (err as LilyError).issues } : error },
        null,
        args.includes("--follow") ? undefined : 2,
      ));
    }
    if (debug && err instanceof Error && err.stack) ctx.output.err(err.stack);
    return code;
  }
}
