/**
 * What every command receives: where to print, the environment, and the
 * global options (`--workspace`, `--json`, `--debug`).
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { type ContractStore, openContractStore } from "../contracts/contract_store.ts";
import { storeLayout } from "../store/layout.ts";
import { resolveWorkspace } from "../store/store.ts";
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
  const store = await openContractStore(resolveWorkspace(options.workspace, ctx.env), { create });
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
    await Deno.stat(storeLayout(resolveWorkspace(options.workspace, ctx.env)).indexPath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return empty;
    throw err;
  }
  return await withStore(ctx, options, false, fn);
}
