/**
 * The diamond the replay tests run (a → b, c → d, with a gate on d) and
 * what they read back through the CLI.
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "./_assert.ts";
import { lily, lilyJson } from "./_helpers.ts";

/** An attempt as `run show --json` prints it. */
export interface Attempt {
  attempt: number;
  cause: string | null;
  status: string;
  outputs: Record<string, string>;
  supersedes?: number;
}
/** A step as `run show --json` prints it. */
export interface Step {
  status: string;
  attempts: Attempt[];
  outputs: Record<string, string>;
}
/** What the replay tests read of `run show --json`. */
export interface Show {
  run_state: { status: string; steps: Record<string, Step>; replacements: Record<string, string> };
  replays: { type: string; reset: string[]; original?: string; replacement?: string }[];
  history?: { step: string; attempt: number; current: boolean; superseded_by: number | null }[];
}
/** An artifact reference as `artifact list --json` prints it. */
export interface Ref {
  artifact_id: string;
  artifact_type: string;
  producer_id: string;
  input_artifact_refs: string[];
}

/**
 * The diamond: each step writes its name, attempt and what it read; a's
 * output is a work order (a kernel type, so a replacement is validated); a
 * gate on d reads the workspace's `needle` file, so editing it changes the
 * verdict without running a step.
 */
export const DIAMOND = `name: diamond
steps:
  - id: a
    shell: printf '{"goal":"a%s"}' "$LILY_ATTEMPT" > "$LILY_OUTPUT_DIR/plan.json"
    outputs: { plan: { type: work_order.v1, path: plan.json } }
  - id: b
    inputs: { x: steps.a.outputs.plan }
    shell: echo "b$LILY_ATTEMPT($(cat "$LILY_INPUT_X"))" > "$LILY_OUTPUT_DIR/v.txt"
    outputs: { v: { type: note.v1, path: v.txt } }
  - id: c
    inputs: { x: steps.a.outputs.plan }
    shell: echo "c$LILY_ATTEMPT($(cat "$LILY_INPUT_X"))" > "$LILY_OUTPUT_DIR/v.txt"
    outputs: { v: { type: note.v1, path: v.txt } }
  - id: d
    inputs: { x: steps.b.outputs.v, y: steps.c.outputs.v }
    shell: echo "d$LILY_ATTEMPT[$(cat "$LILY_INPUT_X")+$(cat "$LILY_INPUT_Y")]" > "$LILY_OUTPUT_DIR/v.txt"
    outputs: { v: { type: note.v1, path: v.txt } }
gates:
  - id: has_needle
    step: d
    shell: grep -q "$(cat needle)" "$LILY_INPUT_V"
`;

/** Writes the diamond and a `needle` of "d", runs it, and returns the run id. */
export async function startDiamond(ws: string): Promise<string> {
  await Deno.writeTextFile(join(ws, "flow.yaml"), DIAMOND);
  await Deno.writeTextFile(join(ws, "needle"), "d");
  const started = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws });
  assertEquals(started.code, 0, started.stderr);
  return JSON.parse(started.stdout).run_id;
}

/** `lily run show <run> [--history] --json`. */
export async function show(ws: string, runId: string, history = false): Promise<Show> {
  return await lilyJson<Show>(["run", "show", runId, ...(history ? ["--history"] : [])], ws);
}

/** The run's artifacts, as `lily artifact list --run` lists them. */
export async function artifacts(ws: string, runId: string): Promise<Ref[]> {
  return await lilyJson<Ref[]>(["artifact", "list", "--run", runId], ws);
}

/** An artifact's payload as text, trimmed. */
export async function text(ws: string, id: string): Promise<string> {
  const got = await lily(["artifact", "get", id], { workspace: ws });
  assertEquals(got.code, 0, got.stderr);
  return got.stdout.trim();
}

/** The run's `events.jsonl`, as text. */
export function journal(ws: string, runId: string): Promise<string> {
  return Deno.readTextFile(join(ws, ".iris", "runs", runId, "events.jsonl"));
}

/** Each attempt as `[attempt, cause, supersedes]`. */
export function causes(step: Step): [number, string | null, number | undefined][] {
  return step.attempts.map((a) => [a.attempt, a.cause, a.supersedes]);
}
