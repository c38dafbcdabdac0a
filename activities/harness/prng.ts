/**
 * A small seeded random number generator for the load generator: the prompts and the arrival schedule of a scenario
 * must be the same on every run and every machine (a re-run after a crash, or the same experiment on two Thors),
 * which Math.random cannot give. mulberry32 is 32-bit, fast and statistically adequate for choosing token ids and
 * inter-arrival gaps; it is not numpy's generator, so the exact values differ from `vllm bench serve --seed`.
 *
 * Pure: no I/O.
 */

export type Random = () => number;

/** Uniform floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives an independent 32-bit seed for stream `index` of `seed` (murmur3's finaliser over both). */
export function deriveSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((index + 1) >>> 0, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Standard normal via Box–Muller (1 − u keeps the logarithm's argument in (0, 1]). */
export function normal(random: Random): number {
  const u1 = 1 - random();
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Gamma(shape, scale) by Marsaglia and Tsang (2000); shapes below 1 use the boost gamma(k) = gamma(k + 1)·U^(1/k).
 * Mean shape·scale, as numpy.random.gamma.
 */
export function gamma(random: Random, shape: number, scale: number): number {
  if (!(shape > 0) || !(scale > 0))
    throw new RangeError(`gamma needs shape > 0 and scale > 0, got shape ${shape}, scale ${scale}`);
  if (shape < 1) return gamma(random, shape + 1, scale) * Math.pow(1 - random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(random);
    const v0 = 1 + c * x;
    if (v0 <= 0) continue;
    const v = v0 * v0 * v0;
    const u = 1 - random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
  }
}
