/**
 * `lily artifact put|get|show|path|list`.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import { causeMessage, NotFoundError, UsageError } from "../core/errors.ts";
import type { ArtifactRef, ProducerKind } from "../store/artifact_ref.ts";
import { PRODUCER_KINDS } from "../store/artifact_ref.ts";
import { isJsonObject, readUserFile, userFileName } from "../store/user_file.ts";
import type { CliContext } from "./context.ts";
import { globalOptions, hint, withExistingStore, withStore } from "./context.ts";
import { emit, table } from "./output.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function describeRef(ref: ArtifactRef): string[] {
  return [
    `artifact_id: ${ref.artifact_id}`,
    `run_id: ${ref.run_id}`,
    `artifact_type: ${ref.artifact_type}`,
    `storage_kind: ${ref.storage_kind}`,
    `artifact_name: ${ref.artifact_name ?? "-"}`,
    `rel_path: ${ref.rel_path}`,
    `sha256: ${ref.sha256}`,
    `size_bytes: ${ref.size_bytes}`,
    `created_at: ${ref.created_at}`,
    `producer: ${ref.producer_id} (${ref.producer_kind})`,
    `inputs: ${ref.input_artifact_refs.length ? ref.input_artifact_refs.join(", ") : "-"}`,
  ];
}

async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`File ${path} does not exist`, { cause: err });
    }
    throw new UsageError(`Cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`File ${path} is not valid JSON: ${causeMessage(err)}`, {
      cause: err,
    });
  }
}

async function readTextInput(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`File ${path} does not exist`, { cause: err });
    }
    throw new UsageError(`Cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Whether a path is a pipe, FIFO or character device (anything readable but not seekable). */
async function isPipe(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFifo === true || info.isCharDevice === true;
  } catch {
    return false;
  }
}

function isoTime(value: string): string {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw new UsageError(
      `Invalid time ${
        JSON.stringify(value)
      }: expected an ISO-8601 time such as 2026-01-31T12:00:00Z`,
    );
  }
  return time.toISOString();
}

/**
 * Adds the `artifact` commands to the program.
 *
 * @param program The root command.
 * @param ctx The CLI context.
 * @returns The `artifact` command group, for further subcommands.
 */
