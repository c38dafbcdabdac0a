/**
 * Simulated Thors as a lab runs real ones: a Temporal test server, the sweep worker (in the test process) with its
 * results store, and one `thorbench worker --device sim --device-id <id> --role device` process per device,
 * supervised like systemd would (test/helpers/worker-process.ts), so that a test can SIGKILL them.
 */
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { ExperimentInput } from '../../schema/experiment.js';
import type { sweep } from '../../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../../workflows/task-queues.js';
import { ensureSimDevice } from '../../sim/device.js';
import { type ResultsStore, openResultsStore } from '../../store/store.js';
import { createSweepWorker } from '../../workers/sweep-worker.js';
import { destroySimDevice } from './sim-device.js';
import { type TestServer, startTestServer } from './temporal.js';
import { SupervisedWorker } from './worker-process.js';

export interface SimFleet {
  server: TestServer;
  store: ResultsStore;
  /** THORBENCH_HOME of the device workers: device `id` keeps its simulator state in `<home>/sim/<id>`. */
  home: string;
  resultsDir: string;
  devices: Map<string, SupervisedWorker>;
  /** Starts the device worker of `id` at `speed` (THORBENCH_SIM_SPEED); `env` adds to its environment. */
  addDevice(id: string, speed: number, env?: Record<string, string>): { worker: SupervisedWorker; simDir: string };
  /** Starts a sweep of `exp` on the sweep task queue, under `workflowId` (default: the experiment's name). */
  startSweep(exp: ExperimentInput, workflowId?: string): Promise<WorkflowHandle<typeof sweep>>;
  /** Environment for the CLI against this fleet (`thorbench devices`, `status`, …). */
  cliEnv(): Record<string, string>;
  /** Stops every device worker and removes its simulated device, then the sweep worker, the store and the server. */
  stop(): Promise<void>;
}

export async function startSimFleet(dir: string): Promise<SimFleet> {
  const home = path.join(dir, 'home');
  const resultsDir = path.join(dir, 'results');
  const server = await startTestServer(path.join(dir, 'server'));
  const store = await openResultsStore(path.join(resultsDir, 'thorbench.db'));
  const sweepWorker: Worker = await createSweepWorker({ connection: server.native, namespace: 'default', store });
  const sweepWorkerRun = sweepWorker.run();
  const devices = new Map<string, SupervisedWorker>();
  const simDir = (id: string) => path.join(home, 'sim', id);

  return {
    server,
    store,
    home,
    resultsDir,
    devices,
    addDevice(id, speed, env = {}) {
      const worker = new SupervisedWorker(['--device', 'sim', '--device-id', id, '--role', 'device'], {
        THORBENCH_HOME: home,
        THORBENCH_RESULTS: resultsDir,
        TEMPORAL_ADDRESS: server.server.address,
        THORBENCH_SIM_SPEED: String(speed),
        ...env,
      });
      // The device the worker process opens (cli/context.ts), made here first so the test can read its state at once.
      ensureSimDevice(simDir(id), { id, speed, enginePortOffset: 'allocate' });
      devices.set(id, worker);
      worker.start();
      return { worker, simDir: simDir(id) };
    },
    startSweep: (exp, workflowId = exp.name) =>
      server.client.workflow.start<typeof sweep>('sweep', { taskQueue: SWEEP_TASK_QUEUE, workflowId, args: [exp] }),
    cliEnv: () => ({ THORBENCH_RESULTS: resultsDir, THORBENCH_HOME: home, TEMPORAL_ADDRESS: server.server.address }),
    async stop() {
      for (const [id, worker] of devices) {
        await worker.stop();
        destroySimDevice(simDir(id));
      }
      if (sweepWorker.getState() === 'RUNNING') sweepWorker.shutdown();
      await sweepWorkerRun;
      await store.close();
      await server.stop();
    },
  };
}
