/**
 * `thorbench worker [--device sim|jetson|auto] [--device-id ID] [--role all|device|sweep]`: runs until SIGINT/SIGTERM.
 * On a Thor this is what systemd starts (deploy/thorbench-worker.service). On the simulator the worker registers
 * itself as a process "on the device", so a simulated reboot kills it like a real one would.
 */
import { Client, Connection } from '@temporalio/client';
import { registerOnDeviceProcess, unregisterOnDeviceProcess } from '../../sim/device.js';
import { isPostgresUrl, openResultsStore } from '../../store/store.js';
import { deviceTaskQueue, SWEEP_TASK_QUEUE } from '../../workflows/task-queues.js';
import { type CliEnv, type DeviceChoice, nativeConnection, resolveDevice } from '../context.js';
import { EXIT_INVALID, ExitError } from '../errors.js';
import { startWorkers } from '../workers.js';
import { queueHasLivePoller, workerIdentity } from '../sweeps.js';
import { type Registration, startDeviceRegistration } from '../../workers/device-registration.js';
import { ensureDevServer } from '../../server/dev-server.js';

export type WorkerRole = 'all' | 'device' | 'sweep';

export function parseRole(value: string | undefined): WorkerRole {
  const v = value ?? 'all';
  if (v === 'all' || v === 'device' || v === 'sweep') return v;
  throw new ExitError(`--role must be all, device or sweep (got "${v}")`, EXIT_INVALID);
}

interface WorkerOptions {
  device: DeviceChoice;
  deviceId?: string;
  role: WorkerRole;
  env: CliEnv;
  out: (line: string) => void;
}

/**
 * Two workers serving one device id would run two steps on one board at once (one's startEngine removes the other's
 * engine), so a second one is refused. Boards flashed from one image share a hostname, the default device id. A
 * worker of this host whose process has exited (a restart) is no other worker (queueHasLivePoller).
 */
async function refuseServedDevice(client: Client, opts: WorkerOptions, deviceId: string): Promise<void> {
  const other = await queueHasLivePoller(client, opts.env.namespace, deviceTaskQueue(deviceId), 'activity');
  if (!other) return;
  throw new ExitError(
    `device "${deviceId}" is already served by the worker ${other}: stop that worker, or give this one another --device-id`,
    EXIT_INVALID,
  );
}

export async function worker(opts: WorkerOptions): Promise<void> {
  const reportMs = process.env.THORBENCH_DEVICE_REPORT_MS;
  if (reportMs && !(Number(reportMs) >= 100)) {
    const message = `THORBENCH_DEVICE_REPORT_MS must be a number of milliseconds >= 100 (got "${reportMs}")`;
    throw new ExitError(message, EXIT_INVALID);
  }
  const address =
    opts.env.address ??
    (await ensureDevServer({ home: opts.env.home, port: opts.env.port, uiPort: opts.env.uiPort })).address;
  const profile = opts.role === 'sweep' ? null : resolveDevice(opts.env, opts.device, opts.deviceId);
  // The device's client to Temporal: the check below, then the device's reports (startDeviceRegistration).
  const client = profile
    ? new Client({ connection: await Connection.connect({ address }), namespace: opts.env.namespace })
    : null;
  if (profile && client) {
    await refuseServedDevice(client, opts, profile.id).catch(async (err: unknown) => {
      await client.connection.close();
      throw err;
    });
  }
  const connection = await nativeConnection(address);
  const store = opts.role === 'device' ? null : await openResultsStore(opts.env.results);
  // A device worker of a fleet sends its artifacts to a shared (PostgreSQL) store; with SQLite they stay on disk.
  const shared = opts.role !== 'sweep' && isPostgresUrl(opts.env.results);
  const artifactStore = shared ? (store ?? (await openResultsStore(opts.env.results))) : null;
  const simDir = profile?.simDir ?? null;
  if (simDir) registerOnDeviceProcess(simDir, process.pid);
  const running = await startWorkers({
    connection,
    namespace: opts.env.namespace,
    store,
    artifactStore,
    device: profile,
  });
  // The device registers its facts in the results store and reports itself seen while it runs (`thorbench devices`).
  let registration: Registration | null = null;
  if (profile && client) {
    registration = startDeviceRegistration({
      client,
      profile,
      worker: workerIdentity(`device-${profile.id}`),
      modelsDir: process.env.THORBENCH_MODELS_DIR || undefined,
      engineImage: process.env.THORBENCH_ENGINE_IMAGE || undefined,
      intervalMs: reportMs ? Number(reportMs) : undefined,
      onError: (message) => process.stderr.write(`${message}\n`),
    });
  }
  const queues = [store ? SWEEP_TASK_QUEUE : null, profile ? deviceTaskQueue(profile.id) : null]
    .filter(Boolean)
    .join(', ');
  opts.out(
    `thorbench worker (pid ${process.pid}) polling ${queues} on ${address}${profile?.simulated ? ' — simulated Thor' : ''}`,
  );
  const stop = () => void running.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await running.done;
  } finally {
    await registration?.stop();
    await client?.connection.close();
    if (simDir) unregisterOnDeviceProcess(simDir, process.pid);
    await store?.close();
    if (artifactStore !== store) await artifactStore?.close();
    await connection.close();
  }
}
