/**
 * `deno task demo`: Lily's main job on a built-in example, shown as a user
 * would type it. Copies the example project, work order and workflow into a
 * temporary workspace (or `--workspace DIR`), runs the workflow — a fake-LLM
 * plan, a permission-confined deno step and the tests in parallel, a required
 * and a failing optional gate, a package step — then shows the run, its
 * artifacts and a store verification. The temporary workspace is removed at
 * the end unless `--keep` is given. Where no working bubblewrap is found the
 * demo says so and runs with `--no-sandbox`, so it works on any machine with
 * Deno; a real run fails closed instead (`sandbox_unavailable`).
 *
 * Usage: deno task demo [--workspace DIR] [--keep]
 *
 * @module
 */

import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { commandLine } from "../src/cli/hints.ts";
import { findBubblewrap } from "../src/runtime/executors/bubblewrap.ts";

const USAGE = "Usage: deno task demo [--workspace DIR] [--keep]";

/** What the demo was asked to do. */
interface DemoArgs {
  readonly workspace?: string;
  readonly keep: boolean;
}

function usageError(message: string): never {
  console.error(`demo: ${message}; ${USAGE}`);
  Deno.exit(2);
}

function parseArgs(args: readonly string[]): DemoArgs {
  let workspace: string | undefined;
  let keep = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      console.log("  --workspace DIR  run in DIR (created when missing) and keep it");
      console.log("  --keep           keep the temporary workspace");
      Deno.exit(0);
    } else if (arg === "--keep") {
      keep = true;
    } else if (arg === "--workspace" || arg.startsWith("--workspace=")) {
      const value = arg === "--workspace" ? args[++i] : arg.slice("--workspace=".length);
      if (value === undefined || value === "" || value.startsWith("-")) {
        usageError("--workspace needs a directory");
      }
      workspace = resolve(value);
    } else {
      usageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return { workspace, keep };
}

const options = parseArgs(Deno.args);
const repo = fileURLToPath(new URL("..", import.meta.url));
const cli = join(repo, "cli.ts");
const workspace = options.workspace ?? await Deno.makeTempDir({ prefix: "lily_demo_" });
const removeAtEnd = options.workspace === undefined && !options.keep;

/** A path in the workspace as typed from the current directory. */
function inWorkspace(name: string): string {
  const path = relative(Deno.cwd(), join(workspace, name));
  return path.startsWith("..") ? join(workspace, name) : path;
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

/**
 * Runs lily from the directory the demo was started in, naming the workspace
 * as a user would, so the commands shown and the hints lily prints (`Details:
 * lily run show <id> --workspace DIR`) work as typed.
 */
async function lily(...args: string[]): Promise<string> {
  console.log(`\n$ ${commandLine(args, workspace)}`);
  const text = await quietly(...args);
  Deno.stdout.writeSync(new TextEncoder().encode(text));
  return text;
}

async function quietly(...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", cli, ...args, "--workspace", workspace],
    env: { LILY_LLM: "fake" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    throw new Error(`lily ${args[0]} ${args[1] ?? ""} failed with exit code ${out.code}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function demo(): Promise<void> {
  console.log(`Workspace: ${workspace}`);
  await copyTree(join(repo, "examples", "project"), workspace);
  await Deno.copyFile(
    join(repo, "examples", "work_order.json"),
    join(workspace, "work_order.json"),
  );
  await Deno.copyFile(join(repo, "examples", "demo.yaml"), join(workspace, "demo.yaml"));

  const sandboxed = await findBubblewrap() !== undefined;
  if (!sandboxed) {
    console.log(
      "\nNo working bubblewrap here: the demo runs with --no-sandbox (steps unconfined).\n" +
        "Install bubblewrap (Debian: apt-get install bubblewrap) to run it confined.",
    );
  }
  const started = await lily(
    "run",
    "start",
    inWorkspace("demo.yaml"),
    "--input",
    `work_order=${inWorkspace("work_order.json")}`,
    ...(sandboxed ? [] : ["--no-sandbox"]),
  );
  const runId = started.match(/^Run (\S+) /)![1];
  await lily("run", "show", runId);
  await lily("artifact", "list", "--run", runId, "--type", "gate_result.v1");
  const shown = JSON.parse(await quietly("run", "show", runId, "--json"));
  await lily("artifact", "get", shown.run_state.steps.plan.outputs.plan);
  await lily("verify");
  if (removeAtEnd) {
    console.log(`\nThe run was under ${join(workspace, ".iris", "runs", runId)} (removed now;`);
    console.log("keep it with --keep or --workspace DIR):");
  } else {
    console.log(`\nEverything is under ${join(workspace, ".iris", "runs", runId)}`);
  }
  console.log("  events.jsonl       every transition, fsynced before it is acted on");
  console.log("  run_state.json     the state those events fold into");
  console.log("  artifacts/<id>/    outputs, logs, gate results, inputs and the workflow itself");
}

try {
  await demo();
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  Deno.exitCode = 1;
} finally {
  if (removeAtEnd) await Deno.remove(workspace, { recursive: true });
}
