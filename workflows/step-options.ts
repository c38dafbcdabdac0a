/**
 * Timeouts and retry policies of every step, in one place (docs/architecture.md, "The cell pipeline"). Short control
 * steps retry quickly; long steps heartbeat so a dead worker is noticed within `heartbeatTimeout` instead of at the end
 * of a multi-hour `startToCloseTimeout`. Deterministic failures are thrown non-retryable by the activities, so the
 * attempt limits here only bound transient trouble. Experiments can override each timeout (steps.timeouts).
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { StepName, StepTimeouts } from '../schema/experiment.js';

/** Default step timeouts in ms. */
export const DEFAULT_STEP_TIMEOUTS_MS: Record<StepName, number> = {
  flushCaches: 3 * 60_000,
  ensurePowerMode: 3 * 60_000,
  rebootForPowerMode: 20 * 60_000, // until the rebooted device reports the new mode
  ensureClocks: 3 * 60_000,
  describeDevice: 2 * 60_000,
  startEngine: 60 * 60_000, // may pull a multi-GB image
  waitForHealth: 30 * 60_000, // large models load for minutes on a Thor
  warmup: 60 * 60_000,
  benchmark: 6 * 60 * 60_000,
  readBackDevice: 2 * 60_000,
  teardown: 5 * 60_000,
};

// Capped at 10 s: a retry after a killed worker or a docker hiccup should not wait minutes.
const quickRetry = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: 10,
} as const;

/** The step's timeout: the experiment's override, else the default. */
export function stepTimeoutMs(step: StepName, overrides: StepTimeouts): number {
  return overrides[step] ?? DEFAULT_STEP_TIMEOUTS_MS[step];
}

/**
 * Every device activity heartbeats while it runs (activities/heartbeat.ts), so every step gets a heartbeat
 * timeout: a killed worker is noticed after `heartbeatTimeoutMs`, and the step is retried on the restarted one.
 */
export function stepOptions(
  step: StepName,
  overrides: StepTimeouts,
  taskQueue: string,
  heartbeatTimeoutMs: number,
  failoverAfterMs?: number,
): ActivityOptions {
  const long = step === 'startEngine' || step === 'waitForHealth' || step === 'warmup' || step === 'benchmark';
  return {
    taskQueue,
    // Not picked up in time (every attempt, a retry after a killed worker included): the device is lost.
    ...(failoverAfterMs === undefined ? {} : { scheduleToStartTimeout: failoverAfterMs }),
    startToCloseTimeout: stepTimeoutMs(step, overrides),
    heartbeatTimeout: heartbeatTimeoutMs,
    // Long steps get more attempts: each kill of the worker during one costs an attempt.
    retry: long ? { ...quickRetry, maximumAttempts: 30 } : { ...quickRetry, maximumAttempts: 20 },
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  };
}

/** Fast device queries (describe, probe, teardown of everything) on the device queue. */
export function quickDeviceOptions(
  taskQueue: string,
  heartbeatTimeoutMs: number,
  failoverAfterMs?: number,
): ActivityOptions {
  return {
    taskQueue,
    ...(failoverAfterMs === undefined ? {} : { scheduleToStartTimeout: failoverAfterMs }),
    startToCloseTimeout: '2m',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { ...quickRetry, maximumAttempts: 20 },
  };
}

/** The results store (sweep worker). */
export const QUICK_OPTIONS: Omit<ActivityOptions, 'taskQueue'> = {
  startToCloseTimeout: '2m',
  retry: quickRetry,
};
