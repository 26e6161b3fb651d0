/**
 * Named crash points for tests: a process started with
 * `LILY_TEST_CRASH_AT=<area>.<point>` kills itself with SIGKILL when it
 * reaches that point, so a test can stop Lily between two durable writes
 * deterministically. Unset (always, outside tests), a crash point costs one
 * string comparison.
 *
 * @module
 */

/** The environment variable that names the point to crash at. */
export const CRASH_AT_ENV = "LILY_TEST_CRASH_AT";

let armed: string | null | undefined;

function armedPoint(): string | null {
  if (armed === undefined) {
    try {
      armed = Deno.env.get(CRASH_AT_ENV) ?? null;
    } catch {
      armed = null;
    }
  }
  return armed;
}

/**
 * Kills the current process with SIGKILL when `LILY_TEST_CRASH_AT` names
 * this point; does nothing otherwise.
 *
 * @param point The point's name, `<area>.<point>`, e.g. `run_create.before_manifest`.
 */
export function crashPoint(point: string): void {
  if (armedPoint() === point) Deno.kill(Deno.pid, "SIGKILL");
}
