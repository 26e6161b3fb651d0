/**
 * What every command receives: where to print, the environment, and the
 * global options (`--workspace`, `--json`, `--debug`).
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { type ContractStore, openContractStore } from "../contracts/contract_store.ts";
import type { Env } from "../core/env.ts";
import { createKernel, type Kernel } from "../kernel/kernel.ts";
import { existingWorkspace, hasStore } from "../kernel/workspace.ts";
import { resolveWorkspace } from "../store/store.ts";
import { commandLine } from "./hints.ts";
import type { Output } from "./output.ts";

/** The process-level inputs of the CLI, substitutable in tests. */
export interface CliContext {
  /** Where to print. */
  readonly output: Output;
  /** The environment: what the CLI reads, and the whole set steps get their subset of. */
  readonly env: Env;
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
 * The workspace a command works in: `--workspace`, else `LILY_WORKSPACE`, else the cwd.
 *
 * @param ctx The CLI context.
 * @param options The global options.
 * @returns The absolute workspace directory (not checked).
 */
export function workspaceOf(ctx: CliContext, options: GlobalOptions): string {
  return resolveWorkspace(options.workspace, (name) => ctx.env.get(name));
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
  return commandLine(args, workspaceOf(ctx, options));
}

/**
 * Opens the workspace's existing store for the length of `fn`, with the
 * kernel's schemas wired in: puts of registered types are validated before
 * anything is written.
 *
 * @param ctx The CLI context.
 * @param options The global options.
 * @param fn The work to do with the store.
 * @returns What `fn` returns.
 */
export async function withStore<T>(
  ctx: CliContext,
  options: GlobalOptions,
  fn: (store: ContractStore) => Promise<T> | T,
): Promise<T> {
  const store = await openContractStore(await existingWorkspace(workspaceOf(ctx, options)), {
    create: false,
  });
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
  if (!(await hasStore(workspaceOf(ctx, options)))) return empty;
  return await withStore(ctx, options, fn);
}

/**
 * Creates the kernel of the command's workspace, with the CLI's
 * environment, for the length of `fn`.
 *
 * @param ctx The CLI context.
 * @param options The global options.
 * @param fn The work to do with the kernel.
 * @returns What `fn` returns.
 */
export async function withKernel<T>(
  ctx: CliContext,
  options: GlobalOptions,
  fn: (kernel: Kernel) => Promise<T>,
): Promise<T> {
  using kernel = createKernel({ workspace: workspaceOf(ctx, options), env: ctx.env });
  return await fn(kernel);
}
