/**
 * `deno task demo`: Lily's main job on a built-in example, shown as a user
 * would type it: a coding agent's fix-until-green loop. Copies the tiny
 * project in `examples/agent/project` (a failing test), its work order, the
 * workflow `examples/agent/fix_until_green.yaml` and the fake model's
 * script into a temporary workspace (or `--workspace DIR`), and runs it:
 * the fake proposes a wrong patch first, the tests gate fails, the route
 * goes back to the edit step with the failing report, the second patch
 * makes the tests pass. Then it shows the run, the final patch and its
 * provenance as Mermaid, the policy each step ran under, the stored
 * conversation and a store verification. The temporary workspace is
 * removed at the end unless `--keep` is given. The repository is never
 * edited.
 *
 * With `LILY_LLM=openai` or `anthropic` (and its key, `docs/llm.md`) in
 * the environment the same workflow asks that model instead of the fake;
 * otherwise no network is used. Where no working bubblewrap is found the
 * demo says so and runs with `--no-sandbox`, so it works on any machine
 * with Deno; a real run fails closed instead (`sandbox_unavailable`).
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

/** A real provider named in the environment, or none (the fake with its script). */
const realProvider = ["openai", "anthropic"].includes(Deno.env.get("LILY_LLM") ?? "")
  ? Deno.env.get("LILY_LLM")
  : undefined;

/** The fake model and its two replies (a wrong patch, then the right one), unless a real one is set. */
const LLM_ENV: Record<string, string> = realProvider
  ? {}
  : { LILY_LLM: "fake", LILY_LLM_SCRIPT: "replies.json" };

async function quietly(...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", cli, ...args, "--workspace", workspace],
    env: LLM_ENV,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    throw new Error(`lily ${args[0]} ${args[1] ?? ""} failed with exit code ${out.code}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** What the access journal says about one attempt (`lily journal --json`). */
interface JournalAttempt {
  readonly attempt: number;
  readonly grant: {
    readonly sandbox: string;
    readonly mounts: readonly { readonly mode: string; readonly path: string }[];
    readonly net: readonly string[];
    readonly tools: readonly string[] | null;
  } | null;
  readonly permissions: readonly {
    readonly decision: string;
    readonly kind: string;
    readonly target: string;
  }[];
}

/** Workspace-relative, for the policy lines (`.` for the workspace itself). */
function local(path: string): string | undefined {
  if (path === workspace) return ".";
  return path.startsWith(`${workspace}/`) && !path.includes("/.iris/")
    ? path.slice(workspace.length + 1)
    : undefined;
}

/**
 * The policy each step's last attempt ran under, from the access journal:
 * the sandbox, what it could write in the workspace, its network and tools.
 */
async function showPolicies(runId: string): Promise<void> {
  console.log(`
The policy each step ran under (its last attempt, from lily journal ${runId} --json):`);
  const journal = JSON.parse(await quietly("journal", runId, "--json")) as {
    steps: { step: string; attempts: JournalAttempt[] }[];
  };
  for (const { step, attempts } of journal.steps) {
    const last = attempts[attempts.length - 1];
    const grant = last.grant;
    if (grant === null) {
      console.log(
        `  ${
          step.padEnd(6)
        } in Lily's process (not sandboxed): reads the files in scope, writes only its output`,
      );
      continue;
    }
    const denied = last.permissions.filter((p) => p.decision !== "allow").length;
    const broker = last.permissions.length > 0
      ? `; broker: ${denied} of ${last.permissions.length} checks denied`
      : "";
    const writable = grant.mounts.filter((m) => m.mode === "writable").map((m) => local(m.path))
      .filter((p) => p !== undefined);
    const brokered = last.permissions.filter((p) => p.kind === "write" && p.decision === "allow")
      .map((p) => local(p.target)).filter((p) => p !== undefined);
    const writes = grant.sandbox === "none"
      ? `no sandbox; writes the broker allowed in the workspace: ${brokered.join(", ") || "none"}`
      : `writes in the workspace: ${writable.join(", ") || "nothing"}`;
    console.log(
      `  ${step.padEnd(6)} ${
        grant.sandbox === "none" ? "" : `sandbox ${grant.sandbox}; `
      }${writes}; ` +
        `network: ${grant.net.join(", ") || "none"}; ` +
        `tools: ${grant.tools === null ? "any" : grant.tools.join(", ") || "none"}${broker}`,
    );
  }
}

async function demo(): Promise<void> {
  console.log(`Workspace: ${workspace}`);
  const example = join(repo, "examples", "agent");
  await copyTree(join(example, "project"), workspace);
  for (const file of ["fix_until_green.yaml", "work_order.json", "replies.json"]) {
    await Deno.copyFile(join(example, file), join(workspace, file));
  }
  console.log(
    realProvider
      ? `\nLILY_LLM=${realProvider}: the edit step asks that model (docs/llm.md).`
      : "\nThe edit step asks Lily's deterministic fake model, scripted in replies.json to " +
        "answer\nwith a wrong patch first and the right one second (no network is used).",
  );
  const sandboxed = Deno.env.get("LILY_SANDBOX") !== "off" && await findBubblewrap() !== undefined;
  if (!sandboxed) {
    console.log(
      "\nNo working bubblewrap here: the demo runs with --no-sandbox (steps unconfined by\n" +
        "bubblewrap; deno steps keep their permission flags and broker). Install bubblewrap\n" +
        "(Debian: apt-get install bubblewrap) to run it confined.",
    );
  }
  const started = await lily(
    "run",
    "start",
    inWorkspace("fix_until_green.yaml"),
    "--input",
    `work_order=${inWorkspace("work_order.json")}`,
    ...(sandboxed ? [] : ["--no-sandbox"]),
  );
  const runId = started.match(/^Run (\S+) /m)![1];
  await lily("run", "show", runId);
  const shown = JSON.parse(await quietly("run", "show", runId, "--json"));
  const edit = shown.run_state.steps.edit;
  if (edit.feedback) await lily("artifact", "get", edit.feedback);
  await lily("artifact", "get", edit.outputs.patch);
  await lily("provenance", edit.outputs.patch, "--format", "mermaid");
  await showPolicies(runId);
  await lily("artifact", "list", "--run", runId, "--type", "llm_reply.v1");
  await lily("verify");
  if (removeAtEnd) {
    console.log(`\nThe run was under ${join(workspace, ".iris", "runs", runId)} (removed now;`);
    console.log("keep it with --keep or --workspace DIR):");
  } else {
    console.log(`\nEverything is under ${join(workspace, ".iris", "runs", runId)}`);
  }
  console.log("  events.jsonl       every transition, fsynced before it is acted on");
  console.log("  run_state.json     the state those events fold into");
  console.log("  artifacts/<id>/    patches, test reports, gate results, the conversation, logs");
}

try {
  await demo();
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  Deno.exitCode = 1;
} finally {
  if (removeAtEnd) await Deno.remove(workspace, { recursive: true });
}
