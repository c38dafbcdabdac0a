/**
 * Timeouts and retry policies of every step, in one place (DESIGN §5). Short control steps retry quickly;
 * long steps heartbeat so a dead worker is noticed within `heartbeatTimeout` instead of at the end of a
 * multi-hour `startToCloseTimeout`. Deterministic failures are thrown non-retryable by the activities, so the
 * attempt limits here only bound transient trouble. Experiments can override each timeout (steps.timeouts).
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { StepTimeouts } from '../schema/experiment.js';

export const STEP_NAMES = ['flushCaches', 'ensurePowerMode', 'ensureClocks', 'startEngine', 'waitForHealth', 'warmup', 'benchmark', 'teardown'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** Default step timeouts in ms. */
export const DEFAULT_STEP_TIMEOUTS_MS: Record<StepName, number> = {
  flushCaches: 3 * 60_000,
  ensurePowerMode: 3 * 60_000,
  ensureClocks: 3 * 60_000,
  startEngine: 60 * 60_000, // may pull a multi-GB image
  waitForHealth: 30 * 60_000, // large models load for minutes on a Thor
  warmup: 60 * 60_000,
  benchmark: 6 * 60 * 60_000,
  teardown: 5 * 60_000,
};

const quickRetry = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 } as const;

export function stepOptions(step: StepName, overrides: StepTimeouts, taskQueue: string): ActivityOptions {
  const timeout = overrides[step] ?? DEFAULT_STEP_TIMEOUTS_MS[step];
  const long = step === 'startEngine' || step === 'waitForHealth' || step === 'warmup' || step === 'benchmark';
  return {
    taskQueue,
    startToCloseTimeout: timeout,
    // A step that heartbeats every ~5 s is declared dead after 30 s of silence.
    heartbeatTimeout: long ? '30s' : undefined,
    retry: long ? { ...quickRetry, maximumAttempts: 20 } : quickRetry,
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  };
}

/** Fast, read-only device queries (describe, probe) and the results store. */
export const QUICK_OPTIONS: Omit<ActivityOptions, 'taskQueue'> = {
  startToCloseTimeout: '2m',
  retry: quickRetry,
};
