/**
 * The sweep worker: runs the sweep and cell workflows, the results activities and the search-attribute check (task
 * queue `thorbench`), next to the results database. One per lab is enough; the all-in-one CLI runs it in-process.
 */
import { type NativeConnection, Worker } from '@temporalio/worker';
import { createResultsActivities } from '../activities/results.js';
import { createVisibilityActivities } from '../activities/visibility.js';
import type { ResultsStore } from '../store/store.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';
import { workflowBundle } from './bundle.js';
import { installRuntime } from './runtime.js';

export async function createSweepWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  store: ResultsStore;
  identity?: string;
}): Promise<Worker> {
  installRuntime();
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: SWEEP_TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: {
      ...createResultsActivities(opts.store),
      ...createVisibilityActivities(opts.connection, opts.namespace),
    },
    ...(opts.identity ? { identity: opts.identity } : {}),
    // Let a finishing record complete on Ctrl-C rather than retrying it elsewhere.
    shutdownGraceTime: '5s',
  });
}
