/** How the cell turns whatever an activity threw into a typed reason (workflows/cell.ts describeFailure). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { describeFailure } from '../workflows/cell.js';

const fromActivity = (cause: Error) =>
  new ActivityFailure('activity failed', 'waitForHealth', '7', RetryState.NON_RETRYABLE_FAILURE, 'worker', cause);

describe('describeFailure', () => {
  it('keeps a FailureType member and the engine details', () => {
    const details = { exitCode: 137, oomKilled: true, logTail: 'Killed' };
    const failed = describeFailure(
      'waitForHealth',
      fromActivity(
        ApplicationFailure.create({ type: 'EngineOOMKilled', message: 'oom', nonRetryable: true, details: [details] }),
      ),
    );
    assert.deepEqual(failed.info, { type: 'EngineOOMKilled', message: 'oom', retryable: false, step: 'waitForHealth' });
    assert.deepEqual(failed.engine, details);
  });

  it('records an error no activity classified as Unexpected, keeping its own name in the message', () => {
    const failed = describeFailure(
      'benchmark',
      fromActivity(ApplicationFailure.create({ type: 'TypeError', message: 'x is undefined' })),
    );
    assert.deepEqual(failed.info, {
      type: 'Unexpected',
      message: 'TypeError: x is undefined',
      retryable: true,
      step: 'benchmark',
    });
  });

  it('turns a step no worker picked up in time (schedule-to-start) into DeviceLost, never retried', () => {
    const timeout = new TimeoutFailure('timed out', undefined, 'SCHEDULE_TO_START');
    const lost = describeFailure('benchmark', fromActivity(timeout));
    assert.equal(lost.info.type, 'DeviceLost');
    assert.equal(lost.info.retryable, false);
    assert.equal(lost.info.step, 'benchmark');
  });

  it('turns a timeout into StepTimeout and anything else into Unexpected', () => {
    assert.equal(
      describeFailure('warmup', fromActivity(new TimeoutFailure('timed out', undefined, 'HEARTBEAT'))).info.type,
      'StepTimeout',
    );
    assert.deepEqual(describeFailure('teardown', new Error('boom')).info, {
      type: 'Unexpected',
      message: 'boom',
      retryable: true,
      step: 'teardown',
    });
  });
});
