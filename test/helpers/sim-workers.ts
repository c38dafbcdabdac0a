/**
 * A simulated Thor and both workers (sweep and device) in the test process, against a test server: the setup of
 * the end-to-end tests that do not need to kill the worker (useSimLab: all of it, for one describe). The workers are started as `thorbench worker` starts
 * them (cli/workers.ts).
 */
import path from 'node:path';
import { after, before } from 'node:test';
import { startWorkers } from '../../cli/workers.js';
import type { ExperimentInput } from '../../schema/experiment.js';
import { ensureSimDevice, simDeviceProfile } from '../../sim/device.js';
import { type ResultsStore, openResultsStore } from '../../store/store.js';
import type { sweep } from '../../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../../workflows/task-queues.js';
import { tempDir } from './files.js';
import { type TestServer, startTestServer } from './temporal.js';

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

export interface SimLab {
  /** Where the simulated device (`sim/`) and the results (`results/`) are. */
  readonly dir: string;
  /** Set once the lab's `before` hook ran. */
  readonly server: TestServer;
  readonly sim: SimWorkers;
  /** Starts a sweep of `exp` with workflow id `id` and waits for its result. */
  runSweep(id: string, exp: ExperimentInput): Promise<SweepSummary>;
}

type SweepSummary = Awaited<ReturnType<typeof sweep>>;

/**
 * A test server and a simulated Thor with both workers for the tests of the `describe` this is called in: started
 * in a `before` hook, stopped in an `after` hook (registered first, so the describe's own hooks see them running).
 */
export function useSimLab(prefix: string, sim: { id: string; speed: number }): SimLab {
  const dir = tempDir(prefix);
  let server: TestServer | undefined;
  let workers: SimWorkers | undefined;
  before(async () => {
    server = await startTestServer();
    workers = await startSimWorkers(server, dir, sim);
  });
  after(async () => {
    await workers?.stop();
    await server?.stop();
  });
  return {
    dir,
    get server() {
      return server!;
    },
    get sim() {
      return workers!;
    },
    async runSweep(id, exp) {
      const handle = await server!.client.workflow.start<typeof sweep>('sweep', {
        taskQueue: SWEEP_TASK_QUEUE,
        workflowId: id,
        args: [exp],
      });
      return handle.result();
    },
  };
}
