/**
 * Semver versions and the subset of npm's range syntax a pack uses to say
 * which Lily versions it works with (https://github.com/npm/node-semver,
 * "Ranges"): comparators `>=1.2.3`, `>`, `<=`, `<`, `=` and a bare version,
 * caret `^1.2.3`, tilde `~1.2.3`, `x` wildcards (`1.2.x`, `1.x`, `*`),
 * comparators separated by spaces (all must hold) and alternatives by `||`.
 * Pre-release tags are compared as npm does not: they are ignored (Lily
 * versions have none).
 *
 * @example
 * ```ts
 * import { satisfies } from "./version_range.ts";
 * console.assert(satisfies("0.1.0", "^0.1.0"));
 * console.assert(!satisfies("0.2.0", "^0.1.0"));
 * console.assert(satisfies("1.4.0", ">=1.0.0 <2.0.0 || 3.x"));
 * ```
 *
 * @module
 */

type Triple = [number, number, number];

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.-]+)?$/;
const PARTIAL = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/;

/**
 * Whether a string is a semver version (`MAJOR.MINOR.PATCH`).
 *
 * @param text The text.
 * @returns `true` when it is one.
 */
export function isVersion(text: string): boolean {
  return VERSION.test(text);
}

function parse(text: string): Triple | undefined {
  const m = VERSION.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: Triple, b: Triple): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

type Test = (v: Triple) => boolean;

/** The parts of a partial version given (`1.x` → `[1]`), or undefined. */
function partial(text: string): number[] | undefined {
  const m = PARTIAL.exec(text);
  if (!m) return undefined;
  const parts: number[] = [];
  for (const part of [m[1], m[2], m[3]]) {
    if (part === undefined || /^[xX*]$/.test(part)) break;
    parts.push(Number(part));
  }
  return parts;
}

function floor(parts: number[]): Triple {
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
}

/** The first version above every version matching `parts` (`1.2` → `1.3.0`). */
function ceiling(parts: number[]): Triple | undefined {
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return [parts[0] + 1, 0, 0];
  if (parts.length === 2) return [parts[0], parts[1] + 1, 0];
  return [parts[0], parts[1], parts[2] + 1];
}

function between(low: Triple, high: Triple | undefined): Test {
  return (v) => compare(v, low) >= 0 && (high === undefined || compare(v, high) < 0);
}

function comparator(text: string): Test | undefined {
  const m = /^(>=|<=|>|<|=|\^|~)?\s*(.+)$/.exec(text);
  if (!m) return undefined;
  const parts = partial(m[2]);
  if (parts === undefined) return undefined;
  const low = floor(parts);
  switch (m[1]) {
    case ">=":
      return (v) => compare(v, low) >= 0;
    case "<":
      return (v) => compare(v, low) < 0;
    case ">": {
      const high = ceiling(parts);
      return (v) => high === undefined ? false : compare(v, high) >= 0;
    }
    case "<=": {
      const high = ceiling(parts);
      return (v) => high === undefined || compare(v, high) < 0;
    }
    case "^": {
      const first = parts.findIndex((p) => p !== 0);
      const keep = first === -1 ? parts.length : first + 1;
      return between(low, ceiling(parts.slice(0, Math.min(keep, parts.length))));
    }
    case "~":
      return between(low, ceiling(parts.slice(0, Math.max(2, Math.min(parts.length, 2)))));
    default:
      return between(low, ceiling(parts));
  }
}

function compile(range: string): Test | undefined {
  const alternatives: Test[] = [];
  for (const alternative of range.split("||")) {
    const words = alternative.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, "$1").split(/\s+/);
    const tests: Test[] = [];
    for (const word of words.filter((w) => w !== "")) {
      const test = comparator(word);
      if (test === undefined) return undefined;
      tests.push(test);
    }
    alternatives.push((v) => tests.every((t) => t(v)));
  }
  return (v) => alternatives.some((t) => t(v));
}

/**
 * Whether a string is a range this module reads.
 *
 * @param range The range.
 * @returns `true` when it is one.
 */
export function isVersionRange(range: string): boolean {
  return range.trim() !== "" && compile(range) !== undefined;
}

/**
 * Whether a version is in a range.
 *
 * @param version A semver version.
 * @param range A range (see the module doc).
 * @returns `true` when it is; `false` for a malformed version or range.
 */
export function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  const test = compile(range);
  return v !== undefined && test !== undefined && test(v);
}
