/**
 * A device worker's registration (workflows/device-registry.ts): when the worker starts it describes its device
 * (activities/models.ts, describeInventory) and signals the registry with those facts; then, every `intervalMs`,
 * it reports itself seen, re-describing the device every REFRESH_EVERY reports so free disk, the engine image and
 * the models stay current. Reports go through Temporal because the results store lives beside the sweep worker,
 * not on the device. A report that fails (server unreachable) is retried at the next tick; it never stops the worker.
 */
import type { Client } from '@temporalio/client';
import type { DeviceProfile } from '../activities/device-profile.js';
import { describeInventory } from '../activities/models.js';
import { EngineSpec } from '../schema/experiment.js';
import {
  type DeviceReport,
  deviceRegistryWorkflowId,
  deviceReportSignal,
  type deviceRegistry,
} from '../workflows/device-registry.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';

/** Default time between "seen" reports. */
export const DEFAULT_REPORT_INTERVAL_MS = 30_000;
const REFRESH_EVERY = 10;

export interface RegistrationOptions {
  client: Client;
  profile: DeviceProfile;
  /** Temporal worker identity, recorded with the device. */
  worker: string;
  /** Models directory and engine image to look for; defaults are the experiment schema's. */
  modelsDir?: string;
  engineImage?: string;
  intervalMs?: number;
  onError?: (message: string) => void;
}

export interface Registration {
  /** Settles after the first report was delivered (or failed). */
  registered: Promise<void>;
  /** Stops reporting; settles when a report under way has finished. */
  stop(): Promise<void>;
}

export function startDeviceRegistration(opts: RegistrationOptions): Registration {
  const defaults = EngineSpec.parse({});
  const modelsDir = opts.modelsDir ?? defaults.modelsDir;
  const engineImage = opts.engineImage ?? defaults.image;
  const intervalMs = opts.intervalMs ?? DEFAULT_REPORT_INTERVAL_MS;
  let reports = 0;
  let delivered = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  async function report(): Promise<void> {
    // Full facts on the first report, every REFRESH_EVERY-th one, and until one has been delivered.
    const withFacts = !delivered || reports % REFRESH_EVERY === 0;
    reports++;
    try {
      const inventory = withFacts ? await describeInventory(opts.profile, { modelsDir, engineImage }) : null;
      const signal: DeviceReport = { inventory, seenAt: new Date().toISOString(), worker: opts.worker };
      await opts.client.workflow.signalWithStart<typeof deviceRegistry, [DeviceReport]>('deviceRegistry', {
        workflowId: deviceRegistryWorkflowId(opts.profile.id),
        taskQueue: SWEEP_TASK_QUEUE,
        args: [opts.profile.id],
        signal: deviceReportSignal,
        signalArgs: [signal],
        staticSummary: `thorbench device ${opts.profile.id}`,
      });
      delivered = true;
    } catch (err) {
      opts.onError?.(`device ${opts.profile.id}: could not report to the registry: ${(err as Error).message}`);
    }
  }

  let inFlight: Promise<void> = Promise.resolve();
  const tick = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = report().finally(tick);
    }, intervalMs);
    timer.unref();
  };
  inFlight = report().finally(tick);
  return {
    registered: inFlight,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
