/**
 * The pack loader: imports each pack module (the shipped ones, then those
 * `lily.json` names), checks its definition and fills the registries a
 * command uses — executor kinds, step, gate and route templates, artifact
 * schemas — and the executors by kind.
 *
 * A pack that cannot be used is recorded with every reason, each naming
 * its item: a module that fails to import, exports no pack, declares
 * another name than `lily.json` gives it, needs another Lily version
 * (its `lily` range), defines an invalid item, or registers an id already
 * registered (a second pack of the same name, an executor kind
 * `createKernel` was given). None of its items is registered, and nothing
 * is thrown: a workflow that names one of its items is refused with the
 * reason (through {@linkcode WorkflowTemplates.unavailable}), and
 * `lily pack list` shows it; every other command runs.
 *
 * @module
 */

import { join } from "node:path";
import { KERNEL_VERSION } from "../core/version.ts";
import { SchemaRegistry } from "../contracts/schema_registry.ts";
import { kernelRegistry } from "../contracts/kernel_schemas.ts";
import { type ExecutorKinds, executorKinds } from "../graph/executor_kind.ts";
import {
  type Template,
  type WorkflowTemplates,
  workflowTemplates,
} from "../graph/workflow_template.ts";
import type { Registry } from "../core/registry.ts";
import type { Executor } from "../runtime/executors/executor.ts";
import type { ExecutorRegistry } from "../runtime/executors/executor_registry.ts";
import { type PackDefinition, type PackIssue, packIssues } from "./define_pack.ts";
import { type PackItem, packItems } from "./pack_items.ts";
import { satisfies } from "./version_range.ts";

/** Where a pack comes from. */
export interface PackSource {
  /** The name it is loaded under (its namespace). */
  readonly name: string;
  /** The module's specifier: a URL (`file:`, `npm:`, `jsr:`, `https:`) or a path. */
  readonly specifier: string;
  /** `shipped` with Lily, or listed in `lily.json`. */
  readonly from: "shipped" | "lily.json";
}

/** A pack that loaded. */
export interface LoadedPack {
  /** `loaded`. */
  readonly status: "loaded";
  /** Its name. */
  readonly name: string;
  /** Its version. */
  readonly version: string;
  /** What it is for (empty when it does not say). */
  readonly description: string;
  /** The Lily versions it works with, when it says. */
  readonly lily: string | null;
  /** Its module's specifier. */
  readonly specifier: string;
  /** Where it comes from. */
  readonly from: PackSource["from"];
  /** Its items. */
  readonly items: readonly PackItem[];
  /** Its example workflow (YAML), for `lily init --pack`, or `null`. */
  readonly example: string | null;
}

/** A pack that could not be loaded: none of its items is registered. */
export interface FailedPack {
  /** `failed`. */
  readonly status: "failed";
  /** The name it was to be loaded under. */
  readonly name: string;
  /** Its module's specifier. */
  readonly specifier: string;
  /** Where it comes from. */
  readonly from: PackSource["from"];
  /** Why, each naming its item when about one. */
  readonly issues: readonly PackIssue[];
}

/** What a pack load yields. */
export type PackRecord = LoadedPack | FailedPack;

/** The registries filled by {@linkcode loadPacks}. */
export interface LoadedPacks {
  /** Every pack, in load order, loaded or failed. */
  readonly packs: readonly PackRecord[];
  /** The executor kinds: the base ones and the packs'. */
  readonly kinds: ExecutorKinds;
  /** The templates, and the namespaces of failed packs. */
  readonly templates: WorkflowTemplates;
  /** The artifact schemas: the kernel's and the packs'. */
  readonly schemas: SchemaRegistry;
  /** The packs' executors by kind. */
  readonly executors: ExecutorRegistry;
}

/** Options of {@linkcode loadPacks}. */
export interface LoadPacksOptions {
  /** Where relative paths in specifiers start. */
  readonly workspace: string;
  /**
   * The executor kinds to add the packs' to.
   * @default {executorKinds()}
   */
  readonly kinds?: ExecutorKinds;
  /**
   * Imports a module by URL (injected so a test can serve a specifier).
   * @default {dynamic `import()`}
   */
  readonly importModule?: (url: string) => Promise<unknown>;
  /**
   * The Lily version packs' `lily` ranges are checked against.
   * @default {KERNEL_VERSION}
   */
  readonly lilyVersion?: string;
}

