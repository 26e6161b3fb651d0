/**
 * Whole-workspace verification: the store's checks (hashes, index ↔ files,
 * manifests) plus every run's journal, which must parse event by event and
 * fold into a state.
 *
 * @module
 */

import { LilyError } from "../core/errors.ts";
import { isUuid } from "../core/ids.ts";
import type { Store } from "../store/store.ts";
import {
  type Finding,
  type VerifyOptions,
  type VerifyReport,
  verifyStore,
} from "../store/verify.ts";
import { foldEvents } from "../runtime/run_events.ts";
import { readJournal } from "../runtime/run_journal.ts";

/**
 * Verifies the store and every run's journal.
 *
 * @param store The open store.
 * @param options Restrict to one run.
 * @returns The store's report with journal findings added.
 */
export async function verifyWorkspace(
  store: Store,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const report = await verifyStore(store, options);
  const findings: Finding[] = [...report.findings];
  const runIds: string[] = [];
  if (options.runId !== undefined) runIds.push(options.runId);
  else {
    try {
      for await (const entry of Deno.readDir(store.layout.runsDir)) {
        if (entry.isDirectory && isUuid(entry.name)) runIds.push(entry.name);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  for (const runId of runIds.sort()) {
    const path = store.runs.paths(runId).events;
    try {
      foldEvents(runId, (await readJournal(path)).events);
    } catch (err) {
      if (!(err instanceof LilyError)) throw err;
      findings.push({
        kind: "invalid_journal",
        severity: "error",
        run_id: runId,
        artifact_id: null,
        path,
        detail: err.message,
      });
    }
  }
  return { ...report, ok: findings.every((f) => f.severity === "warning"), findings };
}
