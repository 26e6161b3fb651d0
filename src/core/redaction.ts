/**
 * Secret redaction: one {@linkcode Redactor} per run replaces every secret
 * value with `[REDACTED:NAME]` wherever step-provided text or environment
 * reaches the store (captured logs, journal messages and reasons, executor
 * summaries, records, violation and failure artifacts).
 *
 * A run's secrets are the values of the variables its steps and gates set
 * (`env`), pass (`env_pass`) or their policies pass (`env`), and of every
 * variable of the kernel's environment whose name contains `TOKEN`, `SECRET`,
 * `KEY` or `PASSWORD` (any case). Values shorter than
 * {@linkcode MIN_SECRET_LENGTH} characters are not redacted: they would
 * match ordinary text (`1`, `on`) and carry no secret worth hiding. When two
 * secrets overlap, the longer one wins.
 *
 * @example
 * ```ts
 * import { Redactor } from "./redaction.ts";
 * const redactor = new Redactor({ API_TOKEN: "s3cr3t-value" });
 * console.assert(redactor.text("token=s3cr3t-value") === "token=[REDACTED:API_TOKEN]");
 * ```
 *
 * @module
 */

/** Names whose values are secret wherever they are listed: `*TOKEN*|*SECRET*|*KEY*|*PASSWORD*`. */
export const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD/i;

/** Values shorter than this (in characters) are never redacted. */
export const MIN_SECRET_LENGTH = 4;

/**
 * Whether a variable's name marks its value as secret by itself.
 *
 * @param name A variable name.
 * @returns `true` for names containing `TOKEN`, `SECRET`, `KEY` or `PASSWORD` (any case).
 */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * A run's secrets: the values of the listed names (looked up in the kernel's
 * environment and in the values steps set) and of every kernel variable
 * whose name is secret by itself.
 *
 * @param kernelEnv The kernel's environment.
 * @param listed Names listed by steps, gates and policies, and the values steps and gates set.
 * @returns Secret values by the name that holds them.
 */
export function runSecrets(
  kernelEnv: Readonly<Record<string, string>>,
  listed: {
    readonly names: Iterable<string>;
    readonly set: Iterable<Readonly<Record<string, string>>>;
  },
): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const [name, value] of Object.entries(kernelEnv)) {
    if (isSecretName(name)) secrets[name] = value;
  }
  for (const name of listed.names) {
    const value = Object.hasOwn(kernelEnv, name) ? kernelEnv[name] : undefined;
    if (value !== undefined) secrets[name] = value;
  }
  for (const values of listed.set) Object.assign(secrets, values);
  return secrets;
}

const encoder = new TextEncoder();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One secret, as text and as UTF-8 bytes, with its mark. */
interface Secret {
  readonly value: string;
  readonly bytes: Uint8Array;
  readonly mark: Uint8Array;
  readonly markText: string;
}

/** Replaces secret values in text, JSON values, environments and byte streams. */
export class Redactor {
  readonly #secrets: readonly Secret[];
  readonly #byValue: ReadonlyMap<string, Secret>;
  readonly #pattern: RegExp | null;
  readonly #names: ReadonlySet<string>;

