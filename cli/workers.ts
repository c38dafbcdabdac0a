/** Running workers inside a CLI process (`run` all-in-one, and `worker`). */
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { DeviceProfile } from '../activities/device-profile.js';
import type { ResultsStore } from '../store/store.js';
import { createDeviceWorkers } from '../workers/device-worker.js';
import { createSweepWorker } from '../workers/sweep-worker.js';
import { workerIdentity } from './sweeps.js';

export interface RunningWorkers {
  workers: Worker[];
  /** Settles when every worker stopped; rejects when one crashed. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startWorkers(opts: {
  connection: NativeConnection;
  namespace: string;
  store: ResultsStore | null;
  /** Where the device worker sends each cell's artifacts (a shared store); null keeps them on its disk only. */
  artifactStore?: ResultsStore | null;
  device: DeviceProfile | null;
}): Promise<RunningWorkers> {
  const workers: Worker[] = [];
  if (opts.store)
    workers.push(
      await createSweepWorker({
        connection: opts.connection,
        namespace: opts.namespace,
        store: opts.store,
        identity: workerIdentity('sweep'),
      }),
    );
  if (opts.device) {
    workers.push(
      ...(await createDeviceWorkers({
        connection: opts.connection,
        namespace: opts.namespace,
        profile: opts.device,
        artifactStore: opts.artifactStore ?? null,
        identity: workerIdentity(`device-${opts.device.id}`),
      })),
    );
  }
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return {
    workers,
    done,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}
