/**
 * One attempt's workspace, owned by the runtime: its staging dirs under the
 * run's local scratch (`tmp/`, from `Store.runs.scratch`), its
 * inputs copied in read-only, its environment subset and log files; and,
 * when it ends, its declared outputs validated and committed to the store.
 *
 * @module
 */

import type { Redactor } from "../core/redaction.ts";
import { extname, join, posix } from "node:path";
import { canonicalJson, sha256File } from "../core/canonical_json.ts";
import { causeMessage, IntegrityError, type Issue, LilyError } from "../core/errors.ts";
import { storageError } from "../core/storage_error.ts";
import { createDirSync } from "../store/durable_file.ts";
import type { ArtifactRef } from "../store/artifact_ref.ts";
import type { Producer } from "../store/artifact_store.ts";
import type { RunScratch } from "../store/run_store.ts";
import { resolveInside } from "../store/safe_path.ts";
import type { Store } from "../store/store.ts";
import type { OutputSpec } from "../graph/workflow.ts";
export { inputEnvName } from "../graph/derived_names.ts";
import type { MaterializedInput } from "./executors/executor.ts";
import type { InputRecord } from "./run_events.ts";
import { logFileName } from "./log_names.ts";

/** Environment variables every step gets from the kernel's environment when set. */
export const BASE_ENV_NAMES: readonly string[] = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TERM"];

/** Checks a JSON value against a registered artifact type; empty when valid. */
export type OutputValidator = (artifactType: string, value: unknown) => readonly Issue[];

/** The dirs and files of one attempt. */
export interface AttemptDirs {
  /** The attempt's root under `tmp/`. */
  readonly root: string;
  /** Declared outputs go here. */
  readonly outputDir: string;
  /** Read-only input copies. */
  readonly inputDir: string;
  /** Scratch space (also `TMPDIR`). */
  readonly scratchDir: string;
  /** stdout log in `logs/`. */
  readonly stdoutPath: string;
  /** stderr log in `logs/`. */
  readonly stderrPath: string;
}

/**
 * Creates an attempt's staging dirs. Labels are never reused (attempt
 * numbers only grow), so the attempt dir is created exclusively; leftovers
 * under the same label are removed first only when they exist.
 *
 * @param run The run's local scratch.
 * @param label A file-name-safe label such as `build.2` or `gate.tests.build.1`.
 * @param options `processes`: the attempt runs child processes and needs a
 * scratch dir (its `TMPDIR`); `inputs`: it has inputs to copy in;
 * `outputs`: it leaves outputs. An attempt that needs none of them gets its
 * paths without any dir being created.
 * @returns The dirs.
 */
export async function prepareAttemptDirs(
  run: RunScratch,
  label: string,
  options: { processes: boolean; inputs: boolean; outputs: boolean } = {
    processes: true,
    inputs: true,
    outputs: true,
  },
): Promise<AttemptDirs> {
  const root = join(run.tmp, label);
  const dirs: AttemptDirs = {
    root,
    outputDir: join(root, "out"),
    inputDir: join(root, "in"),
    scratchDir: join(root, "scratch"),
    stdoutPath: join(run.logs, logFileName(label, "stdout")),
    stderrPath: join(run.logs, logFileName(label, "stderr")),
  };
  if (!options.processes && !options.inputs && !options.outputs) return dirs;
  // Synchronous: a mkdir costs microseconds, a round trip through the thread pool far more.
  try {
    Deno.mkdirSync(root);
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw storageError(err, root, "create");
    await Deno.remove(root, { recursive: true }).catch((err) => {
      throw storageError(err, root, "remove");
    });
    createDirSync(root);
  }
  createDirSync(dirs.outputDir);
  if (options.inputs) createDirSync(dirs.inputDir);
  if (options.processes) createDirSync(dirs.scratchDir);
  return dirs;
}

/**
 * Removes an attempt's staging dirs once its outputs are committed.
 *
 * @param dirs The attempt's dirs.
 */
export async function removeAttemptDirs(dirs: AttemptDirs): Promise<void> {
  await Deno.remove(dirs.root, { recursive: true }).catch(() => {});
}

