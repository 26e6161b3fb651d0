/**
 * `lily init`: writes a workspace's `lily.json` and an example workflow
 * (`workflow.yaml`), the pack's own example with `--pack NAME`. Nothing is
 * overwritten: when either file exists, nothing is written and the error
 * names them. The example is checked against the workspace's packs first,
 * so what is written runs as written.
 *
 * @module
 */

import { NotFoundError, UsageError } from "../core/errors.ts";
import { parseWorkflow } from "../graph/workflow_loader.ts";
import { CONFIG_FILE } from "../packs/workspace_config.ts";
import { workflowLoadOptions, type WorkspacePacks } from "./kernel_packs.ts";
import { existingWorkspace } from "./workspace.ts";

/** The example workflow's file name. */
export const EXAMPLE_WORKFLOW = "workflow.yaml";

/** The example written without `--pack`: one shell step with an output. */
const PLAIN_EXAMPLE = `# A first workflow. Run it with: lily run start workflow.yaml
name: hello
steps:
  - id: greet
    shell: echo "hello from Lily" > "$LILY_OUTPUT_DIR/greeting.txt"
    outputs:
      greeting: { type: greeting.v1, path: greeting.txt }
`;

/** What `lily init` (`Kernel.init`) wrote. */
export interface InitResult {
  /** The workspace. */
  readonly workspace: string;
  /** The files written, relative to the workspace. */
  readonly files: readonly string[];
  /** The pack whose example was written, or `null`. */
  readonly pack: string | null;
}

function configText(): string {
  return `${
    JSON.stringify(
      {
        $schema: "https://jsr.io/@lily/cli/lily.schema.json",
        packs: {},
        policy: { net: [] },
      },
      null,
      2,
    )
  }\n`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** The example workflow for a pack (its own), or the plain one. */
function example(packs: WorkspacePacks, name: string | undefined): string {
  if (name === undefined) return PLAIN_EXAMPLE;
  const pack = packs.packs.find((p) => p.name === name);
  if (pack === undefined) {
    throw new NotFoundError(
      `No pack named ${JSON.stringify(name)}; known: ${packs.packs.map((p) => p.name).join(", ")}`,
    );
  }
  if (pack.status === "failed") {
    throw new UsageError(
      `Pack ${name} failed to load: ${pack.issues.map((i) => i.reason).join("; ")}`,
    );
  }
  if (pack.example === null) {
    throw new UsageError(`Pack ${name} has no example workflow; run lily init without --pack`);
  }
  return pack.example;
}

/**
 * Writes `lily.json` and `workflow.yaml` into a workspace.
 *
 * @param workspace The workspace directory (it must exist).
 * @param options The packs loaded for it, and the pack whose example to write.
 * @returns What was written.
 * @throws {UsageError} When a file exists already (naming each), or the pack has no example.
 * @throws {NotFoundError} When the workspace or the pack does not exist.
 */
export async function initWorkspace(
  workspace: string,
  options: { readonly packs: WorkspacePacks; readonly pack?: string },
): Promise<InitResult> {
  const dir = await existingWorkspace(workspace);
  const files = [CONFIG_FILE, EXAMPLE_WORKFLOW];
  const present: string[] = [];
  for (const file of files) if (await exists(`${dir}/${file}`)) present.push(file);
  if (present.length > 0) {
    throw new UsageError(
      `lily init writes no file that exists; ${present.join(" and ")} ${
        present.length === 1 ? "exists" : "exist"
      } in ${dir}: move ${present.length === 1 ? "it" : "them"} away or init another workspace`,
    );
  }
  const workflow = example(options.packs, options.pack);
  parseWorkflow(workflow, EXAMPLE_WORKFLOW, workflowLoadOptions(options.packs));
  const written: string[] = [];
  try {
    const contents: readonly (readonly [string, string])[] = [
      [CONFIG_FILE, configText()],
      [EXAMPLE_WORKFLOW, workflow],
    ];
    for (const [file, text] of contents) {
      await Deno.writeTextFile(`${dir}/${file}`, text, { createNew: true });
      written.push(file);
    }
  } catch (err) {
    for (const file of written) await Deno.remove(`${dir}/${file}`).catch(() => {});
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new UsageError(`lily init writes no file that exists; ${err.message}`);
    }
    throw err;
  }
  return { workspace: dir, files, pack: options.pack ?? null };
}
