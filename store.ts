/**
 * Lily's artifact store: one directory per run under `<workspace>/.iris/runs/`
 * and one immutable index row per artifact in `<workspace>/.iris/index.sqlite`.
 * Every put is durable (written, fsynced, renamed) before it is indexed, and
 * records its producer and inputs. Runs are driven through the kernel
 * (`createKernel` in `@lily/cli`); this entry is for reading and adding
 * artifacts directly and for verification.
 *
 * @example Create a run, store two linked artifacts and verify the workspace
 * ```ts
 * import { openContractStore, verifyWorkspace } from "@lily/cli/store";
 *
 * const workspace = await Deno.makeTempDir();
 * const store = await openContractStore(workspace);
 * try {
 *   const { manifest } = await store.runs.create();
 *   const plan = await store.artifacts.putJson(manifest.run_id, { goal: "ship" }, {
 *     type: "plan.v1",
 *     producer: { id: "planner", kind: "llm" },
 *   });
 *   const notes = await store.artifacts.putText(manifest.run_id, "done\n", {
 *     type: "notes.v1",
 *     inputs: [plan.artifact_id],
 *   });
 *   console.assert(notes.input_artifact_refs[0] === plan.artifact_id);
 *   console.assert((await verifyWorkspace(store)).ok);
 * } finally {
 *   store.close();
 *   await Deno.remove(workspace, { recursive: true });
 * }
 * ```
 *
 * @module
 */

export { openStore, type OpenStoreOptions, type Store, storeExists } from "./src/store/store.ts";
export {
  type ContractStore,
  openContractStore,
  type OpenContractStoreOptions,
} from "./src/contracts/contract_store.ts";
export type {
  AcquireLeaseOptions,
  AppendLog,
  ArtifactIndex,
  ArtifactLineage,
  ArtifactQuery,
  BlobInfo,
  BlobPutOptions,
  BlobSource,
  BlobStore,
  CacheEntry,
  CacheKeyParts,
  CacheOutcome,
  CacheProbe,
  CacheQuery,
  ContentInfo,
  HeldLease,
  LogCodec,
  LogContents,
  LogCursor,
  LogTail,
  OpenLogOptions,
  RunControl,
  RunEventLog,
  RunLease,
  StepCache,
} from "./src/store/ports.ts";
export { LOG_START } from "./src/store/ports.ts";
export type { LiveLogChunk } from "./src/store/live_log.ts";
export type {
  ArtifactCollection,
  ArtifactPin,
  GcRecord,
  RetentionIndex,
} from "./src/store/retention.ts";
export type {
  ArtifactStore,
  PayloadCheck,
  Producer,
  PutFileOptions,
  PutOptions,
  StoredPayload,
} from "./src/store/artifact_store.ts";
export type { ArtifactRef, ProducerKind, StorageKind } from "./src/store/artifact_ref.ts";
export type {
  CreatedRun,
  CreateRunOptions,
  PartialCreation,
  RunListing,
  RunScratch,
  RunStore,
  WorkOrderCheck,
} from "./src/store/run_store.ts";
export type { RunManifest, RunStatus, WorkspaceSnapshot } from "./src/store/run_manifest.ts";
export { verifyWorkspace } from "./src/kernel/verify_workspace.ts";
export type {
  Finding,
  FindingKind,
  FindingSeverity,
  JournalCheckContext,
  JournalFinding,
  VerifyOptions,
  VerifyReport,
} from "./src/store/verify.ts";
