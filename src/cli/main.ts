/**
 * The CLI program: builds the command tree, runs it, and maps errors to exit
 * codes in one place (0 ok, 1 failure or not found, 2 invalid usage).
 *
 * @module
 */

import { Command, CommanderError } from "@commander-js/extra-typings";
import { isLilyError, UsageError } from "../core/errors.ts";
import { KERNEL_VERSION } from "../core/version.ts";
import { registerArtifactCommands } from "./artifact_commands.ts";
import type { CliContext } from "./context.ts";
import { processOutput } from "./output.ts";
import { registerRunCommands } from "./run_commands.ts";
import { registerSchemaCommands } from "./schema_commands.ts";
import { registerVerifyCommand, VerifyFailed } from "./verify_command.ts";
import { registerWorkflowCommands, RunNotSucceeded } from "./workflow_commands.ts";

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
    .configureOutput({
      writeOut: (s) => ctx.output.out(s.trimEnd()),
      writeErr: (s) => ctx.output.err(s.trimEnd()),
      outputError: () => {},
    });
  registerWorkflowCommands(program, registerRunCommands(program, ctx), ctx);
  registerArtifactCommands(program, ctx);
  registerVerifyCommand(program, ctx);
  registerSchemaCommands(program, ctx);
  for (const sub of allCommands(program)) {
    sub.exitOverride().configureOutput({
      writeOut: (s) => ctx.output.out(s.trimEnd()),
      writeErr: (s) => ctx.output.err(s.trimEnd()),
      outputError: () => {},
    });
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c as Command, ...allCommands(c as Command)]);
}

/**
 * Maps an error to the exit code the CLI returns for it.
 *
 * @param err Any thrown value.
 * @returns 2 for usage errors, 3 for a run that waits for a person, 1 for
 * everything else.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof RunNotSucceeded) return err.exitCode;
  return err instanceof UsageError ? 2 : 1;
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
    env: (name) => Deno.env.get(name),
    environment: () => Deno.env.toObject(),
  },
): Promise<number> {
  const debug = args.includes("--debug");
  try {
    await buildProgram(ctx).parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    const code = exitCodeFor(err);
    if (err instanceof CommanderError) {
      if (code !== 0) {
        ctx.output.err(`${err.message.replace(/^error: /, "lily: ")} (see lily --help)`);
      }
    } else if (isLilyError(err)) {
      if (!(err instanceof VerifyFailed) && !(err instanceof RunNotSucceeded)) {
        for (const line of err.message.split("\n")) ctx.output.err(`lily: ${line}`);
      }
    } else {
      ctx.output.err(`lily: internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (debug && err instanceof Error && err.stack) ctx.output.err(err.stack);
    return code;
  }
}
