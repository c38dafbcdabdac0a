/** Checks of the typed failures activities throw (activities/failures.ts), for `assert.rejects`. */
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';

/**
 * An `assert.rejects` check: an ApplicationFailure of `type`, non-retryable or not when `nonRetryable` says, whose
 * message matches every pattern.
 */
export function typedFailure(
  type: string,
  { nonRetryable, message = [] }: { nonRetryable?: boolean; message?: RegExp[] } = {},
): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, not ${String(err)}`);
    assert.equal(err.type, type);
    if (nonRetryable !== undefined) assert.equal(err.nonRetryable, nonRetryable, `nonRetryable of ${type}`);
    for (const pattern of message) assert.match(err.message, pattern);
    return true;
  };
}
