/**
 * `lily pack list` and `lily pack show <name>`: the packs a workspace
 * loads (shipped, then `lily.json`'s), each loaded or failed with its
 * reasons, and one pack's items with their descriptions and schemas.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import type { PackRecord } from "../packs/pack_loader.ts";
import { type CliContext, globalOptions, withKernel } from "./context.ts";
import { emit, table } from "./output.ts";

function statusWord(pack: PackRecord): string {
  return pack.status === "loaded" ? `${pack.version}` : "failed";
}

function reasons(pack: PackRecord): string[] {
  if (pack.status === "loaded") return [];
  return pack.issues.map((i) => `  ${i.item ? `${i.item}: ` : ""}${i.reason}`);
}

/** The lines `pack show` prints for one pack. */
function showLines(pack: PackRecord): string[] {
  const head = [`${pack.name} (${pack.from}: ${pack.specifier})`];
  if (pack.status === "failed") return [...head, "failed to load:", ...reasons(pack)];
  const lines = [
    ...head,
    `version ${pack.version}${pack.lily ? `, needs Lily ${pack.lily}` : ""}`,
    ...(pack.description ? [pack.description] : []),
  ];
  for (const item of pack.items) {
    lines.push("", `${item.kind} ${item.id}: ${item.description}`);
    const props = (item.schema?.properties ?? {}) as Record<string, { description?: string }>;
    const required = new Set((item.schema?.required ?? []) as string[]);
    if (item.kind === "schema" || item.kind === "executor") continue;
    for (const [name, prop] of Object.entries(props)) {
      lines.push(
        `  with.${name}${required.has(name) ? "" : " (optional)"}${
          prop.description ? `: ${prop.description}` : ""
        }`,
      );
    }
  }
  return lines;
}

/**
 * Adds the `pack` commands to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerPackCommands(program: Command, ctx: CliContext): void {
  const pack = program.command("pack").description("List and describe the workspace's packs");

  pack.command("list")
    .description("List the packs (shipped, then lily.json's), loaded or failed with why")
    .action(async (_opts, cmd) => {
      const g = globalOptions(cmd);
      const packs = await withKernel(ctx, g, (kernel) => kernel.packs.list());
      emit(ctx.output, g.json, { packs }, () => [
        ...table(
          ["NAME", "VERSION", "FROM", "ITEMS", "DESCRIPTION"],
          packs.map((p) => [
            p.name,
            statusWord(p),
            p.from,
            p.status === "loaded" ? String(p.items.length) : "-",
            p.status === "loaded" ? p.description : "failed to load (see below)",
          ]),
        ),
        ...packs.flatMap((p) => p.status === "failed" ? [`${p.name}:`, ...reasons(p)] : []),
      ]);
    });

  pack.command("show")
    .description("Describe a pack: its items, their descriptions and parameter schemas")
    .argument("<name>", "the pack's name, e.g. deno")
    .action(async (name, _opts, cmd) => {
      const g = globalOptions(cmd);
      const found = await withKernel(ctx, g, (kernel) => kernel.packs.show(name));
      emit(ctx.output, g.json, { pack: found }, () => showLines(found));
    });
}
