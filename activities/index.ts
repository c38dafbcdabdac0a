/**
 * Activity factories, grouped by where they run:
 * - device activities (task queue `thorbench-device-<id>`, one at a time on a device),
 * - the device-claim activity (task queue `thorbench-devices`, answered by any idle device worker),
 * - results activities (task queue `thorbench`, beside the results database).
 */
import type { DeviceProfile } from './device-profile.js';
import { createDeviceActivities } from './device.js';
import { createEngineActivities } from './engine.js';
import { createHarnessActivities } from './harness.js';
import { heartbeating } from './heartbeat.js';
import { createModelActivities } from './models.js';

export function createDeviceWorkerActivities(profile: DeviceProfile) {
  const engine = createEngineActivities(profile);
  return heartbeating({
    ...createDeviceActivities(profile),
    ...engine,
    ...createHarnessActivities(profile, engine),
    ...createModelActivities(profile),
  });
}
export type DeviceWorkerActivities = ReturnType<typeof createDeviceWorkerActivities>;

/** Answers "which device will run this sweep?" for sweeps with `device.select: "any"`. */
export function createClaimActivities(profile: DeviceProfile) {
  return {
    async claimDevice(): Promise<{ deviceId: string; simulated: boolean }> {
      return { deviceId: profile.id, simulated: profile.simulated };
    },
  };
}
export type ClaimActivities = ReturnType<typeof createClaimActivities>;

export { createResultsActivities, type ResultsActivities } from './results.js';
export type { DeviceProfile } from './device-profile.js';
