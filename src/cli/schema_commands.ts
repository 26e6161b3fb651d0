/**
 * `lily schema list|show|export|validate`.
 *
 * @module
 */

import { issuesOf } from "../core/issue.ts";
import type { Command } from "@commander-js/extra-typings";
import type { SchemaRegistry } from "../contracts/schema_registry.ts";
import { exportSchemas } from "../contracts/schema_export.ts";
import { validateJsonFile } from "../contracts/validation.ts";
import { workflowJsonSchema } from "../graph/workflow_definition.ts";
import { lilyConfigJsonSchema } from "../packs/workspace_config.ts";
import { type CliContext, type GlobalOptions, globalOptions, withKernel } from "./context.ts";
import { emit, emitResult, table } from "./output.ts";

/** The workspace's schemas: the kernel's and its packs' (`lily.json` is read). */
async function workspaceSchemas(ctx: CliContext, g: GlobalOptions): Promise<SchemaRegistry> {
  return await withKernel(ctx, g, (kernel) => kernel.packs.schemas());
}

/**
 * Adds the `schema` commands to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 */
export function registerSchemaCommands(program: Command, ctx: CliContext): void {
  const schema = program.command("schema").description("List, show, export and apply schemas");

  schema.command("list")
    .description("List the registered artifact types (the kernel's and the workspace's packs')")
    .action(async (_opts, cmd) => {
      const g = globalOptions(cmd);
      const schemas = (await workspaceSchemas(ctx, g)).list();
      emit(
        ctx.output,
        g.json,
        schemas.map(({ id, name, version, origin, kind, description }) => ({
          id,
          name,
          version,
          origin,
          kind,
          description,
        })),
        () =>
          table(
            ["ID", "ORIGIN", "DESCRIPTION"],
            schemas.map((s) => [s.id, s.origin, s.description]),
          ),
      );
    });

  schema.command("show")
    .description("Print a type's JSON Schema")
    .argument(
      "<id>",
      "the type id, e.g. gate_result.v1, `workflow` for workflow files, `lily.json` for the config",
    )
    .action(async (id, _opts, cmd) => {
      const schema = id === "workflow"
        ? workflowJsonSchema()
        : id === "lily.json"
        ? lilyConfigJsonSchema()
        : (await workspaceSchemas(ctx, globalOptions(cmd))).require(id).jsonSchema;
      ctx.output.out(JSON.stringify(schema, null, 2));
    });

  schema.command("export")
    .description("Write one <id>.schema.json per type, plus index.json")
    .option("--out <dir>", "the directory to write into", "schemas")
    .action(async (opts, cmd) => {
      const g = globalOptions(cmd);
      const index = await exportSchemas(await workspaceSchemas(ctx, g), { dir: opts.out });
      emit(
        ctx.output,
        g.json,
        { dir: opts.out, ...index },
        () => [
          ...index.schemas.map((s) => `${opts.out}/${s.file}`),
          `Exported ${index.schemas.length} schemas to ${opts.out} (index: ${opts.out}/index.json)`,
        ],
      );
    });

  schema.command("validate")
    .description("Validate a JSON file against a type; exit 1 listing every issue")
    .argument("<id>", "the type id, e.g. work_order.v1")
    .argument("<file>", "the JSON file")
    .action(async (id, file, _opts, cmd) => {
      const g = globalOptions(cmd);
      const result = await validateJsonFile(await workspaceSchemas(ctx, g), {
        schemaId: id,
        path: file,
      });
      const issues = issuesOf(result);
      const n = issues.length;
      emitResult(
        ctx.output,
        g.json,
        { valid: result.ok, issues },
        () =>
          result.ok ? [`${file} is a valid ${id}`] : issues.map((i) => `${i.path}: ${i.message}`),
        result.ok ? undefined : {
          message: `${file} does not match schema ${id}: ${n} ${n === 1 ? "issue" : "issues"}`,
          code: "validation",
          issues,
        },
      );
    });
}