function toFileUrl(path: string): string {
  return new URL(`file://${path.split("/").map(encodeURIComponent).join("/")}`).href;
}

/** A specifier as an importable URL; a folder stands for its `mod.ts`. */
async function resolveSpecifier(specifier: string, workspace: string): Promise<string> {
  let path: string | undefined;
  if (specifier.startsWith("file:")) path = decodeURIComponent(new URL(specifier).pathname);
  else if (!/^[a-z]+:/.test(specifier)) {
    path = specifier.startsWith("/") ? specifier : join(workspace, specifier);
  }
  if (path === undefined) return specifier;
  const info = await Deno.stat(path).catch(() => undefined);
  return toFileUrl(info?.isDirectory ? join(path, "mod.ts") : path);
}

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0].trim();
}

/** The pack a module exports: `default`, else `pack`. */
function exportedPack(module: unknown): unknown {
  const m = module as Record<string, unknown> | undefined;
  return m?.default ?? m?.pack;
}

/** Ids the pack would register, each with the registry that must not hold it yet. */
function collisions(
  pack: PackDefinition,
  registries: { kinds: ExecutorKinds; templates: WorkflowTemplates; schemas: SchemaRegistry },
): PackIssue[] {
  const checks: [string, { assertFree(id: string, origin: string): void } | SchemaRegistry][] = [
    ...Object.keys(pack.schemas ?? {}).map((id) =>
      [`${pack.name}/${id}`, registries.schemas] as [string, SchemaRegistry]
    ),
    ...(pack.executors ?? []).map((e) => [e.kind, registries.kinds] as [string, ExecutorKinds]),
    ...Object.keys(pack.steps ?? {}).map((n) =>
      [`${pack.name}/${n}`, registries.templates.steps] as [string, Registry<Template<unknown>>]
    ),
    ...Object.keys(pack.gates ?? {}).map((n) =>
      [`${pack.name}/${n}`, registries.templates.gates] as [string, Registry<Template<unknown>>]
    ),
    ...Object.keys(pack.routes ?? {}).map((n) =>
      [`${pack.name}/${n}`, registries.templates.routes] as [string, Registry<Template<unknown>>]
    ),
  ];
  return checks.flatMap(([id, registry]) => {
    if (registry instanceof SchemaRegistry) {
      const existing = registry.get(id);
      return existing
        ? [{ item: id, reason: `already registered from origin ${existing.origin}` }]
        : [];
    }
    try {
      registry.assertFree(id, pack.name);
      return [];
    } catch (err) {
      return [{ item: id, reason: messageOf(err) }];
    }
  });
}

/** Compiles the pack's schemas on their own, so a bad one is found before anything is registered. */
async function schemaProblems(pack: PackDefinition): Promise<PackIssue[]> {
  const scratch = new SchemaRegistry();
  const issues: PackIssue[] = [];
  for (const [id, entry] of Object.entries(pack.schemas ?? {})) {
    const item = `${pack.name}/${id}`;
    try {
      await scratch.register({ id: item, ...entry, origin: pack.name });
    } catch (err) {
      issues.push({ item, reason: messageOf(err) });
    }
  }
  return issues;
}

/** Checks one imported module as the pack `source` names; issues when it cannot be used. */
async function check(
  source: PackSource,
  module: PromiseSettledResult<unknown>,
  context: {
    registries: { kinds: ExecutorKinds; templates: WorkflowTemplates; schemas: SchemaRegistry };
    loaded: ReadonlyMap<string, PackRecord>;
    lilyVersion: string;
  },
): Promise<{ pack: PackDefinition } | { issues: PackIssue[] }> {
  if (module.status === "rejected") {
    return {
      issues: [{ reason: `cannot import ${source.specifier}: ${messageOf(module.reason)}` }],
    };
  }
  const value = exportedPack(module.value);
  if (value === undefined) {
    return {
      issues: [{
        reason: `${source.specifier} exports no pack; expected export default definePack({ … })`,
      }],
    };
  }
  const invalid = packIssues(value);
  if (invalid.length > 0) return { issues: invalid };
  const pack = value as PackDefinition;
  const earlier = context.loaded.get(pack.name);
  if (earlier !== undefined) {
    return {
      issues: [{
        reason: `pack name ${pack.name} collides with the pack already loaded from ` +
          `${earlier.specifier} (${earlier.from})`,
      }],
    };
  }
  if (pack.name !== source.name) {
    return {
      issues: [{
        reason: `the module defines pack ${pack.name}, but ${
          source.from === "shipped" ? "its folder" : "lily.json"
        } names it ${source.name}; expected the same name`,
      }],
    };
  }
  if (pack.lily !== undefined && !satisfies(context.lilyVersion, pack.lily)) {
    return {
      issues: [{
        reason: `version mismatch: pack ${pack.name}@${pack.version} needs Lily ${pack.lily}; ` +
          `this is Lily ${context.lilyVersion}`,
      }],
    };
  }
  const problems = [
    ...await schemaProblems(pack),
    ...collisions(pack, context.registries),
  ];
  return problems.length > 0 ? { issues: problems } : { pack };
}

