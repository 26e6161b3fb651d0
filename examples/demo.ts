/**
 * `deno task demo`: Lily's main job on a built-in example, shown as a user
 * would type it. Creates a temporary workspace (or uses `--workspace DIR`),
 * creates a run with the bundled work order, stores artifacts that derive
 * from each other, lists them and verifies the store.
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
await Deno.mkdir(workspace, { recursive: true });

async function lily(...args: string[]): Promise<string> {
  console.log(`\n$ lily ${args.join(" ")}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", cli, ...args],
    cwd: workspace,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  Deno.stdout.writeSync(out.stdout);
  if (!out.success) {
    console.error(`lily ${args[0]} failed with exit code ${out.code}`);
    Deno.exit(out.code);
  }
  return text;
}

console.log(`Workspace: ${workspace}`);
await Deno.copyFile(join(repo, "examples", "work_order.json"), join(workspace, "work_order.json"));
const created = await lily("run", "new", "--work-order", "work_order.json");
const runId = created.match(/Created run (\S+)/)![1];
const workOrderId = created.match(/Attached work order: (\S+)/)![1];

await Deno.writeTextFile(
  join(workspace, "plan.json"),
  JSON.stringify({ steps: ["reproduce", "fix", "test"], budget_minutes: 20 }),
);
const plan = JSON.parse(
  await lily(
    "artifact",
    "put",
    runId,
    "--type",
    "plan.v1",
    "--json-file",
    "plan.json",
    "--name",
    "plan",
    "--producer",
    "planner",
    "--producer-kind",
    "llm",
    "--input",
    workOrderId,
    "--json",
  ),
);
await Deno.writeTextFile(join(workspace, "test.log"), "ok | 12 passed | 0 failed\n");
await lily(
  "artifact",
  "put",
  runId,
  "--type",
  "test_log.v1",
  "--file",
  "test.log",
  "--producer",
  "deno-test",
  "--producer-kind",
  "tool",
  "--input",
  plan.artifact_id,
);
await lily("artifact", "list", "--run", runId);
await lily("artifact", "get", plan.artifact_id);
console.log();
await lily("run", "show", runId);
await lily("verify");
console.log(`\nEverything is under ${join(workspace, ".iris")}`);
