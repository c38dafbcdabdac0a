/**
 * `thorbench run <file>`: the all-in-one path. Validates the experiment, reaches Temporal (the embedded dev server
 * unless TEMPORAL_ADDRESS is set), runs the workers in-process unless some are already polling, starts the sweep
 * (or follows the identical one already running), shows a live progress line, then prints the report.
 * Exit 0 when the sweep finished, even if cells failed; 1 on an infrastructure failure; 2 on invalid input.
 */
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { openResultsStore } from '../../store/store.js';
import { progressQuery, type SweepProgress } from '../../workflows/messages.js';
import { DEVICE_CLAIM_TASK_QUEUE, SWEEP_TASK_QUEUE, deviceTaskQueue } from '../../workflows/task-queues.js';
import { type CliEnv, type DeviceChoice, connectTemporal, nativeConnection, resolveDevice } from '../context.js';
import { EXIT_INFRA, ExitError, failureReason } from '../errors.js';
import { loadExperiment, sweepIdFor } from '../experiment-file.js';
import {
  cellDetailFromStore,
  createProgressDisplay,
  finishFromStore,
  loadFinished,
  pollProgress,
} from '../progress.js';
import { queueHasLivePoller, startSweep } from '../sweeps.js';
import { type RunningWorkers, startWorkers } from '../workers.js';
import { renderSweepReport } from './report.js';

export interface RunOptions {
  file: string;
  device: DeviceChoice;
  deviceId?: string;
  id?: string;
  env: CliEnv;
  out: (line: string) => void;
  /** Progress goes to stderr. */
  progress: NodeJS.WriteStream;
  /** Redraw a live view (stdout and stderr are terminals); else one line per finished cell. */
  live: boolean;
}

/**
 * An experiment that selects other devices than this one gets no device worker from `run`: the sweep waits for
 * theirs. Says which of them no worker serves, so a typo in `device.select` does not look like a hang.
 */
async function sayWhichDevicesAreMissing(
  client: Client,
  opts: RunOptions,
  selected: readonly string[],
  thisDevice: string,
): Promise<void> {
  const missing: string[] = [];
  for (const id of selected)
    if (!(await queueHasLivePoller(client, opts.env.namespace, deviceTaskQueue(id), 'activity'))) missing.push(id);
  if (missing.length === 0) return;
  opts.out(
    `No worker serves ${missing.map((id) => `"${id}"`).join(', ')} of device.select, and this machine is device "${thisDevice}": the sweep waits until \`thorbench worker --device-id <id> --role device\` runs for each (or run with --device-id).`,
  );
}

