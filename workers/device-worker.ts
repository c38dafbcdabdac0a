/**
 * The device worker: the only process that touches a device. It polls the device's own task queue with one
 * activity slot (benchmarks must never overlap) and the shared claim queue (to be picked by `select: "any"`
 * sweeps). On a real Thor it runs under systemd (deploy/thorbench-worker.service); on the simulator the CLI or
 * the tests run it.
 */
import { type NativeConnection, Worker } from '@temporalio/worker';
import { createClaimActivities, createDeviceWorkerActivities } from '../activities/index.js';
import type { DeviceProfile } from '../activities/device-profile.js';
import { withArtifactUpload } from '../activities/artifact-upload.js';
import { createNoopDeviceActivities } from '../sim/noop-device.js';
import type { ResultsStore } from '../store/store.js';
import { DEVICE_CLAIM_TASK_QUEUE, deviceTaskQueue } from '../workflows/task-queues.js';
import { installRuntime } from './runtime.js';

export async function createDeviceWorkers(opts: {
  connection: NativeConnection;
  namespace: string;
  profile: DeviceProfile;
  /** A shared results store to send each cell's artifacts to (activities/artifact-upload.ts); null keeps them on disk. */
  artifactStore?: ResultsStore | null;
  identity?: string;
}): Promise<Worker[]> {
  installRuntime();
  const identity = opts.identity ?? `thorbench-device-${opts.profile.id}@${process.pid}`;
  // The simulator's no-op mode answers the same activities at once (sim/noop-device.ts).
  const activities = opts.profile.noop
    ? createNoopDeviceActivities(opts.profile)
    : createDeviceWorkerActivities(opts.profile);
  const device = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: deviceTaskQueue(opts.profile.id),
    activities: opts.artifactStore ? withArtifactUpload(activities, opts.artifactStore) : activities,
    maxConcurrentActivityTaskExecutions: 1,
    identity,
    shutdownGraceTime: '10s',
  });
  const claim = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: DEVICE_CLAIM_TASK_QUEUE,
    activities: createClaimActivities(opts.profile),
    maxConcurrentActivityTaskExecutions: 1,
    identity,
  });
  return [device, claim];
}
