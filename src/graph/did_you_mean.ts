/**
 * "Did you mean" hints for unknown names: the nearest known name by edit
 * distance (Levenshtein), when it is close enough to be a likely typo.
 *
 * @module
 */

/** Levenshtein distance: insertions, deletions and substitutions, each costing 1. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/**
 * Suggests the known name nearest to an unknown one: at an edit distance
 * below 3 and below the name's length.
 *
 * @example
 * ```ts
 * import { didYouMean } from "./did_you_mean.ts";
 * console.assert(didYouMean("biuld", ["build", "test"]) === ' (did you mean "build"?)');
 * console.assert(didYouMean("zzz", ["build"]) === "");
 * ```
 *
 * @param name The unknown name.
 * @param known The names that exist.
 * @returns ` (did you mean "NAME"?)`, or `""` when nothing is close.
 */
export function didYouMean(name: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Math.min(3, name.length);
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best ? ` (did you mean "${best}"?)` : "";
}