export async function run(opts: RunOptions): Promise<void> {
  const loaded = await loadExperiment(opts.file);
  const sweepId = opts.id ?? sweepIdFor(loaded.experiment);
  const conn = await connectTemporal(opts.env, { startServer: true });
  opts.out(
    `Temporal server ${conn.address}${conn.startedServer ? ' (started, SQLite at ' + opts.env.home + '/temporal.db)' : ''}`,
  );
  if (conn.uiUrl)
    opts.out(`Web UI: ${conn.uiUrl}/namespaces/${opts.env.namespace}/workflows/${encodeURIComponent(sweepId)}`);

  let workers: RunningWorkers | null = null;
  const native = await nativeConnection(conn.address);
  const store = await openResultsStore(opts.env.results);
  try {
    const profile = resolveDevice(opts.env, opts.device, opts.deviceId);
    const select = loaded.experiment.device.select;
    const wantDevice = select === 'any' || select.includes(profile.id);
    const sweepPoller = await queueHasLivePoller(conn.client, opts.env.namespace, SWEEP_TASK_QUEUE, 'workflow');
    const devicePoller = await queueHasLivePoller(
      conn.client,
      opts.env.namespace,
      select === 'any' ? DEVICE_CLAIM_TASK_QUEUE : deviceTaskQueue(profile.id),
      'activity',
    );
    if (sweepPoller) {
      opts.out(`Using the sweep worker already polling "${SWEEP_TASK_QUEUE}" (${sweepPoller}).`);
      if (store.backend !== 'postgres')
        opts.out(
          `It records into its own results store: unless that is ${store.location}, read the report where it runs, or give both the same THORBENCH_RESULTS_URL.`,
        );
    }
    if (devicePoller) opts.out(`Using the device worker already polling (${devicePoller}).`);
    else if (select !== 'any' && !wantDevice) await sayWhichDevicesAreMissing(conn.client, opts, select, profile.id);
    workers = await startWorkers({
      connection: native,
      namespace: opts.env.namespace,
      store: sweepPoller ? null : store,
      artifactStore: store.backend === 'postgres' ? store : null,
      device: devicePoller || !wantDevice ? null : profile,
    });
    if (workers.workers.length > 0) {
      opts.out(
        `Worker started in this process${!devicePoller && wantDevice ? ` for device "${profile.id}"${profile.simulated ? ' (simulated Thor)' : ''}` : ''}.`,
      );
    }

    const started = await startSweep(conn.client, loaded, sweepId, opts.out);
    opts.out(
      started.state === 'started'
        ? `Sweep ${sweepId} started.`
        : started.state === 'running'
          ? `Sweep ${sweepId} is already running; following it.`
          : `Sweep ${sweepId} already completed; not running it again (use --id to run a new sweep).`,
    );

    // Ctrl-C stops this process's workers, not the sweep: it stays in Temporal and resumes on the next run.
    const interrupted = new Promise<never>((_, reject) => {
      process.once('SIGINT', () =>
        reject(
          new ExitError(
            `\ninterrupted: sweep ${sweepId} stays in Temporal; run the same command again to resume it, or \`thorbench cancel ${sweepId}\``,
            130,
          ),
        ),
      );
    });
    interrupted.catch(() => undefined);
    const startedAtMs = await started.handle.describe().then(
      (d) => d.startTime.getTime(),
      () => Date.now(),
    );
    const detail = cellDetailFromStore(store, sweepId);
    const display = createProgressDisplay({ stream: opts.progress, live: opts.live, startedAtMs, detail });
    const draw = async (p: SweepProgress) => {
      await loadFinished(detail, p.cells);
      display.update(p);
    };
    let stopping = false;
    const inProcess = workers.workers.length > 0;
    const crashed = workers.done.then(() => {
      if (inProcess && !stopping) throw new ExitError('the in-process worker stopped unexpectedly', EXIT_INFRA);
      return new Promise<never>(() => undefined); // no in-process worker: only the sweep's result ends the wait
    });
    crashed.catch(() => undefined); // observed by the race below; this only keeps a late rejection quiet
    const poller = pollProgress((request) => started.handle.query(progressQuery, request), draw);
    try {
      await Promise.race([started.handle.result(), crashed, interrupted]);
      await poller.now();
      await poller.stop();
      await finishFromStore(store, sweepId, detail, display);
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        throw new ExitError(`sweep ${sweepId} failed: ${failureReason(err)}`, EXIT_INFRA);
      }
      throw err;
    } finally {
      stopping = true;
      await poller.stop();
      display.done();
    }
    opts.out('');
    if (sweepPoller && !(await store.getSweep(sweepId))) {
      // The sweep finished; its records are where the other sweep worker keeps them (the systemd unit on a Thor:
      // /var/lib/thorbench/results). Not finding them here is no failure of the sweep.
      opts.out(
        `Sweep ${sweepId} finished. Its records are in the results store of the sweep worker ${sweepPoller}, not in ${store.location}: run \`thorbench report ${sweepId}\` where that worker runs (its THORBENCH_RESULTS), or give both the same THORBENCH_RESULTS_URL.`,
      );
      return;
    }
    opts.out(await renderSweepReport(store, sweepId, 'md'));
    if (conn.uiUrl)
      opts.out(`Web UI: ${conn.uiUrl}/namespaces/${opts.env.namespace}/workflows/${encodeURIComponent(sweepId)}`);
    opts.out(`Results: ${store.location} (thorbench report ${sweepId} --format md|csv|html|json)`);
  } finally {
    await workers?.shutdown().catch((err: Error) => opts.out(`worker shutdown: ${err.message}`));
    await store.close();
    await native.close();
    await conn.close();
  }
}
