/**
 * The redactor of a stored run, for words a person adds to it after it
 * started (`lily approve --reason`, `lily pin --reason`): the run's secrets
 * as its runner sees them (`runRedactor` in `src/runtime/run_secrets.ts`,
 * from the workflow it was started with and the kernel's environment), or,
 * for a run with no workflow file (created by `lily run new`, or started
 * from the TS API), the kernel variables named like secrets.
 *
 * @module
 */

import { ConflictError, UsageError } from "../core/errors.ts";
import { Redactor, runSecrets } from "../core/redaction.ts";
import type { ContractStore } from "../contracts/contract_store.ts";
import { runRedactor } from "../runtime/run_secrets.ts";
import { loadRunWorkflow } from "../runtime/run_starter.ts";

/**
 * Builds the redactor of a stored run.
 *
 * @param store The open store.
 * @param runId The run.
 * @param kernelEnv The kernel's environment.
 * @returns The redactor.
 * @throws {IntegrityError} When the run's journal or workflow is damaged.
 * @throws {StorageError} When the run's files cannot be read.
 */
export async function storedRunRedactor(
  store: ContractStore,
  runId: string,
  kernelEnv: Readonly<Record<string, string>>,
): Promise<Redactor> {
  try {
    return runRedactor(await loadRunWorkflow(store, runId), kernelEnv);
  } catch (err) {
    // A run without a workflow file: created by hand, started from the TS API, or interrupted starting.
    if (!(err instanceof UsageError || err instanceof ConflictError)) throw err;
    return new Redactor(runSecrets(kernelEnv, { names: [], set: [] }));
  }
}
