/** Adds two numbers. */
export function add(a: number, b: number): number {
  return a + b;
}

/** The mean of some numbers; 0 for none. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce(add, 0) / values.length;
}
