/**
 * Which packs a workspace loads: the packs shipped with Lily
 * (`packs/<name>/mod.ts` beside `src/`), then those its `lily.json` names.
 *
 * @module
 */

import type { LilyConfig } from "./workspace_config.ts";
import type { PackSource } from "./pack_loader.ts";

/** The packs shipped with Lily, by name (each is `packs/<name>/mod.ts`). */
export const SHIPPED_PACKS: readonly string[] = ["deno", "agent"];

/**
 * The URL of a shipped pack's module.
 *
 * @param name The pack's name.
 * @returns Its `mod.ts` URL (a `file:` URL, or `https:` when Lily runs from JSR).
 */
export function shippedPackUrl(name: string): string {
  return new URL(`../../packs/${name}/mod.ts`, import.meta.url).href;
}

/**
 * The packs a workspace loads, in load order.
 *
 * @param config The workspace's `lily.json`.
 * @returns The shipped packs, then `config.packs` in the order written.
 */
export function packSources(config: LilyConfig): PackSource[] {
  return [
    ...SHIPPED_PACKS.map((name) => ({
      name,
      specifier: shippedPackUrl(name),
      from: "shipped" as const,
    })),
    ...Object.entries(config.packs ?? {}).map(([name, specifier]) => ({
      name,
      specifier,
      from: "lily.json" as const,
    })),
  ];
}
