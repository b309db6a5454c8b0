export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank-with-interpolation percentile; NaN for no values. */
export function percentile(values: number[], p: number): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const rank = (p / 100) * (v.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return v[lo]! + (v[hi]! - v[lo]!) * (rank - lo);
}

/**
 * A 95 % interval of the median, distribution-free: the sorted values of ranks n/2 − 0.98·√n and
 * 1 + n/2 + 0.98·√n (1-based, rounded; the normal approximation of the binomial); [NaN, NaN] under
 * 6 values. It says how far a median of this many noisy samples may sit from the one more samples
 * would give.
 */
export function medianInterval(values: number[]): [number, number] {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = v.length;
  if (n < 6) return [NaN, NaN];
  const half = 0.98 * Math.sqrt(n);
  const low = Math.max(1, Math.round(n / 2 - half));
  const high = Math.min(n, Math.round(1 + n / 2 + half));
  return [v[low - 1]!, v[high - 1]!];
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Rotates a list by `n`, so that each round measures the targets in a different order. */
export function rotate<T>(list: readonly T[], n: number): T[] {
  const k = ((n % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}