export function registerArtifactCommands(program: Command, ctx: CliContext): Command {
  const artifact = program.command("artifact").description("Store and read artifacts");

  artifact.command("put")
    .description("Store a JSON, text or file payload as a new artifact of a run")
    .argument("<run_id>", "the run to store it in")
    .requiredOption("--type <type>", "artifact type, e.g. report.v1")
    .option("--json-file <path>", "store this file's JSON value in canonical form")
    .option("--text-file <path>", "store this file's text")
    .option("--file <path>", "store this file as it is")
    .option("--move", "with --file: move the file into the store instead of copying it")
    .option("--name <name>", "a human-friendly name (not unique)")
    .option("--producer <id>", "who produced it", "cli")
    .addOption(
      new Option("--producer-kind <kind>", "what kind of producer")
        .choices(PRODUCER_KINDS as ProducerKind[])
        .default("human" as ProducerKind),
    )
    .option("--input <artifact_id>", "an artifact it was made from (repeatable)", collect, [])
    .action(async (runId, opts, cmd) => {
      const g = globalOptions(cmd);
      const sources = [opts.jsonFile, opts.textFile, opts.file].filter((s) => s !== undefined);
      if (sources.length !== 1) {
        throw new UsageError(
          `Expected exactly one of --json-file, --text-file or --file, got ${sources.length}`,
        );
      }
      if (opts.move && opts.file === undefined) {
        throw new UsageError("--move goes with --file only");
      }
      const meta = {
        type: opts.type,
        name: opts.name,
        producer: { id: opts.producer, kind: opts.producerKind },
        inputs: opts.input,
      };
      const ref = await withStore(ctx, g, async (store) => {
        if (opts.jsonFile !== undefined) {
          return await store.artifacts.putJson(runId, await readJsonFile(opts.jsonFile), meta);
        }
        if (opts.textFile !== undefined) {
          return await store.artifacts.putText(runId, await readTextInput(opts.textFile), meta);
        }
        const file = opts.file!;
        if (!opts.move && await isPipe(file)) {
          // A pipe (e.g. /dev/stdin or <(…)) can be read once: store exactly what was read.
          // A descriptor's name (`63` for `<(…)`) says nothing: it is stored as `data`.
          const bytes = await readUserFile(file, "File");
          return await store.artifacts.putBytes(runId, bytes, {
            ...meta,
            fileName: userFileName(file, isJsonObject(bytes) ? "data.json" : "data"),
          });
        }
        return await store.artifacts.putFile(runId, file, { ...meta, move: opts.move });
      });
      emit(
        ctx.output,
        g.json,
        ref,
        () => [`Stored artifact ${ref.artifact_id}`, ...describeRef(ref)],
      );
    });

  artifact.command("get")
    .description("Write a json or text artifact's payload to stdout")
    .argument("<artifact_id>", "the artifact")
    .action(async (artifactId, _opts, cmd) => {
      const g = globalOptions(cmd);
      await withStore(ctx, g, async (store) => {
        const ref = await store.artifacts.ref(artifactId);
        if (ref.storage_kind === "file") {
          throw new UsageError(
            `Artifact ${artifactId} is a file artifact; use \`${
              hint(ctx, g, ["artifact", "path", artifactId])
            }\` for its path`,
          );
        }
        if (g.json) {
          const { value } = await store.artifacts.get(ref);
          emit(ctx.output, true, { ref, value }, () => []);
          return;
        }
        ctx.output.raw((await store.artifacts.readBytes(ref)).bytes);
      });
    });

  artifact.command("show")
    .description("Show an artifact's reference and provenance")
    .argument("<artifact_id>", "the artifact")
    .action(async (artifactId, _opts, cmd) => {
      const g = globalOptions(cmd);
      const ref = await withStore(ctx, g, (store) => store.artifacts.ref(artifactId));
      emit(ctx.output, g.json, ref, () => describeRef(ref));
    });

  artifact.command("path")
    .description("Print the absolute path of a file artifact's payload")
    .argument("<artifact_id>", "the artifact")
    .action(async (artifactId, _opts, cmd) => {
      const g = globalOptions(cmd);
      const path = await withStore(ctx, g, async (store) => {
        const ref = await store.artifacts.ref(artifactId);
        if (ref.storage_kind !== "file") {
          throw new UsageError(
            `Artifact ${artifactId} is a ${ref.storage_kind} artifact, not a file; print it with ` +
              `\`${hint(ctx, g, ["artifact", "get", artifactId])}\``,
          );
        }
        return await store.artifacts.openPath(ref.run_id, artifactId);
      });
      emit(ctx.output, g.json, { artifact_id: artifactId, path }, () => [path]);
    });

  artifact.command("list")
    .description("List artifacts, newest first, across runs or in one run")
    .option("--run <run_id>", "only this run")
    .option("--type <type>", "only this artifact type")
    .option("--name <name>", "only this name")
    .option("--producer <id>", "only this producer id")
    .option("--sha256 <hash>", "only payloads with this sha256")
    .option("--since <iso>", "only artifacts created at or after this time")
    .option("--limit <n>", "at most this many", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        throw new UsageError(`Invalid --limit ${JSON.stringify(v)}: expected a positive integer`);
      }
      return n;
    })
    .action(async (opts, cmd) => {
      const g = globalOptions(cmd);
      const since = opts.since === undefined ? undefined : isoTime(opts.since);
      const refs = await withExistingStore(ctx, g, [], (store) =>
        store.artifacts.query({
          runId: opts.run,
          type: opts.type,
          name: opts.name,
          producer: opts.producer,
          sha256: opts.sha256,
          since,
          limit: opts.limit,
        }));
      emit(ctx.output, g.json, refs, () =>
        refs.length === 0 ? ["No artifacts match"] : table(
          ["ARTIFACT", "TYPE", "KIND", "NAME", "SIZE", "CREATED"],
          refs.map((r) => [
            r.artifact_id,
            r.artifact_type,
            r.storage_kind,
            r.artifact_name ?? "-",
            String(r.size_bytes),
            r.created_at,
          ]),
        ));
    });
  return artifact;
}
