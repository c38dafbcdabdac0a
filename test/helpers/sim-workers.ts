/**
 * A simulated Thor and both workers (sweep and device) in the test process, against a test server: the setup of
 * the end-to-end tests that do not need to kill the worker.
 */
import path from 'node:path';
import type { Worker } from '@temporalio/worker';
import { ensureSimDevice, simDeviceProfile } from '../../sim/device.js';
import { type ResultsStore, openResultsStore } from '../../store/store.js';
import { createDeviceWorkers } from '../../workers/device-worker.js';
import { createSweepWorker } from '../../workers/sweep-worker.js';
import type { TestServer } from './temporal.js';

export interface SimWorkers {
  simDir: string;
  store: ResultsStore;
  stop(): Promise<void>;
}

export async function startSimWorkers(server: TestServer, dir: string, sim: { id: string; speed: number }): Promise<SimWorkers> {
  const simDir = path.join(dir, 'sim');
  const resultsDir = path.join(dir, 'results');
  const profile = simDeviceProfile(ensureSimDevice(simDir, sim), resultsDir);
  const store = openResultsStore(path.join(resultsDir, 'thorbench.db'));
  const workers: Worker[] = [
    await createSweepWorker({ connection: server.native, namespace: 'default', store }),
    ...(await createDeviceWorkers({ connection: server.native, namespace: 'default', profile })),
  ];
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    simDir,
    store,
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      store.close();
    },
  };
}