/**
 * The record of an attempt's inputs for its start event: each input's
 * artifact id and indexed sha256 (null when the index has no such artifact;
 * materializing the input then fails the attempt, naming it).
 *
 * @param store The store.
 * @param inputs Input name → artifact id.
 * @returns The records by input name.
 */
export async function inputRecords(
  store: Store,
  inputs: Readonly<Record<string, string>>,
): Promise<Record<string, InputRecord>> {
  const records: Record<string, InputRecord> = {};
  for (const [name, artifactId] of Object.entries(inputs)) {
    const sha256 = await store.artifacts.ref(artifactId).then((ref) => ref.sha256, () => null);
    records[name] = { artifact_id: artifactId, sha256 };
  }
  return records;
}

/**
 * Copies each input artifact's payload into the input dir, read-only, and
 * checks the copy against the recorded hash.
 *
 * @param store The store.
 * @param inputDir Where to put the copies.
 * @param inputs Input name → artifact id.
 * @returns The materialized inputs by name.
 * @throws {IntegrityError} When a payload does not match its hash.
 */
export async function materializeInputs(
  store: Store,
  inputDir: string,
  inputs: Readonly<Record<string, string>>,
): Promise<Record<string, MaterializedInput>> {
  const out: Record<string, MaterializedInput> = {};
  for (const [name, artifactId] of Object.entries(inputs)) {
    const known = await store.artifacts.ref(artifactId);
    const target = join(inputDir, name + extname(known.rel_path));
    const ref = await store.artifacts.copyTo(artifactId, target);
    try {
      await Deno.chmod(target, 0o444);
    } catch (err) {
      throw storageError(err, target, "write");
    }
    const actual = await sha256File(target);
    if (actual !== ref.sha256) {
      throw new IntegrityError(
        `Input ${name} (artifact ${artifactId}) is corrupt: expected sha256 ${ref.sha256}, got ${actual}`,
      );
    }
    out[name] = {
      name,
      artifactId,
      artifactType: ref.artifact_type,
      path: target,
      sha256: ref.sha256,
    };
  }
  return out;
}

/** What goes into an attempt's environment. */
export interface AttemptEnvOptions {
  /** The kernel's environment. */
  readonly kernelEnv: Readonly<Record<string, string>>;
  /** Names passed through from the kernel's environment besides the base ones. */
  readonly pass: readonly string[];
  /** Values the step sets. */
  readonly set: Readonly<Record<string, string>>;
  /** The `LILY_*` values. */
  readonly lily: Readonly<Record<string, string>>;
}

/**
 * Computes an attempt's complete environment: base names and pass-through
 * names from the kernel's environment, the step's own values, then the
 * `LILY_*` variables (which nothing can override).
 *
 * @param options The parts.
 * @returns The environment.
 */
export function attemptEnv(options: AttemptEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...BASE_ENV_NAMES, ...options.pass]) {
    const value = options.kernelEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...options.set, ...options.lily };
}

/**
 * Resolves a step's working directory inside the workspace, symlinks
 * included.
 *
 * @param workspace The workspace root.
 * @param cwd The step's `cwd`, relative to the workspace, if any.
 * @returns The absolute working directory.
 * @throws {PathSecurityError} When it resolves outside the workspace.
 */
export function resolveStepCwd(workspace: string, cwd: string | undefined): string {
  const normalized = cwd === undefined ? "." : posix.normalize(cwd).replace(/\/+$/, "");
  return normalized === "." ? workspace : resolveInside(workspace, normalized);
}

/** Why collecting outputs failed. */
export class OutputError extends LilyError {}

/**
 * Validates every declared output the attempt left, then commits them all
 * to the store. Nothing is committed when any output is missing or invalid.
 *
 * @param store The store.
 * @param options Run, outputs, output dir, producer, inputs and the validator.
 * @returns The committed outputs by name.
 * @throws {OutputError} Naming the output and what is wrong with it.
 */
