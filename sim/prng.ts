/**
 * Seeded randomness for the simulator. Jitter, generated text and early stops must be reproducible (a test that
 * runs the same scenario twice gets the same numbers) yet not identical across requests, so every consumer draws
 * from its own seeded stream instead of Math.random.
 */

/** The load generator's mulberry32, shared so the whole project has one seeded generator. */
export { mulberry32 } from '../activities/harness/prng.js';
import { mulberry32 } from '../activities/harness/prng.js';

/** FNV-1a over a string: turns names (container, prompt) into seeds. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Multiplicative jitter around 1 with the given relative spread (e.g. 0.03 = about ±3 %), symmetric in the log so
 * that the mean of many draws stays close to 1. Spread 0 returns a constant 1 (for exact, jitter-free predictions).
 */
export function jitterSource(seed: number, spread: number): () => number {
  if (spread <= 0) return () => 1;
  const next = mulberry32(seed);
  return () => {
    // Sum of two uniforms: a cheap triangular distribution on [-1, 1].
    const u = next() + next() - 1;
    return Math.exp(u * spread);
  };
}
