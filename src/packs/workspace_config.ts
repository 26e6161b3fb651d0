/**
 * The workspace config `lily.json`: the packs to load beside the shipped
 * ones (`packs`: name → `npm:`, `jsr:`, `file:` specifier or a path
 * relative to the workspace), the policy workflows start from (`policy`),
 * and the LLM provider (`llm`, the section `runtime/executors/llm_config.ts`
 * defines). Its JSON Schema is `docs/lily.schema.json`, generated from the
 * zod schema here (`lilyConfigJsonSchema`).
 *
 * A workspace without `lily.json` has the empty config. A file that is not
 * JSON, or does not match, is refused with its line.
 *
 * @module
 */

import { z } from "zod";
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";
import type { PolicySpec } from "../graph/workflow.ts";
import { PACK_NAME } from "./define_pack.ts";
import { LlmConfigSchema } from "../runtime/executors/llm_config.ts";

/** The config file's name, at the workspace root. */
export const CONFIG_FILE = "lily.json";

const policyPath = z.string().min(1);
const policy = z.strictObject({
  read: z.array(policyPath).describe('paths or globs it may read; default ["."]').optional(),
  write: z.array(policyPath).describe('paths or globs it may write; default ["."]').optional(),
  deny: z.array(policyPath).describe("neither readable nor writable").optional(),
  tools: z.array(z.string().min(1)).describe("programs it may run; absent = any").optional(),
  net: z.array(z.string().min(1)).describe("hosts it may connect to; default none").optional(),
  env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).describe(
    "variable names passed from the kernel's environment",
  ).optional(),
}).describe("the policy every workflow starts from; a workflow's own policy fields replace these");

const specifier = z.string().min(1).refine(
  (s) =>
    /^(npm|jsr|file|https?):/.test(s) || s.startsWith("./") || s.startsWith("../") ||
    s.startsWith("/"),
  "expected an npm:, jsr:, file: or http(s): specifier, or a path starting with ./, ../ or /",
);

/** The zod schema of `lily.json`. */
export const lilyConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  packs: z.record(
    z.string().regex(PACK_NAME, "expected a pack name: a lowercase letter, then a-z, 0-9, _ or -"),
    specifier,
  ).describe(
    "packs to load beside the shipped ones: name → specifier (a folder's mod.ts is loaded)",
  ).optional(),
  policy: policy.optional(),
  llm: LlmConfigSchema.describe("the LLM provider (see docs/llm.md); the environment overrides it")
    .optional(),
}).describe("Lily workspace config");

/** `lily.json` as read. */
export interface LilyConfig {
  /** The JSON Schema URL, for editors. */
  readonly $schema?: string;
  /** Packs to load beside the shipped ones: name → specifier. */
  readonly packs?: Readonly<Record<string, string>>;
  /** The policy workflows start from. */
  readonly policy?: PolicySpec;
  /**
   * The LLM provider's settings, validated against `llm_config.ts`'s
   * schema (`docs/llm.md`); `LILY_LLM*` variables override them.
   */
  readonly llm?: Readonly<Record<string, unknown>>;
}

/**
 * The JSON Schema of `lily.json` (draft 2020-12), from the zod schema.
 *
 * @returns The document.
 */
export function lilyConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(lilyConfigSchema, { io: "input" }),
    $id: "https://jsr.io/@lily/cli/lily.schema.json",
    title: "Lily workspace config (lily.json)",
  };
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

/** The line of a top-level key's first mention, for messages. */
function keyLine(text: string, key: string | number | undefined): number | undefined {
  if (typeof key !== "string") return undefined;
  const at = text.indexOf(JSON.stringify(key));
  return at === -1 ? undefined : lineOf(text, at);
}

/**
 * Parses `lily.json` text.
 *
 * @param text The file's contents.
 * @returns The config.
 * @throws {UsageError} `lily.json:LINE PATH: what is wrong` for invalid JSON or a mismatch.
 */
export function parseLilyConfig(text: string): LilyConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    const line = at ? `:${lineOf(text, Number(at[1]))}` : "";
    throw new UsageError(`${CONFIG_FILE}${line}: invalid JSON: ${(err as Error).message}`);
  }
  const parsed = lilyConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data as LilyConfig;
  const lines = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String);
    const deepest = [...issue.path].reverse().find((p) => typeof p === "string") as
      | string
      | undefined;
    const line = keyLine(
      text,
      deepest ?? (issue.code === "unrecognized_keys" ? issue.keys[0] : undefined),
    );
    const where = path.length > 0 ? path.join(".") : "(root)";
    const message = issue.code === "invalid_key"
      ? (issue.issues[0]?.message ?? issue.message)
      : issue.message;
    return `${CONFIG_FILE}${line ? `:${line}` : ""} ${where}: ${message}`;
  });
  throw new UsageError(lines.join("\n"), {
    issues: parsed.error.issues.map((i) => ({
      code: i.code,
      path: `$${i.path.map((p) => `.${String(p)}`).join("")}`,
      message: i.message,
    })),
  });
}

/**
 * Reads a workspace's `lily.json`; a workspace without one has the empty config.
 *
 * @param workspace The workspace directory.
 * @returns The config.
 * @throws {UsageError} When the file cannot be read or is invalid.
 */
export async function readLilyConfig(workspace: string): Promise<LilyConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(workspace, CONFIG_FILE));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw new UsageError(`Cannot read ${CONFIG_FILE}: ${(err as Error).message}`, { cause: err });
  }
  return parseLilyConfig(text);
}
