/**
 * The middle value of some numbers (the mean of the two middle ones for an
 * even count); NaN for none.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const mid = Math.floor(values.length / 2);
  return values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}
