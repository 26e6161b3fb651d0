/**
 * Lily: a Deno-native workflow kernel whose every run is inspectable,
 * auditable, resumable and replayable.
 *
 * This module is the kernel library. It loads no CLI dependency; run
 * `deno run -A mod.ts --help` (or `jsr:@lily/cli`) for the command line.
 *
 * The run store keeps payloads on the filesystem under
 * `<workspace>/.iris/runs/<run_id>/` and one immutable index row per
 * artifact in `<workspace>/.iris/index.sqlite`. Every put is durable before
 * it is indexed, and records its producer and inputs.
 *
 * @example Create a run, store two linked artifacts and verify the store
 * ```ts
 * import { openStore, verifyStore } from "@lily/cli";
 *
 * const workspace = await Deno.makeTempDir();
 * const store = await openStore(workspace);
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
 *   console.assert((await verifyStore(store)).ok);
 * } finally {
 *   store.close();
 *   await Deno.remove(workspace, { recursive: true });
 * }
 * ```
 *
 * @module
 */

export * from "./src/core/errors.ts";
export * from "./src/core/ids.ts";
export * from "./src/core/canonical_json.ts";
export * from "./src/core/clock.ts";
export * from "./src/core/delay.ts";
export * from "./src/core/storage_error.ts";
export * from "./src/core/version.ts";
export * from "./src/store/artifact_ref.ts";
export * from "./src/store/artifact_index.ts";
export * from "./src/store/artifact_store.ts";
export * from "./src/store/durable_file.ts";
export * from "./src/store/layout.ts";
export * from "./src/store/run_manifest.ts";
export * from "./src/store/run_store.ts";
export * from "./src/store/safe_path.ts";
export * from "./src/store/store.ts";
export * from "./src/store/verify.ts";
export * from "./src/store/workspace_snapshot.ts";
export * from "./src/contracts/canonical.ts";
export * from "./src/contracts/contract_store.ts";
export * from "./src/contracts/envelope.ts";
export * from "./src/contracts/kernel_schemas.ts";
export * from "./src/contracts/schema_export.ts";
export * from "./src/contracts/schema_registry.ts";
export * from "./src/contracts/validation.ts";
export * from "./src/graph/derived_names.ts";
export * from "./src/graph/duration.ts";
export * from "./src/graph/graph_reach.ts";
export * from "./src/graph/retry_delay.ts";
export * from "./src/graph/route_check.ts";
export * from "./src/graph/scheduler.ts";
export * from "./src/graph/workflow.ts";
export * from "./src/graph/workflow_definition.ts";
export * from "./src/graph/workflow_graph.ts";
export * from "./src/graph/workflow_loader.ts";
export * from "./src/policy/retry_jitter.ts";
export * from "./src/runtime/attempt_workspace.ts";
export * from "./src/runtime/executors/bubblewrap.ts";
export * from "./src/runtime/executors/command_executor.ts";
export * from "./src/runtime/executors/deno_executor.ts";
export * from "./src/runtime/executors/deno_flags.ts";
export * from "./src/runtime/executors/executor.ts";
export * from "./src/runtime/executors/executor_registry.ts";
export * from "./src/runtime/executors/fn_executor.ts";
export * from "./src/runtime/executors/llm_executor.ts";
export * from "./src/runtime/executors/llm_provider.ts";
export * from "./src/runtime/executors/process_tree.ts";
export * from "./src/runtime/run_cancel.ts";
export * from "./src/runtime/run_event_schema.ts";
export * from "./src/runtime/run_events.ts";
export * from "./src/runtime/run_decider.ts";
export * from "./src/runtime/route_decider.ts";
export * from "./src/runtime/route_feedback.ts";
export * from "./src/runtime/run_loop.ts";
export * from "./src/runtime/run_journal.ts";
export * from "./src/runtime/run_lease.ts";
export * from "./src/runtime/run_session.ts";
export * from "./src/runtime/run_state_file.ts";
export * from "./src/runtime/run_starter.ts";
export * from "./src/gates/gate_evaluator.ts";
export * from "./src/gates/human_gate.ts";
export * from "./src/kernel/runnable_check.ts";
export * from "./src/kernel/verify_workspace.ts";
export * from "./src/kernel/workflow_service.ts";

if (import.meta.main) {
  const { main } = await import("./src/cli/main.ts");
  Deno.exit(await main(Deno.args));
}
