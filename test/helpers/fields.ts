/** Asserting some fields of a larger object at once, so a failure shows every field that differs. */
import assert from 'node:assert/strict';

/** Asserts that `actual` has each of `expected`'s fields with that value (deeply), whatever its other fields. */
export function assertFields(actual: object, expected: Record<string, unknown>, message?: string): void {
  const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, (actual as Record<string, unknown>)[k]]));
  assert.deepEqual(picked, expected, message);
}
