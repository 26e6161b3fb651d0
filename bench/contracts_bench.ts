/**
 * What Layer 1 adds to every structured put, measured on a 10 KB envelope
 * (a `step_run_record.v1` with many input and output digests): schema
 * validation, RFC 8785 canonicalization and sha256, against a floor of
 * `JSON.stringify` and sha256 of the same object. A second figure leaves
 * validation out, to show what canonicalization alone costs. Neither has a
 * target yet; the ratios are reported as measured.
 *
 * ```sh
 * deno run -A bench/contracts_bench.ts [--quick]
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import { canonicalForm, type Envelope, kernelRegistry, type SchemaRegistry } from "../contracts.ts";
import { storedValueIssues } from "../src/contracts/envelope.ts";
import {
  type BenchContext,
  type Figure,
  formatFigure,
  interleave,
  makeFigure,
} from "./_measure.ts";

const ENVELOPE_BYTES = 10 * 1024;
const SCHEMA_ID = "step_run_record.v1";

function digest(i: number): Record<string, string> {
  const hex = i.toString(16).padStart(12, "0");
  return {
    artifact_id: `2f1c7a52-5b7e-4c1e-9a57-${hex}`,
    sha256: createHash("sha256").update(String(i)).digest("hex"),
    name: `input_${i}`,
  };
}

/**
 * Builds a valid `step_run_record.v1` envelope whose canonical form is just
 * over {@linkcode ENVELOPE_BYTES} bytes.
 */
function makeEnvelope(registry: SchemaRegistry): Envelope {
  const payload = {
    run_id: "2f1c7a52-5b7e-4c1e-9a57-ffffffffffff",
    step_id: "build",
    attempt: 1,
    cause: "first",
    supersedes: null,
    status: "succeeded",
    started_at: "2026-01-31T12:00:00.000Z",
    ended_at: "2026-01-31T12:00:01.500Z",
    duration_ms: 1500,
    executor: { kind: "command", argv: ["deno", "task", "build"], cwd: ".", env: { CI: "1" } },
    inputs: [] as Record<string, string>[],
    outputs: [] as Record<string, string>[],
    logs: [],
    gate_result_ids: [],
    policy_violation_ids: [],
    exit_code: 0,
    retry_count: 0,
    environment_snapshot_id: null,
  };
  const envelope = { schema_id: SCHEMA_ID, payload, meta: { runner: "bench" } };
  for (let i = 0; canonicalForm(envelope).bytes.length < ENVELOPE_BYTES; i++) {
    (i % 2 === 0 ? payload.inputs : payload.outputs).push(digest(i));
  }
  const issues = storedValueIssues(registry, { artifactType: SCHEMA_ID, value: envelope });
  if (issues.length > 0) {
    throw new Error(`The bench envelope is invalid: ${issues[0].path}: ${issues[0].message}`);
  }
  return envelope;
}

/**
 * Measures validation + canonical hashing of a 10 KB envelope, and canonical
 * hashing alone, each against `JSON.stringify` + sha256 of the same object,
 * in alternating blocks after a warm-up of two blocks each.
 *
 * @param ctx The bench context.
 * @returns Two figures in ops/s, without targets.
 */
export async function benchContracts(ctx: BenchContext): Promise<Figure[]> {
  const registry = await kernelRegistry();
  const envelope = makeEnvelope(registry);
  const options = { blocks: ctx.quick ? 6 : 60, perBlock: ctx.quick ? 20 : 200, warmupBlocks: 2 };
  const floor = () => createHash("sha256").update(JSON.stringify(envelope)).digest("hex");
  const full = await interleave({
    lily: () => {
      storedValueIssues(registry, { artifactType: SCHEMA_ID, value: envelope });
      return canonicalForm(envelope).sha256;
    },
    floor,
  }, options);
  const hashOnly = await interleave({ lily: () => canonicalForm(envelope).sha256, floor }, options);
  ctx.progress(
    `contracts: ${options.blocks} blocks of ${options.perBlock} calls, median ms per call: ` +
      `validate+canonical+sha256 ${full.lily.toFixed(3)}, canonical+sha256 ` +
      `${hashOnly.lily.toFixed(3)}, JSON.stringify+sha256 ${full.floor.toFixed(3)}`,
  );
  return [
    makeFigure({
      name: "validate+canonical hash 10 KB",
      unit: "ops/s",
      value: 1000 / full.lily,
      floor: 1000 / full.floor,
    }),
    makeFigure({
      name: "canonical hash 10 KB",
      unit: "ops/s",
      value: 1000 / hashOnly.lily,
      floor: 1000 / hashOnly.floor,
    }),
  ];
}

if (import.meta.main) {
  const ctx: BenchContext = {
    quick: Deno.args.includes("--quick"),
    peers: false,
    progress: (message) => console.error(message),
  };
  for (const figure of await benchContracts(ctx)) console.log(formatFigure(figure));
}
