/**
 * A child process for the store conformance suite: takes a run's lease in
 * the filesystem store, says `held`, and keeps it until it is killed.
 *
 * Usage: deno run -A hold_lease.ts <workspace> <run_id>
 */

import { openStore } from "../../store.ts";

const [workspace, runId] = Deno.args;
const store = await openStore(workspace, { create: false });
await store.leases.acquire(runId);
Deno.stdout.writeSync(new TextEncoder().encode("held\n"));
setInterval(() => {}, 60_000);
