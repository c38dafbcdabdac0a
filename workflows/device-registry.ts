/**
 * The device registry: one small workflow per device (id `thorbench-device/<id>`, task queue `thorbench`) that
 * carries a device worker's reports to the results store, which lives beside the sweep worker and not on the
 * device. The device worker signals it (signal-with-start) when it starts, with the device's facts, and then on a
 * timer with just the time, which moves the device's last-seen forward (workers/device-registration.ts).
 *
 * The workflow ends after a quiet spell (the worker stopped; its row keeps the last-seen time) and continues as new
 * after a number of reports, so its history stays small however long the device runs.
 */
import { condition, continueAsNew, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ResultsActivities } from '../activities/results.js';
import type { DeviceInventory } from '../schema/device-inventory.js';
import { QUICK_OPTIONS } from './step-options.js';
import { SWEEP_TASK_QUEUE } from './task-queues.js';

export interface DeviceReport {
  /** Present when the worker (re)started; absent on the periodic "still here" reports. */
  inventory: DeviceInventory | null;
  seenAt: string;
  /** Temporal worker identity of the reporting worker. */
  worker: string;
}

export const deviceReportSignal = defineSignal<[DeviceReport]>('report');

export function deviceRegistryWorkflowId(deviceId: string): string {
  return `thorbench-device/${deviceId}`;
}

/** A device that has not reported for this long has stopped; the next report starts the workflow again. */
const QUIET_END = '30 minutes';
const REPORTS_PER_RUN = 200;

const results = proxyActivities<ResultsActivities>({ ...QUICK_OPTIONS, taskQueue: SWEEP_TASK_QUEUE });

export async function deviceRegistry(deviceId: string): Promise<void> {
  const pending: DeviceReport[] = [];
  setHandler(deviceReportSignal, (report) => {
    pending.push(report);
  });
  for (let handled = 0; handled < REPORTS_PER_RUN || pending.length > 0; handled++) {
    if (!(await condition(() => pending.length > 0, QUIET_END))) return;
    // Reports that queued up while the store was busy collapse into one: the newest facts, the latest time.
    const batch = pending.splice(0);
    const inventory = batch.reduce<DeviceInventory | null>((newest, r) => r.inventory ?? newest, null);
    const last = batch[batch.length - 1]!;
    await results.recordDeviceReport({ deviceId, inventory, seenAt: last.seenAt, worker: last.worker });
  }
  await continueAsNew<typeof deviceRegistry>(deviceId);
}