/** Registers a checked pack's items (their ids are known to be free). */
async function register(
  pack: PackDefinition,
  registries: { kinds: ExecutorKinds; templates: WorkflowTemplates; schemas: SchemaRegistry },
  executors: Record<string, Executor<never>>,
): Promise<void> {
  const origin = pack.name;
  for (const [id, entry] of Object.entries(pack.schemas ?? {})) {
    await registries.schemas.register({ id: `${origin}/${id}`, ...entry, origin });
  }
  for (const executor of pack.executors ?? []) {
    registries.kinds.register(executor.kind, executor, { origin });
    executors[executor.kind] = executor;
  }
  for (const [name, t] of Object.entries(pack.steps ?? {})) {
    registries.templates.steps.register(`${origin}/${name}`, t, { origin });
  }
  for (const [name, t] of Object.entries(pack.gates ?? {})) {
    registries.templates.gates.register(`${origin}/${name}`, t, { origin });
  }
  for (const [name, t] of Object.entries(pack.routes ?? {})) {
    registries.templates.routes.register(`${origin}/${name}`, t, { origin });
  }
}

function summary(issues: readonly PackIssue[]): string {
  return issues.map((i) => (i.item ? `${i.item}: ${i.reason}` : i.reason)).join("; ");
}

/**
 * Loads packs into fresh registries. Never throws for a pack's fault: a
 * pack that cannot be used is a {@linkcode FailedPack}.
 *
 * @param sources The packs, in load order (shipped first).
 * @param options The workspace, the base executor kinds, the importer.
 * @returns The packs and the registries they filled.
 */
export async function loadPacks(
  sources: readonly PackSource[],
  options: LoadPacksOptions,
): Promise<LoadedPacks> {
  const importModule = options.importModule ?? ((url: string) => import(url));
  const unavailable = new Map<string, string>();
  const registries = {
    kinds: options.kinds ?? executorKinds(),
    templates: workflowTemplates(unavailable),
    schemas: await kernelRegistry(),
  };
  const modules = await Promise.allSettled(
    sources.map(async (s) => importModule(await resolveSpecifier(s.specifier, options.workspace))),
  );
  const records = new Map<string, PackRecord>();
  const packs: PackRecord[] = [];
  const executors: Record<string, Executor<never>> = {};
  for (const [i, source] of sources.entries()) {
    const checked = await check(source, modules[i], {
      registries,
      loaded: records,
      lilyVersion: options.lilyVersion ?? KERNEL_VERSION,
    });
    const base = { name: source.name, specifier: source.specifier, from: source.from };
    if ("issues" in checked) {
      const failed: FailedPack = { status: "failed", ...base, issues: checked.issues };
      packs.push(failed);
      if (!records.has(source.name)) unavailable.set(source.name, summary(checked.issues));
      continue;
    }
    const { pack } = checked;
    await register(pack, registries, executors);
    const loaded: LoadedPack = {
      status: "loaded",
      ...base,
      version: pack.version,
      description: pack.description ?? "",
      lily: pack.lily ?? null,
      items: packItems(pack),
      example: pack.example ?? null,
    };
    records.set(pack.name, loaded);
    packs.push(loaded);
  }
  return {
    packs,
    kinds: registries.kinds,
    templates: registries.templates,
    schemas: registries.schemas,
    executors: executors as unknown as ExecutorRegistry,
  };
}
