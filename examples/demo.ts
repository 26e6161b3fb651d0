/**
 * `deno task demo`: Lily's main job on a built-in example, shown as a user
 * would type it. Copies the example project, work order and workflow into a
 * temporary workspace (or `--workspace DIR`), runs the workflow — a fake-LLM
 * plan, a permission-confined deno step and the tests in parallel, a required
 * and a failing optional gate, a package step — then shows the run, its
 * artifacts and a store verification.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));
const cli = join(repo, "cli.ts");
const flag = Deno.args.indexOf("--workspace");
const workspace = flag >= 0
  ? resolve(Deno.args[flag + 1])
  : await Deno.makeTempDir({ prefix: "lily_demo_" });

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

async function lily(...args: string[]): Promise<string> {
  console.log(`\n$ lily ${args.join(" ")}`);
  const text = await quietly(...args);
  Deno.stdout.writeSync(new TextEncoder().encode(text));
  return text;
}

async function quietly(...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", cli, ...args],
    cwd: workspace,
    env: { LILY_LLM: "fake" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    console.error(`lily ${args[0]} ${args[1] ?? ""} failed with exit code ${out.code}`);
    Deno.exit(out.code);
  }
  return new TextDecoder().decode(out.stdout);
}

console.log(`Workspace: ${workspace}`);
await copyTree(join(repo, "examples", "project"), workspace);
await Deno.copyFile(join(repo, "examples", "work_order.json"), join(workspace, "work_order.json"));
await Deno.copyFile(join(repo, "examples", "demo.yaml"), join(workspace, "demo.yaml"));

const started = await lily("run", "start", "demo.yaml", "--input", "work_order=work_order.json");
const runId = started.match(/^Run (\S+) /)![1];
await lily("run", "show", runId);
await lily("artifact", "list", "--run", runId, "--type", "gate_result.v1");
const shown = JSON.parse(await quietly("run", "show", runId, "--json"));
await lily("artifact", "get", shown.run_state.steps.plan.outputs.plan);
await lily("verify");
console.log(`\nEverything is under ${join(workspace, ".iris", "runs", runId)}`);
console.log("  events.jsonl       every transition, fsynced before it is acted on");
console.log("  run_state.json     the state those events fold into");
console.log("  artifacts/<id>/    outputs, logs, gate results, inputs and the workflow itself");