  /**
   * Makes a redactor for some secrets.
   *
   * @param secrets Secret values by the name that holds them; short values are dropped.
   */
  constructor(secrets: Readonly<Record<string, string>>) {
    const byValue = new Map<string, Secret>();
    for (const [name, value] of Object.entries(secrets)) {
      if (value.length < MIN_SECRET_LENGTH || byValue.has(value)) continue;
      const markText = `[REDACTED:${name}]`;
      byValue.set(value, {
        value,
        bytes: encoder.encode(value),
        mark: encoder.encode(markText),
        markText,
      });
    }
    this.#secrets = [...byValue.values()].sort((a, b) => b.bytes.length - a.bytes.length);
    this.#byValue = byValue;
    this.#pattern = this.#secrets.length === 0
      ? null
      : new RegExp(this.#secrets.map((s) => escapeRegExp(s.value)).join("|"), "g");
    this.#names = new Set(Object.keys(secrets));
  }

  /** Whether there is anything to redact. */
  get active(): boolean {
    return this.#pattern !== null;
  }

  /**
   * Redacts a text.
   *
   * @param text Any text.
   * @returns The text with each secret value replaced by `[REDACTED:NAME]`.
   */
  text(text: string): string {
    if (this.#pattern === null) return text;
    return text.replace(this.#pattern, (found) => this.#byValue.get(found)!.markText);
  }

  /**
   * Redacts every string in a JSON-like value (keys included).
   *
   * @param value A value made of objects, arrays and primitives.
   * @returns A redacted copy (the value itself when there is nothing to redact).
   */
  value<T>(value: T): T {
    if (this.#pattern === null) return value;
    return this.#deep(value) as T;
  }

  #deep(value: unknown): unknown {
    if (typeof value === "string") return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.#deep(v));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [this.text(k), this.#deep(v)]),
      );
    }
    return value;
  }

  /**
   * Redacts an environment: values of secret names are replaced whole, others redacted as text.
   *
   * @param env Variables by name.
   * @returns A redacted copy.
   */
  env(env: Readonly<Record<string, string>>): Record<string, string> {
    return Object.fromEntries(
      Object.entries(env).map(([name, value]) => [
        name,
        (this.#names.has(name) || isSecretName(name)) && value.length >= MIN_SECRET_LENGTH
          ? `[REDACTED:${name}]`
          : this.text(value),
      ]),
    );
  }

  /**
   * A redactor for one byte stream: bytes that may begin a secret are held
   * back until the next chunk shows whether they do.
   *
   * @returns The stream's redactor.
   */
  stream(): StreamRedactor {
    return new StreamRedactor(this.#secrets);
  }
}

/** Redacts one byte stream chunk by chunk (see {@linkcode Redactor.stream}). */
export class StreamRedactor {
  readonly #secrets: readonly { readonly bytes: Uint8Array; readonly mark: Uint8Array }[];
  readonly #first = new Uint8Array(256);
  #held: Uint8Array = new Uint8Array(0);

  /**
   * Makes a stream redactor (use {@linkcode Redactor.stream}).
   *
   * @param secrets Each secret's UTF-8 bytes and the mark replacing it, longest first.
   */
  constructor(secrets: readonly { readonly bytes: Uint8Array; readonly mark: Uint8Array }[]) {
    this.#secrets = secrets;
    for (const s of secrets) this.#first[s.bytes[0] ?? 0] = 1;
  }

  /**
   * Takes the next chunk.
   *
   * @param chunk Bytes of the stream.
   * @returns The bytes that can be written now, redacted.
   */
  push(chunk: Uint8Array): Uint8Array {
    if (this.#secrets.length === 0) return chunk;
    const buf = this.#held.length === 0 ? chunk : concat([this.#held, chunk]);
    const { out, rest } = this.#scan(buf, false);
    this.#held = rest;
    return out;
  }

  /**
   * Ends the stream.
   *
   * @returns The bytes still held back, redacted.
   */
  end(): Uint8Array {
    const { out } = this.#scan(this.#held, true);
    this.#held = new Uint8Array(0);
    return out;
  }

  /** The secret at `i`, `prefix` when one may begin there but the bytes end first, else null. */
  #matchAt(
    buf: Uint8Array,
    i: number,
    final: boolean,
  ): { readonly bytes: Uint8Array; readonly mark: Uint8Array } | "prefix" | null {
    if (this.#first[buf[i] ?? 0] === 0) return null;
    for (const secret of this.#secrets) {
      const s = secret.bytes;
      let j = 0;
      while (j < s.length && i + j < buf.length && buf[i + j] === s[j]) j++;
      if (j === s.length) return secret;
      // A longer secret may still complete in the next chunk: wait for it.
      if (i + j === buf.length && !final) return "prefix";
    }
    return null;
  }

  #scan(buf: Uint8Array, final: boolean): { out: Uint8Array; rest: Uint8Array } {
    const parts: Uint8Array[] = [];
    let from = 0;
    let i = 0;
    while (i < buf.length) {
      const found = this.#matchAt(buf, i, final);
      if (found === null) {
        i++;
        continue;
      }
      if (found === "prefix") {
        parts.push(buf.subarray(from, i));
        return { out: concat(parts), rest: buf.slice(i) };
      }
      parts.push(buf.subarray(from, i), found.mark);
      i += found.bytes.length;
      from = i;
    }
    parts.push(buf.subarray(from));
    return { out: concat(parts), rest: new Uint8Array(0) };
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const [only] = parts;
  if (parts.length === 1 && only !== undefined) return only;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
