/**
 * A run store with contracts wired in: JSON puts of registered types are
 * validated before anything is written, work orders are validated before a
 * run is created, and envelopes are put and read through `envelopes`.
 *
 * @example A put of a registered type is validated; nothing is written when it fails
 * ```ts
 * import { openContractStore } from "./contract_store.ts";
 * import { ValidationError } from "../core/errors.ts";
 *
 * const workspace = await Deno.makeTempDir();
 * const store = await openContractStore(workspace);
 * try {
 *   const { manifest } = await store.runs.create();
 *   try {
 *     await store.artifacts.putJson(manifest.run_id, { goal: 42 }, { type: "work_order.v1" });
 *   } catch (err) {
 *     console.assert(err instanceof ValidationError);
 *   }
 *   console.assert((await store.artifacts.list(manifest.run_id)).length === 0);
 * } finally {
 *   store.close();
 *   await Deno.remove(workspace, { recursive: true });
 * }
 * ```
 *
 * @module
 */

import { openStore, type OpenStoreOptions, type Store } from "../store/store.ts";
import { EnvelopeStore } from "./envelope.ts";
import { kernelRegistry } from "./kernel_schemas.ts";
import type { SchemaRegistry } from "./schema_registry.ts";
import { workOrderCheck } from "./validation.ts";

/** Options of {@linkcode openContractStore}. */
export interface OpenContractStoreOptions extends Omit<OpenStoreOptions, "checkWorkOrder"> {
  /**
   * The schemas puts are validated against.
   * @default {kernelRegistry()}
   */
  registry?: SchemaRegistry;
}

/** An open store whose puts are validated against a schema registry. */
export interface ContractStore extends Store {
  /** The schemas puts are validated against. */
  readonly registry: SchemaRegistry;
  /** Envelopes, put and read with validation. */
  readonly envelopes: EnvelopeStore;
}

/**
 * Opens (and by default creates) a workspace's store with validation wired
 * in: the registry's payload check runs after any `checks` given, and
 * `runs.create` validates a JSON work order against `work_order.v1` first.
 *
 * @param workspace The workspace directory.
 * @param options The registry, and everything {@linkcode openStore} takes.
 * @returns The open store; close it when done.
 * @throws {NotFoundError} With `create: false` when there is no store.
 */
export async function openContractStore(
  workspace: string,
  options: OpenContractStoreOptions = {},
): Promise<ContractStore> {
  const { registry = await kernelRegistry(), ...storeOptions } = options;
  const store = await openStore(workspace, {
    ...storeOptions,
    checks: [...(storeOptions.checks ?? []), registry.payloadCheck()],
    checkWorkOrder: workOrderCheck(registry),
  });
  return { ...store, registry, envelopes: new EnvelopeStore(store.artifacts, registry) };
}
