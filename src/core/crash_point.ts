/**
 * Named points between two durable writes, where tests stop Lily: in the
 * store's run creation and in a runner.
 *
 * **Test-only.** When the environment variable `LILY_TEST_CRASH_AT` names a
 * point, the process SIGKILLs itself on reaching it (as a crash would);
 * when `LILY_TEST_PAUSE_AT` names one, it SIGSTOPs itself there (alive, its
 * locks held) until a test sends SIGCONT. Both are read once, at load; a
 * process without permission to read them never stops. Users have no reason
 * to set them.
 *
 * @module
 */

/** The points Lily can be stopped at, in the order a run passes them. */
export type CrashPoint =
  /** Run creation: the run's temporary dir holds its files; the manifest is not written yet. */
  | "run_create.before_manifest"
  /** Run creation: the manifest is written; the temporary dir is not renamed into place yet. */
  | "run_create.before_rename"
  /** The lease is held; `runner.json` still names the previous holder (a new run: nothing stored). */
  | "lease_acquired"
  /** A new run's workflow and inputs are stored under its lease; `run_started` is not journaled yet. */
  | "run_created"
  /** The run's id was announced (`Started run <id>`); nothing else happened since. */
  | "run_announced"
  /** An attempt is journaled as started; its process is not spawned yet. */
  | "attempt_started"
  /** An attempt's process ended well and its staged outputs are journaled; they are not committed yet. */
  | "outputs_committing"
  /** An attempt is journaled as succeeded; its gates have not run yet. */
  | "gates_starting"
  /** An attempt's `step_run_record.v1` is stored; `attempt_recorded` is not journaled yet. */
  | "attempt_recording"
  /** A route was decided and its feedback stored; `route_taken` is not journaled yet. */
  | "route_taking"
  /** `route_taken` is journaled; the reset steps have not started again yet. */
  | "route_taken"
  /** A replacement and its `artifact_replacement.v1` record are stored; nothing is journaled yet. */
  | "replacement_stored"
  /** A rerun or a replacement is journaled; the runner has not started its steps yet. */
  | "replay_requested"
  /** A gates-only evaluation stored its first result; its other gates have not run yet. */
  | "gates_only_evaluating"
  /** `run_finished` is journaled; the manifest and `run_state.json` are not updated yet. */
  | "run_finished"
  /** A put's bytes are in a temp file of the content store; they are not taken in yet. */
  | "put.staged"
  /** A put's payload is durable in the content store; its key does not name it yet. */
  | "put.stored"
  /** A put's key names its payload; the index row is not committed yet. */
  | "put.linked"
  /** A follower (`--follow`) looked at the run's lease; it has not read the journal since. */
  | "follow_lease_checked";

/** Reads a variable only when already allowed to: a library user is never prompted for it. */
function readEnv(name: string): string | undefined {
  try {
    const allowed = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
    return allowed ? Deno.env.get(name) : undefined;
  } catch {
    return undefined;
  }
}

const crashAt = readEnv("LILY_TEST_CRASH_AT");
const pauseAt = readEnv("LILY_TEST_PAUSE_AT");

/**
 * Stops the process at a named point when a test asked for it (see the
 * module doc); otherwise does nothing.
 *
 * @param point Where Lily is.
 */
export function crashPoint(point: CrashPoint): void {
  if (point === crashAt) Deno.kill(Deno.pid, "SIGKILL");
  if (point === pauseAt) Deno.kill(Deno.pid, "SIGSTOP");
}
