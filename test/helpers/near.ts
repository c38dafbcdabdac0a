import assert from 'node:assert/strict';

/** Asserts a number within `tolerance` of `expected` (hand arithmetic with decimal fractions is not exact). */
export function near(actual: unknown, expected: number, tolerance = 1e-9): void {
  assert.equal(typeof actual, 'number', `${String(actual)} is not a number (expected ${expected})`);
  assert.ok(Math.abs((actual as number) - expected) < tolerance, `${String(actual)} ≠ ${expected}`);
}
