/**
 * Which LLM provider `llm` steps ask, from the environment and (when the
 * workspace config has one) the `llm` section of `lily.json`, validated by
 * {@linkcode LlmConfigSchema}. The API key is only ever read from an
 * environment variable, never from a file.
 *
 * | variable | meaning |
 * |---|---|
 * | `LILY_LLM` | `fake`, `openai` or `anthropic` |
 * | `LILY_LLM_MODEL` | the model every request asks for (else each step's `model`) |
 * | `LILY_LLM_SCRIPT` | the fake's script: a JSON file of replies by step id |
 * | `LILY_LLM_TIMEOUT_MS` | per-request timeout of the HTTP providers |
 * | `LILY_LLM_MAX_ATTEMPTS` | tries per request, the first included |
 * | `OPENAI_BASE_URL`, `OPENAI_API_KEY` | the OpenAI-compatible endpoint and key |
 * | `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY` | the Anthropic endpoint and key |
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { z } from "zod";
import type { Clock } from "../../core/clock.ts";
import type { JsonValue } from "../../core/canonical_json.ts";
import type { Env } from "../../core/env.ts";
import { causeMessage, UsageError } from "../../core/errors.ts";
import { ANTHROPIC_DEFAULT_BASE_URL, AnthropicProvider } from "./llm_anthropic.ts";
import { OPENAI_DEFAULT_BASE_URL, OpenAiProvider } from "./llm_openai.ts";
import { FakeLlmProvider, type FakeLlmScript, type LlmProvider } from "./llm_provider.ts";

/** The providers `LILY_LLM` (or `llm.provider`) names. */
export const LLM_PROVIDER_NAMES = ["fake", "openai", "anthropic"] as const;

/**
 * The `llm` section of `lily.json`. The key is not in it: `api_key_env`
 * names the environment variable holding it.
 */
export const LlmConfigSchema = z.strictObject({
  provider: z.enum(LLM_PROVIDER_NAMES).describe("fake, openai or anthropic"),
  model: z.string().min(1).optional()
    .describe("The model every request asks for (else each step's model)"),
  base_url: z.url({ protocol: /^https?$/ }).optional()
    .describe("The API's base URL (openai: …/v1; anthropic: without /v1)"),
  api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional()
    .describe("The environment variable holding the key (OPENAI_API_KEY, ANTHROPIC_API_KEY)"),
  timeout_ms: z.int().min(1).optional().describe("Per-request timeout, in ms (120000)"),
  max_attempts: z.int().min(1).max(20).optional().describe("Tries per request (4)"),
  max_delay_ms: z.int().min(0).optional().describe("The longest wait between tries (60000)"),
  max_tokens: z.int().min(1).optional().describe("anthropic: max_tokens (4096)"),
  script: z.string().min(1).optional()
    .describe("fake: a JSON file of replies by step id, relative to the workspace"),
});

/** The `llm` section of `lily.json`, validated. */
export type LlmConfig = z.infer<typeof LlmConfigSchema>;

const FakeScriptSchema = z.record(z.string().min(1), z.array(z.json()));

/**
 * Reads the fake's script: a JSON object of step ids to lists of replies.
 *
 * @param text The file's text.
 * @param path The file's path, for messages.
 * @returns The script.
 * @throws {UsageError} When it is not such an object, saying where.
 */
export function parseFakeScript(text: string, path: string): FakeLlmScript {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`The fake LLM script ${path} is not JSON: ${causeMessage(err)}`);
  }
  const parsed = FakeScriptSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new UsageError(
      `The fake LLM script ${path} is not an object of step ids to lists of replies${at}: ` +
        `${issue.message}; e.g. {"edit": ["first reply", {"json": "second"}]}`,
    );
  }
  return parsed.data as Readonly<Record<string, readonly JsonValue[]>>;
}

function positiveInt(env: Env, name: string): number | undefined {
  const value = env.get(name);
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value)) {
    throw new UsageError(`${name}=${JSON.stringify(value)} is not a positive whole number`);
  }
  return Number(value);
}

/**
 * The configuration in force: `LILY_LLM` and the `LILY_LLM_*` variables over
 * the `lily.json` section (which is ignored when `LILY_LLM` names another
 * provider).
 *
 * @param env The kernel's environment.
 * @param file The validated `llm` section of `lily.json`, when there is one.
 * @returns The configuration; undefined when neither names a provider.
 * @throws {UsageError} For an unknown `LILY_LLM` or a malformed number.
 */
