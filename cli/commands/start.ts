/** `thorbench start <file> [--id ID]`: starts the sweep and prints its workflow id; workers run elsewhere. */
import { DEVICE_CLAIM_TASK_QUEUE, SWEEP_TASK_QUEUE } from '../../workflows/task-queues.js';
import { type CliEnv, connectTemporal } from '../context.js';
import { loadExperiment, sweepIdFor } from '../experiment-file.js';
import { queueHasLivePoller, startSweep } from '../sweeps.js';

export async function start(opts: {
  file: string;
  id?: string;
  env: CliEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}): Promise<void> {
  const loaded = await loadExperiment(opts.file);
  const sweepId = opts.id ?? sweepIdFor(loaded.experiment);
  const conn = await connectTemporal(opts.env, { startServer: true });
  try {
    const started = await startSweep(conn.client, loaded, sweepId, opts.err);
    opts.out(sweepId);
    if (started.state !== 'started') opts.err(`sweep ${sweepId} was already ${started.state}; not started again`);
    if (!(await queueHasLivePoller(conn.client, opts.env.namespace, SWEEP_TASK_QUEUE, 'workflow'))) {
      opts.err(`no worker is polling "${SWEEP_TASK_QUEUE}" yet: start one with \`thorbench worker\``);
    } else if (
      loaded.experiment.device.select === 'any' &&
      !(await queueHasLivePoller(conn.client, opts.env.namespace, DEVICE_CLAIM_TASK_QUEUE, 'activity'))
    ) {
      opts.err(
        'no device worker is online yet: the sweep waits for one (`thorbench worker --device jetson` on the Thor)',
      );
    }
  } finally {
    await conn.close();
  }
}
