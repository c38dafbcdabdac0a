/**
 * `thorbench status <sweep> [--json] [--follow]`: where a sweep stands. Cells and metrics come from the results
 * database, planned cells not recorded yet are listed as pending, and while the workflow runs its `progress` query
 * says which cell is in flight. The state is Temporal's when the server answers (running, completed, failed,
 * cancelled, terminated, timed_out), else the one the database recorded. `--follow` shows the live view first.
 */
import { planSweep } from '../../plan/plan.js';
import { type StatusJson, renderJsonStatus } from '../../report/status.js';
import { parseExperiment } from '../../schema/experiment.js';
import { openResultsStore } from '../../store/store.js';
import { progressQuery, type SweepProgress } from '../../workflows/messages.js';
import { type CliEnv, connectTemporal } from '../context.js';
import {
  cellDetailFromStore,
  createProgressDisplay,
  finishFromStore,
  loadFinished,
  metricsDetail,
  pollProgress,
} from '../progress.js';
import { EXIT_INVALID, ExitError, failureReason } from '../errors.js';

export type CliStatus = Omit<StatusJson, 'state' | 'cells'> & {
  state: string;
  /** Why the sweep's workflow failed (Temporal's failure, innermost first), when it did. */
  failure?: string;
  cells: (Omit<StatusJson['cells'][number], 'status'> & {
    status: StatusJson['cells'][number]['status'] | 'running';
  })[];
};

async function workflowView(
  env: CliEnv,
  sweepId: string,
): Promise<{ state: string; progress: SweepProgress | null; failure: string | null } | null> {
  try {
    const conn = await connectTemporal(env, { startServer: false });
    try {
      const handle = conn.client.workflow.getHandle(sweepId);
      const state = (await handle.describe()).status.name.toLowerCase();
      const progress =
        state === 'running' ? await handle.query(progressQuery, { cells: 'none' }).catch(() => null) : null;
      // A sweep that failed before its first cell (a device that refuses sudo, say) has nothing in the records.
      const failure = state === 'failed' ? await handle.result().then(() => null, failureReason) : null;
      return { state, progress, failure };
    } finally {
      await conn.close();
    }
  } catch {
    return null;
  }
}

export async function statusJson(env: CliEnv, sweepId: string): Promise<CliStatus> {
  const store = await openResultsStore(env.results);
  try {
    const sweep = await store.getSweep(sweepId);
    const view = await workflowView(env, sweepId);
    if (!sweep) {
      if (!view)
        throw new ExitError(`no sweep "${sweepId}" in ${store.location} or on the Temporal server`, EXIT_INVALID);
      throw new ExitError(
        `sweep "${sweepId}" is ${view.state} but has recorded nothing yet${view.progress?.state === 'starting' ? ' (waiting for a device worker)' : ''}${view.failure ? `: ${view.failure}` : ''}`,
        1,
      );
    }
    const parsed = parseExperiment(JSON.parse(sweep.experimentJson));
    // A search slot is no cell: its probes show once recorded.
    const planned = parsed.ok ? planSweep(parsed.experiment).cells.filter((c) => !c.search) : undefined;
    const json = renderJsonStatus({ sweep, cells: await store.listCells(sweepId), planned });
    const inFlight = new Set(view?.progress?.current.map((c) => c.cellId) ?? []);
    return {
      ...json,
      state: view?.state ?? json.state,
      ...(view?.failure ? { failure: view.failure } : {}),
      cells: json.cells.map((c) =>
        c.status === 'pending' && inFlight.has(c.id) ? { ...c, status: 'running' as const } : c,
      ),
    };
  } finally {
    await store.close();
  }
}

/**
 * `--follow`: the live view while the sweep runs (redrawn on a terminal, one line per finished cell otherwise),
 * then the status as without it. A sweep that is not running prints its status at once.
 */
interface FollowOptions {
  sweepId: string;
  env: CliEnv;
  progress: NodeJS.WriteStream;
  live: boolean;
}

async function follow(opts: FollowOptions): Promise<void> {
  let conn: Awaited<ReturnType<typeof connectTemporal>>;
  try {
    conn = await connectTemporal(opts.env, { startServer: false });
  } catch {
    return; // no server: nothing runs; the status below comes from the database
  }
  const store = await openResultsStore(opts.env.results);
  try {
    const handle = conn.client.workflow.getHandle(opts.sweepId);
    const described = await handle.describe().catch(() => null);
    if (described?.status.name !== 'RUNNING') return;
    const detail = cellDetailFromStore(store, opts.sweepId);
    const display = createProgressDisplay({
      stream: opts.progress,
      live: opts.live,
      startedAtMs: described.startTime.getTime(),
      detail,
    });
    const draw = async (p: SweepProgress) => {
      await loadFinished(detail, p.cells);
      display.update(p);
    };
    const poller = pollProgress((request) => handle.query(progressQuery, request), draw);
    try {
      await poller.now();
      await handle.result().catch(() => undefined); // a failed or cancelled sweep ends the follow all the same
      await poller.now();
      await poller.stop();
      // Without a worker to answer the last query, the records say which cells finished.
      await finishFromStore(store, opts.sweepId, detail, display);
    } finally {
      await poller.stop();
      display.done();
    }
  } finally {
    await store.close();
    await conn.close();
  }
}

export async function status(opts: {
  sweepId: string;
  json: boolean;
  follow?: boolean;
  env: CliEnv;
  out: (line: string) => void;
  progress?: NodeJS.WriteStream;
  live?: boolean;
}): Promise<void> {
  if (opts.follow) {
    await follow({
      sweepId: opts.sweepId,
      env: opts.env,
      progress: opts.progress ?? process.stderr,
      live: opts.live ?? false,
    });
  }
  const s = await statusJson(opts.env, opts.sweepId);
  if (opts.json) {
    opts.out(JSON.stringify(s, null, 2));
    return;
  }
  opts.out(`${s.sweepId} (${s.experiment}): ${s.state}${s.simulated ? ' — simulated Thor' : ''}`);
  if (s.failure) opts.out(`  why: ${s.failure}`);
  opts.out(
    `  ${
      Object.entries(s.counts)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'no cells'
    }`,
  );
  for (const c of s.cells) {
    const m = c.metrics;
    const detail = m ? metricsDetail(m) : c.failure ? `${c.failure.type}: ${c.failure.message}` : '';
    const invalid =
      c.status === 'succeeded' && c.verdict?.valid === false ? `  ⚠ invalid: ${c.verdict.reasons.join('; ')}` : '';
    opts.out(`  ${c.status.padEnd(9)} ${c.id}${detail ? `  ${detail}` : ''}${invalid}`);
  }
}