export function llmConfigFrom(env: Env, file?: LlmConfig): LlmConfig | undefined {
  const name = env.get("LILY_LLM");
  if (name !== undefined && !(LLM_PROVIDER_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(
      `LILY_LLM=${JSON.stringify(name)} names no LLM provider Lily knows; known: ` +
        `${LLM_PROVIDER_NAMES.join(", ")}, or unset it`,
    );
  }
  const provider = (name ?? file?.provider) as LlmConfig["provider"] | undefined;
  if (provider === undefined) return undefined;
  const base = file?.provider === provider ? file : { provider };
  const timeout = positiveInt(env, "LILY_LLM_TIMEOUT_MS");
  const attempts = positiveInt(env, "LILY_LLM_MAX_ATTEMPTS");
  const model = env.get("LILY_LLM_MODEL");
  const script = env.get("LILY_LLM_SCRIPT");
  return {
    ...base,
    provider,
    ...(model ? { model } : {}),
    ...(script ? { script } : {}),
    ...(timeout === undefined ? {} : { timeout_ms: timeout }),
    ...(attempts === undefined ? {} : { max_attempts: attempts }),
  };
}

/** What {@linkcode createLlmProvider} needs besides the configuration. */
export interface LlmProviderDeps {
  /** Where keys and base URLs are read. */
  readonly env: Env;
  /** The kernel's clock (for `Retry-After` dates). */
  readonly clock: Clock;
  /** The workspace, against which a relative script path is read. */
  readonly workspace: string;
}

/** An environment variable holding a base URL, checked to be an http(s) URL; undefined when unset or empty. */
function httpUrl(env: Env, name: string): string | undefined {
  const value = env.get(name) || undefined;
  if (value === undefined) return undefined;
  const protocol = URL.canParse(value) ? new URL(value).protocol : "";
  if (protocol !== "http:" && protocol !== "https:") {
    throw new UsageError(
      `${name}=${JSON.stringify(value)} is not an http(s) URL; give one such as ` +
        `http://127.0.0.1:8080${name.startsWith("OPENAI") ? "/v1" : ""}`,
    );
  }
  return value;
}

function httpProvider(config: LlmConfig, deps: LlmProviderDeps): LlmProvider {
  const openai = config.provider === "openai";
  const prefix = openai ? "OPENAI" : "ANTHROPIC";
  const keyVar = config.api_key_env ?? `${prefix}_API_KEY`;
  const apiKey = deps.env.get(keyVar) || undefined;
  const baseUrl = httpUrl(deps.env, `${prefix}_BASE_URL`) || config.base_url;
  if (apiKey === undefined && baseUrl === undefined) {
    throw new UsageError(
      `LLM provider ${config.provider} needs an API key in ${keyVar}; set it ` +
        `(or set ${prefix}_BASE_URL to a server that needs none)`,
    );
  }
  const options = {
    apiKey,
    baseUrl: baseUrl ?? (openai ? OPENAI_DEFAULT_BASE_URL : ANTHROPIC_DEFAULT_BASE_URL),
    model: config.model,
    timeoutMs: config.timeout_ms,
    retry: {
      ...(config.max_attempts === undefined ? {} : { maxAttempts: config.max_attempts }),
      ...(config.max_delay_ms === undefined ? {} : { maxDelayMs: config.max_delay_ms }),
    },
    clock: deps.clock,
  };
  return openai
    ? new OpenAiProvider(options)
    : new AnthropicProvider({ ...options, maxTokens: config.max_tokens });
}

/**
 * Creates the provider a configuration names.
 *
 * @param config From {@linkcode llmConfigFrom}.
 * @param deps The environment (keys, base URLs), the clock and the workspace.
 * @returns The provider.
 * @throws {UsageError} When an HTTP provider has neither a key nor a base URL, its base
 * URL in the environment is not an http(s) URL, or the fake's script cannot be read or is malformed.
 */
export function createLlmProvider(config: LlmConfig, deps: LlmProviderDeps): LlmProvider {
  if (config.provider !== "fake") return httpProvider(config, deps);
  if (config.script === undefined) return new FakeLlmProvider();
  const path = isAbsolute(config.script) ? config.script : join(deps.workspace, config.script);
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    throw new UsageError(`Cannot read the fake LLM script ${path}: ${causeMessage(err)}`);
  }
  return new FakeLlmProvider({ script: parseFakeScript(text, path) });
}
