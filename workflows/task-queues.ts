/**
 * Task-queue names (docs/architecture.md, "Task queues and workers"). Deterministic: shared by workflows, workers and
 * the CLI.
 */
export const SWEEP_TASK_QUEUE = 'thorbench';
/** Any idle device worker answers `claimDevice` here (experiments with `device.select: "any"`). */
export const DEVICE_CLAIM_TASK_QUEUE = 'thorbench-devices';
/** A device's own queue: its worker runs one activity at a time, so benchmarks never overlap. */
export function deviceTaskQueue(deviceId: string): string {
  return `thorbench-device-${deviceId}`;
}
