/**
 * The packs of a kernel's workspace: its `lily.json` read and its packs
 * loaded once, when a command first needs them (a workflow to read, `lily
 * pack list`), and the queries over them. A pack that fails to load is recorded, not thrown; only an invalid
 * `lily.json` fails the commands that need it.
 *
 * @module
 */

import { NotFoundError } from "../core/errors.ts";
import type { ExecutorKinds } from "../graph/executor_kind.ts";
import type { SchemaRegistry } from "../contracts/schema_registry.ts";
import type { WorkflowLoadOptions } from "../graph/workflow_loader.ts";
import { type LoadedPacks, loadPacks, type PackRecord } from "../packs/pack_loader.ts";
import { packSources } from "../packs/pack_sources.ts";
import { type LilyConfig, readLilyConfig } from "../packs/workspace_config.ts";

/** A workspace's config and the packs loaded for it. */
export interface WorkspacePacks extends LoadedPacks {
  /** Its `lily.json` (empty when there is none). */
  readonly config: LilyConfig;
}

/** What reads a workspace's packs and config. */
export interface PackQueries {
  /**
   * Lists the packs, shipped first, each loaded or failed with its reasons.
   *
   * @returns The packs.
   * @throws {UsageError} When `lily.json` is invalid.
   */
  list(): Promise<readonly PackRecord[]>;
  /**
   * Describes one pack: its items with their descriptions and schemas.
   *
   * @param name The pack's name.
   * @returns The pack (a failed one with its reasons).
   * @throws {NotFoundError} When no pack has that name (naming those that do exist).
   */
  show(name: string): Promise<PackRecord>;
  /**
   * The artifact schemas: the kernel's and the loaded packs'.
   *
   * @returns The registry.
   * @throws {UsageError} When `lily.json` is invalid.
   */
  schemas(): Promise<SchemaRegistry>;
  /**
   * The workspace's `lily.json` (empty when there is none).
   *
   * @returns The config.
   * @throws {UsageError} When it is invalid.
   */
  config(): Promise<LilyConfig>;
}

/** Options of {@linkcode workspacePacks}. */
export interface WorkspacePacksOptions {
  /** The workspace. */
  readonly workspace: string;
  /** The executor kinds the packs' are added to. */
  readonly kinds: () => ExecutorKinds;
  /** Imports a pack module by URL. */
  readonly importModule?: (url: string) => Promise<unknown>;
}

/**
 * Makes the loader of a workspace's packs: the first call reads
 * `lily.json` and loads every pack; later calls get the same result.
 *
 * @param options The workspace, the base kinds, the importer.
 * @returns The memoised loader.
 */
export function workspacePacks(options: WorkspacePacksOptions): () => Promise<WorkspacePacks> {
  let loading: Promise<WorkspacePacks> | undefined;
  return () =>
    loading ??= (async () => {
      const config = await readLilyConfig(options.workspace);
      const loaded = await loadPacks(packSources(config), {
        workspace: options.workspace,
        kinds: options.kinds(),
        importModule: options.importModule,
      });
      return { ...loaded, config };
    })();
}

/**
 * What a workflow file is read with: the packs' kinds and templates and
 * the workspace's default policy.
 *
 * @param packs The loaded packs.
 * @returns The load options.
 */
export function workflowLoadOptions(packs: WorkspacePacks): WorkflowLoadOptions {
  return {
    kinds: packs.kinds,
    templates: packs.templates,
    ...(packs.config.policy ? { defaultPolicy: packs.config.policy } : {}),
  };
}

/**
 * The pack queries over a loader.
 *
 * @param packs The loader.
 * @returns The queries.
 */
export function packQueries(packs: () => Promise<WorkspacePacks>): PackQueries {
  return {
    list: async () => (await packs()).packs,
    async show(name) {
      const all = (await packs()).packs;
      const found = all.find((p) => p.name === name);
      if (found !== undefined) return found;
      throw new NotFoundError(
        `No pack named ${JSON.stringify(name)}; known: ${all.map((p) => p.name).join(", ")} ` +
          "(see lily pack list)",
      );
    },
    schemas: async () => (await packs()).schemas,
    config: async () => (await packs()).config,
  };
}
