/** Starting and following sweeps, shared by `run`, `start`, `status` and `cancel`. */
import os from 'node:os';
import { type Client, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { sweep } from '../workflows/sweep.js';
import { SEARCH_ATTRIBUTE_FLAGS, sweepSearchAttributes } from '../workflows/search-attributes.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';
import type { LoadedExperiment } from './experiment-file.js';

// @temporalio/proto is CommonJS: take the enum from its default export.
const { TaskQueueType } = proto.temporal.api.enums.v1;

export interface StartedSweep {
  handle: WorkflowHandle<typeof sweep>;
  /**
   * "started": a new run (a failed, cancelled or terminated sweep restarts and skips its recorded cells);
   * "running": the identical sweep was already running and is followed; "completed": it already finished.
   */
  state: 'started' | 'running' | 'completed';
}

/** The server rejected a start because a search attribute is not registered on it. */
function isUnregisteredSearchAttribute(err: unknown): boolean {
  // The client wraps the server's INVALID_ARGUMENT ("... has no mapping defined for search attribute X") as cause.
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/no mapping defined for search attribute|search attribute .* is not defined/i.test(e.message)) return true;
  }
  return false;
}

export async function startSweep(
  client: Client,
  loaded: LoadedExperiment,
  sweepId: string,
  warn: (line: string) => void = () => undefined,
): Promise<StartedSweep> {
  const existing = client.workflow.getHandle<typeof sweep>(sweepId);
  const status = await existing.describe().then(
    (d) => d.status.name,
    () => null, // not found: never started
  );
  if (status === 'RUNNING') return { handle: existing, state: 'running' };
  if (status === 'COMPLETED') return { handle: existing, state: 'completed' };
  const start = (typedSearchAttributes?: ReturnType<typeof sweepSearchAttributes>) =>
    client.workflow.start<typeof sweep>('sweep', {
      taskQueue: SWEEP_TASK_QUEUE,
      workflowId: sweepId,
      args: [loaded.raw],
      // Same experiment twice: follow the running sweep; a completed one is not run again; a failed,
      // cancelled or terminated one may be restarted and skips the cells it already recorded.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      staticSummary: `thorbench sweep ${loaded.experiment.name}`,
      typedSearchAttributes,
    });
  try {
    try {
      return { handle: await start(sweepSearchAttributes(loaded.experiment)), state: 'started' };
    } catch (err) {
      if (!isUnregisteredSearchAttribute(err)) throw err;
      warn(
        `the Temporal server has no thorbench search attributes; starting without them (register them: ${SEARCH_ATTRIBUTE_FLAGS.filter((_, i) => i % 2 === 1).join(', ')})`,
      );
      return { handle: await start(), state: 'started' };
    }
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle<typeof sweep>(sweepId), state: 'completed' };
  }
}

/** Worker identity: host and pid first, so a later command on the same host can tell a dead worker from a live one. */
export function workerIdentity(role: string): string {
  return `${os.hostname()}:${process.pid}:thorbench-${role}`;
}

/** A poller from this host whose process is gone is stale, however recently the server saw it. */
function isStaleLocalPoller(identity: string): boolean {
  const [host, pid] = identity.split(':');
  if (host !== os.hostname() || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * The identity of a worker that polled the queue recently (idle workers re-poll at least once a minute), ignoring
 * workers of this host that have exited.
 */
export async function queueHasLivePoller(
  client: Client,
  namespace: string,
  taskQueue: string,
  kind: 'workflow' | 'activity',
): Promise<string | null> {
  const res = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType:
      kind === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const now = Date.now();
  for (const p of res.pollers ?? []) {
    const seconds = Number(p.lastAccessTime?.seconds ?? 0);
    const identity = p.identity ?? 'unknown worker';
    if (now - seconds * 1000 < 70_000 && !isStaleLocalPoller(identity)) return identity;
  }
  return null;
}
