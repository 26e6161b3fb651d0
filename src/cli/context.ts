/**
 * What every command receives: where to print, the environment, and the
 * global options (`--workspace`, `--json`, `--debug`).
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { type ContractStore, openContractStore } from "../contracts/contract_store.ts";
import { NotFoundError, UsageError } from "../core/errors.ts";
import { storeLayout } from "../store/layout.ts";
import { resolveWorkspace } from "../store/store.ts";
import { commandLine } from "./hints.ts";
import type { Output } from "./output.ts";

/** The process-level inputs of the CLI, substitutable in tests. */
export interface CliContext {
  /** Where to print. */
  readonly output: Output;
  /** Reads an environment variable. */
  readonly env: (name: string) => string | undefined;
  /** The whole environment, from which steps get their subset. */
  readonly environment: () => Record<string, string>;
}

/** The options every command accepts. */
export interface GlobalOptions {
  /** The workspace directory. */
  readonly workspace?: string;
  /** Print one JSON document on stdout. */
  readonly json: boolean;
  /** Show stack traces on errors. */
  readonly debug: boolean;
}

/**
 * Reads the global options as seen from a (sub)command.
 *
 * @param command The command whose action is running.
 * @returns The global options.
 */
export function globalOptions(command: Command<unknown[], Record<string, unknown>>): GlobalOptions {
  const all = command.optsWithGlobals() as Record<string, unknown>;
  return {
    workspace: all.workspace as string | undefined,
    json: Boolean(all.json),
    debug: Boolean(all.debug),
  };
}

/**
 * Resolves the workspace a command works in and checks it exists: a
 * mistyped `--workspace` is an error, never a new directory.
 *
 * @param ctx The CLI context.
 * @param options The global options.
 * @returns The absolute workspace directory.
 * @throws {NotFoundError} When it does not exist.
 * @throws {UsageError} When it is not a directory.
 */
export async function existingWorkspace(ctx: CliContext, options: GlobalOptions): Promise<string> {
  const dir = resolveWorkspace(options.workspace, ctx.env);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(
        `Workspace ${dir} does not exist; create the directory or give an existing --workspace`,
        { cause: err },
      );
    }
    throw err;
  }
  if (!info.isDirectory) {
    throw new UsageError(`Workspace ${dir} is not a directory; give a directory as --workspace`);
  }
  return dir;
}

/**
 * Spells a `lily` command so that it works as typed from the current
 * directory: with `--workspace <dir>` when the workspace is elsewhere.
 *
 * @param ctx The CLI context.
 * @param options The global options.
 * @param args The command's words, e.g. `["run", "show", id]`.
 * @returns The command line, shell-quoted.
 */
export function hint(ctx: CliContext, options: GlobalOptions, args: readonly string[]): string {
  return commandLine(args, resolveWorkspace(options.workspace, ctx.env));
}

/**
 * Opens the workspace's store for the length of `fn`, with the kernel's
 * schemas wired in: puts of registered types and JSON work orders are
 * validated before anything is written.
 *
 * @param ctx The CLI context.
 * @param options The global options.
 * @param create Whether a missing store is created (else: not found).
 * @param fn The work to do with the store.
 * @returns What `fn` returns.
 */
export async function withStore<T>(
  ctx: CliContext,
  options: GlobalOptions,
  create: boolean,
  fn: (store: ContractStore) => Promise<T> | T,
): Promise<T> {
  const store = await openContractStore(await existingWorkspace(ctx, options), { create });
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/**
 * Like {@linkcode withStore} for commands that only read: when the
 * workspace has no store, nothing is created and `empty` is the answer.
 *
 * @param ctx The CLI context.
 * @param options The global options.
 * @param empty The answer for a workspace without a store.
 * @param fn The work to do with the store.
 * @returns What `fn` returns, or `empty`.
 */
export async function withExistingStore<T>(
  ctx: CliContext,
  options: GlobalOptions,
  empty: T,
  fn: (store: ContractStore) => Promise<T> | T,
): Promise<T> {
  try {
    await Deno.stat(storeLayout(await existingWorkspace(ctx, options)).indexPath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return empty;
    throw err;
  }
  return await withStore(ctx, options, false, fn);
}