export async function commitOutputs(
  store: Store,
  options: {
    runId: string;
    stepId: string;
    outputs: Readonly<Record<string, OutputSpec>>;
    outputDir: string;
    producer: Producer;
    inputs: readonly string[];
    validate?: OutputValidator;
  },
): Promise<Record<string, ArtifactRef>> {
  const staged: { name: string; spec: OutputSpec; path: string; value?: unknown }[] = [];
  for (const [name, spec] of Object.entries(options.outputs)) {
    const where = `output "${name}" of step ${options.stepId} (${spec.path} in LILY_OUTPUT_DIR)`;
    let path: string;
    try {
      path = resolveInside(options.outputDir, spec.path);
      const info = await Deno.lstat(path);
      if (!info.isFile) throw new OutputError(`Declared ${where} is not a regular file`);
    } catch (err) {
      if (err instanceof OutputError) throw err;
      if (err instanceof Deno.errors.NotFound) {
        if (!spec.required) continue;
        throw new OutputError(`Step ${options.stepId} did not produce declared ${where}`);
      }
      throw new OutputError(`Declared ${where} is unusable: ${(err as Error).message}`);
    }
    const entry: (typeof staged)[number] = { name, spec, path };
    if (spec.kind === "json") {
      try {
        entry.value = JSON.parse(await Deno.readTextFile(path));
        canonicalJson(entry.value);
      } catch (err) {
        throw new OutputError(`Declared ${where} is not valid JSON: ${causeMessage(err)}`);
      }
      const issues = options.validate?.(spec.type, entry.value) ?? [];
      if (issues.length > 0) {
        throw new OutputError(
          `Declared ${where} does not match schema ${spec.type}: ` +
            issues.map((i) => `${i.path}: ${i.message}`).join("; "),
        );
      }
    } else if (spec.kind === "text") {
      try {
        entry.value = new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(path));
      } catch {
        throw new OutputError(`Declared ${where} is not UTF-8 text; declare it as kind: file`);
      }
    }
    staged.push(entry);
  }
  const committed: Record<string, ArtifactRef> = {};
  for (const { name, spec, path, value } of staged) {
    const meta = {
      type: spec.type,
      name: `${options.stepId}.${name}`,
      producer: options.producer,
      inputs: options.inputs,
    };
    committed[name] = spec.kind === "json"
      ? await store.artifacts.putJson(options.runId, value, meta)
      : spec.kind === "text"
      ? await store.artifacts.putText(options.runId, value as string, meta)
      : await store.artifacts.putFile(options.runId, path, { ...meta, move: true });
  }
  return committed;
}

/** Logs up to this size are stored as text artifacts; larger ones as files. */
export const MAX_TEXT_LOG_BYTES: number = 8 * 1024 * 1024;

/**
 * Stores an attempt's stdout and stderr logs as `log.v1` artifacts: as text
 * up to {@linkcode MAX_TEXT_LOG_BYTES} (bytes that are not UTF-8 replaced;
 * the exact bytes stay in the run's `logs/`), as a file beyond that, so a
 * step's output never has to fit in memory. An empty stream stores nothing.
 *
 * @param store The store.
 * @param options Run, label, log paths and producer.
 * @returns Artifact ids by stream name (`stdout`, `stderr`).
 */
function redact(text: string, redactor: Redactor | undefined): string {
  return redactor ? redactor.text(text) : text;
}

export async function storeLogs(
  store: Store,
  options: {
    runId: string;
    label: string;
    dirs: AttemptDirs;
    producer: Producer;
    /** Redacts the text of small logs once more (the executors already redact as they write). */
    redactor?: Redactor;
  },
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const streams = [["stdout", options.dirs.stdoutPath], ["stderr", options.dirs.stderrPath]];
  for (const [stream, path] of streams) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw err;
    }
    if (!info.isFile) {
      throw new IntegrityError(`Log ${path} is not a regular file; something replaced it`);
    }
    if (info.size === 0) continue;
    const meta = {
      type: "log.v1",
      name: `${options.label}.${stream}`,
      producer: options.producer,
    };
    const ref = info.size <= MAX_TEXT_LOG_BYTES
      ? await store.artifacts.putText(
        options.runId,
        redact(new TextDecoder().decode(await Deno.readFile(path)), options.redactor),
        meta,
      )
      : await store.artifacts.putFile(options.runId, path, { ...meta, fileName: `${stream}.log` });
    out[stream] = ref.artifact_id;
  }
  return out;
}
