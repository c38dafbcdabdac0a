/**
 * The statistics vLLM applies to latency lists, reproduced operation for operation so thorbench's numbers equal
 * `vllm bench serve`'s to the last printed digit:
 * - sums use numpy's pairwise summation (np.add.reduce on a contiguous float64 array), not a running total;
 * - std is the population std (ddof=0): sqrt(Σ(x − mean)² / n);
 * - median averages the two middle values of an even-length list;
 * - percentile is numpy's default method "linear": index (n − 1)·p/100, interpolated with numpy's `_lerp`.
 *
 * Empty input returns null rather than a number. vLLM itself writes 0 for an empty list (`np.mean(xs or 0)`), which
 * reads like a measurement; metrics/calculate.ts maps null to 0 where it must print what vLLM prints, and says so.
 *
 * Deterministic: no Node.js APIs.
 */

/** numpy's unrolled block for small arrays and recursion cutoff (numpy/core/src/umath/loops_utils.h.src). */
const PW_BLOCKSIZE = 128;

function pairwiseSum(xs: readonly number[], start: number, n: number): number {
  if (n < 8) {
    // numpy starts this loop from -0.0 so that a sum of -0.0 values stays -0.0
    let res = -0.0;
    for (let i = 0; i < n; i++) res += xs[start + i]!;
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => xs[start + k]!);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let k = 0; k < 8; k++) r[k]! += xs[start + i + k]!;
    }
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += xs[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(xs, start, n2) + pairwiseSum(xs, start + n2, n - n2);
}

/** Σxs the way numpy sums a 1-D float64 array. */
export function sum(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : pairwiseSum(xs, 0, xs.length);
}

export function mean(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : sum(xs) / xs.length;
}

/**
 * The values in ascending order, as numpy sorts float64: a Float64Array sorts numerically without a comparator
 * call per comparison (many times faster on the half a million ITLs of a long run).
 */
function ascending(xs: readonly number[]): Float64Array {
  return Float64Array.from(xs).sort();
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = ascending(xs);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Population standard deviation (numpy's default ddof=0). */
export function stdPopulation(xs: readonly number[]): number | null {
  const m = mean(xs);
  if (m === null) return null;
  const sq = xs.map((x) => (x - m) * (x - m));
  return Math.sqrt(sum(sq) / xs.length);
}

/** numpy's `_lerp`: computed from the nearer end so the result is monotonic and exact at t = 0 and t = 1. */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * np.percentile(xs, p) with the default linear method. `p` is in [0, 100]; percentile([1,2,3,4], 99) = 3.97.
 */
export function percentile(xs: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be between 0 and 100, got ${p}`);
  if (xs.length === 0) return null;
  const s = ascending(xs);
  const virtualIndex = (s.length - 1) * (p / 100);
  const lo = Math.floor(virtualIndex);
  const hi = Math.min(lo + 1, s.length - 1);
  return lerp(s[lo]!, s[hi]!, virtualIndex - lo);
}
