/**
 * A simulated Thor and both workers (sweep and device) in the test process, against a test server: the setup of
 * the end-to-end tests that do not need to kill the worker. The workers are started as `thorbench worker` starts
 * them (cli/workers.ts).
 */
import path from 'node:path';
import { startWorkers } from '../../cli/workers.js';
import { ensureSimDevice, simDeviceProfile } from '../../sim/device.js';
import { type ResultsStore, openResultsStore } from '../../store/store.js';
import type { TestServer } from './temporal.js';

export interface SimWorkers {
  simDir: string;
  store: ResultsStore;
  stop(): Promise<void>;
}

export async function startSimWorkers(
  server: TestServer,
  dir: string,
  /** `noop`: the simulator's no-op mode (sim/noop-device.ts). */
  sim: { id: string; speed: number; noop?: boolean },
  /** The results store: a postgres:// URL, or (default) `<dir>/results/thorbench.db`. */
  results?: string,
): Promise<SimWorkers> {
  const simDir = path.join(dir, 'sim');
  const resultsDir = path.join(dir, 'results');
  const { noop, ...device } = sim;
  const profile = simDeviceProfile(ensureSimDevice(simDir, device), resultsDir, { noop });
  const store = await openResultsStore(results ?? path.join(resultsDir, 'thorbench.db'));
  // A shared (PostgreSQL) store also receives the device's artifacts, as `thorbench worker` does.
  const artifactStore = store.backend === 'postgres' ? store : null;
  const running = await startWorkers({
    connection: server.native,
    namespace: 'default',
    store,
    artifactStore,
    device: profile,
  });
  return {
    simDir,
    store,
    async stop() {
      await running.shutdown();
      await store.close();
    },
  };
}
