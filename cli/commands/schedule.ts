/**
 * `thorbench schedule create|list|trigger|pause|unpause|delete`: regression watch with Temporal Schedules. A schedule
 * starts the experiment as a sweep on its cron (the sweep id is the workflow id Temporal gives each run:
 * `<schedule id>-<RFC 3339 time>`), with the baseline in the sweep's memo (workflows/regression-watch.ts); the sweep
 * compares itself with the baseline when it finishes. Schedules live in Temporal, not in the host's cron: the Web
 * UI's Schedules page and `temporal schedule list` show them.
 *
 * A schedule keeps the experiment as it was read at `create` (the action's arguments): an edited file, such as a new
 * `engine.image`, reaches the schedule only through `create --replace` with the same id, which deletes the schedule
 * and creates it again from the file (a schedule's memo, which `list` reads, cannot be updated in place).
 */
import fs from 'node:fs';
import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleHandle,
  ScheduleNotFoundError,
  type ScheduleSummary,
} from '@temporalio/client';
import { comparedMetric, renderRegressionMarkdown } from '../../report/regression.js';
import { regressionHeadline, regressionJson } from '../../report/regression-view.js';
import { isPostgresUrl, openResultsStore } from '../../store/store.js';
import { WATCH_MEMO_KEY, type RegressionWatch } from '../../workflows/regression-watch.js';
import type { sweep } from '../../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../../workflows/task-queues.js';
import { type CliEnv, connectTemporal } from '../context.js';
import { EXIT_INFRA, EXIT_INVALID, ExitError } from '../errors.js';
import { loadExperiment } from '../experiment-file.js';
import { queueHasLivePoller } from '../sweeps.js';
import { splitList } from '../../parsers/parse-error.js';

/** What thorbench keeps in a schedule's memo, so `schedule list` can say what it watches. */
export const SCHEDULE_MEMO_KEY = 'thorbench';

export interface ScheduleMemo {
  experiment: string;
  file: string;
  cron: string;
  baseline: string;
  threshold: number | null;
  /** Metrics watched; null = every metric with a good direction. */
  metrics: string[] | null;
}

type Out = (line: string) => void;

/** Schedule ids name sweeps (`<id>-<time>`): the experiment name's characters. */
const SCHEDULE_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** `--threshold 5%` or `--threshold 0.05`: the relative change flagged where there are no repeats. */
/** `--metrics mean_tpot_ms,output_throughput`: the metrics watched, each one with a good direction. */
export function parseWatchedMetrics(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const metrics = splitList(value);
  const unknown = metrics.filter((m) => !comparedMetric(m));
  if (metrics.length === 0 || unknown.length > 0) {
    throw new ExitError(
      `--metrics takes vLLM metric names with a better direction, e.g. mean_tpot_ms,p99_ttft_ms,output_throughput` +
        (unknown.length > 0 ? ` (not one: ${unknown.join(', ')})` : ''),
      EXIT_INVALID,
    );
  }
  return [...new Set(metrics)];
}

export function parseThreshold(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  const t = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(t >= 0 && t < 1)) {
    throw new ExitError(
      `--threshold must be a percentage such as 5% or a fraction such as 0.05 (got "${value}")`,
      EXIT_INVALID,
    );
  }
  return t;
}

function scheduleIdOf(id: string): string {
  if (!SCHEDULE_ID.test(id)) {
    throw new ExitError(
      `schedule id "${id}" must be lower-case letters, digits, ".", "_" or "-" ` +
        '(1-63 chars, starting with a letter or digit)',
      EXIT_INVALID,
    );
  }
  return id;
}

/**
 * The server refuses what it cannot parse (a cron expression) with INVALID_ARGUMENT; the client turns an invalid
 * schedule spec into a TypeError carrying the server's words ("CronString does not have 5-7 fields").
 */
function isInvalidArgument(err: unknown): boolean {
  if (err instanceof TypeError) return true;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 3 || /invalid/i.test(e.message)) return true;
  }
  return false;
}

/** A baseline the local results database does not hold is refused; without a local database it cannot be checked. */
async function checkBaseline(env: CliEnv, baseline: string, err: Out): Promise<void> {
  if (!isPostgresUrl(env.results) && !fs.existsSync(env.results)) {
    err(
      `note: no results database at ${env.results} to check baseline "${baseline}" against; the sweep worker's is used`,
    );
    return;
  }
  const store = await openResultsStore(env.results, { readonly: true });
  try {
    if ((await store.getSweep(baseline)) === null) {
      const recent = (await store.listSweeps()).slice(0, 5).map((s) => s.sweepId);
      throw new ExitError(
        `baseline sweep "${baseline}" is not in ${store.location}` +
          (recent.length ? `; recent sweeps: ${recent.join(', ')}` : ''),
        EXIT_INVALID,
      );
    }
  } finally {
    await store.close();
  }
}

export async function scheduleCreate(opts: {
  file: string;
  cron: string | undefined;
  baseline: string | undefined;
  id: string | undefined;
  threshold: string | undefined;
  metrics: string | undefined;
  /** Replace a schedule of the same id instead of refusing. */
  replace?: boolean;
  env: CliEnv;
  out: Out;
  err: Out;
}): Promise<void> {
  if (!opts.cron)
    throw new ExitError('--cron "<expression>" is required, e.g. --cron "0 3 * * *" (03:00 UTC daily)', EXIT_INVALID);
  if (!opts.baseline)
    throw new ExitError(
      '--baseline <sweep-id> is required: the sweep each scheduled run is compared with',
      EXIT_INVALID,
    );
  const threshold = parseThreshold(opts.threshold);
  const metrics = parseWatchedMetrics(opts.metrics);
  const loaded = await loadExperiment(opts.file);
  const scheduleId = scheduleIdOf(opts.id ?? loaded.experiment.name);
  await checkBaseline(opts.env, opts.baseline, opts.err);
  const watch: RegressionWatch = {
    baseline: opts.baseline,
    ...(threshold === undefined ? {} : { threshold }),
    ...(metrics === undefined ? {} : { metrics }),
  };
  const memo: ScheduleMemo = {
    experiment: loaded.experiment.name,
    file: opts.file,
    cron: opts.cron,
    baseline: opts.baseline,
    threshold: threshold ?? null,
    metrics: metrics ?? null,
  };
  const cron = opts.cron;
  const conn = await connectTemporal(opts.env, { startServer: true });
  let replaced = false;
  const create = () =>
    conn.client.schedule.create<typeof sweep>({
      scheduleId,
      spec: { cronExpressions: [cron] },
      action: {
        type: 'startWorkflow',
        workflowType: 'sweep',
        // Temporal appends the scheduled time: each run is its own sweep, `<id>-2026-11-29T03:00:00Z`.
        workflowId: scheduleId,
        taskQueue: SWEEP_TASK_QUEUE,
        args: [loaded.raw],
        memo: { [WATCH_MEMO_KEY]: watch },
        staticSummary: `thorbench scheduled sweep ${loaded.experiment.name} (baseline ${opts.baseline})`,
      },
      // A run still going at the next time is not doubled up: one sweep at a time on the devices.
      policies: { overlap: 'SKIP', catchupWindow: '1 day' },
      memo: { [SCHEDULE_MEMO_KEY]: memo },
    });
  try {
    try {
      await create();
    } catch (e) {
      // The request is checked before the id (a bad cron is refused above): only a valid one replaces the old.
      if (!(e instanceof ScheduleAlreadyRunning) || opts.replace !== true) throw e;
      await conn.client.schedule.getHandle(scheduleId).delete();
      replaced = true;
      await create();
    }
  } catch (e) {
    if (e instanceof ScheduleAlreadyRunning) {
      throw new ExitError(
        `a schedule "${scheduleId}" already exists; pass --replace to replace it with this experiment, ` +
          `or --id for another schedule`,
        EXIT_INVALID,
      );
    }
    if (isInvalidArgument(e))
      throw new ExitError(
        `the Temporal server refused the schedule: ${(e as Error).message} (check --cron "${opts.cron}")`,
        EXIT_INVALID,
      );
    throw e;
  } finally {
    await conn.close();
  }
  opts.out(scheduleId);
  opts.err(
    `schedule ${scheduleId}${replaced ? ' (replaced)' : ''}: ${loaded.experiment.name} on "${opts.cron}" (UTC), ` +
      `compared with ${opts.baseline}`,
  );
}

function memoOf(s: { memo?: Record<string, unknown> }): ScheduleMemo | null {
  const m = s.memo?.[SCHEDULE_MEMO_KEY];
  return typeof m === 'object' && m !== null && typeof (m as ScheduleMemo).baseline === 'string'
    ? (m as ScheduleMemo)
    : null;
}

export async function scheduleList(opts: { json: boolean; env: CliEnv; out: Out }): Promise<void> {
  const conn = await connectTemporal(opts.env, { startServer: false });
  try {
    const rows: { id: string; paused: boolean; next: string | null; lastSweep: string | null; memo: ScheduleMemo }[] =
      [];
    for await (const s of conn.client.schedule.list() as AsyncIterable<ScheduleSummary>) {
      const memo = memoOf(s);
      if (memo === null) continue; // not a thorbench schedule
      const last = s.info.recentActions.at(-1)?.action.workflow.workflowId ?? null;
      rows.push({
        id: s.scheduleId,
        paused: s.state.paused,
        next: s.info.nextActionTimes[0]?.toISOString() ?? null,
        lastSweep: last,
        memo,
      });
    }
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (opts.json) {
      opts.out(
        JSON.stringify(
          rows.map((r) => ({ id: r.id, ...r.memo, paused: r.paused, nextRun: r.next, lastSweep: r.lastSweep })),
          null,
          2,
        ),
      );
      return;
    }
    if (rows.length === 0) {
      opts.out(
        'no thorbench schedules ' +
          '(create one: thorbench schedule create <experiment> --cron "0 3 * * *" --baseline <sweep-id>)',
      );
      return;
    }
    for (const r of rows) {
      const state = r.paused ? 'paused' : `next ${r.next ?? '—'}`;
      opts.out(
        `${r.id}  ${r.memo.experiment}  "${r.memo.cron}"  baseline ${r.memo.baseline}  ${state}  ` +
          `last sweep ${r.lastSweep ?? '—'}`,
      );
    }
  } finally {
    await conn.close();
  }
}

async function existing(client: Client, id: string): Promise<{ handle: ScheduleHandle; started: Set<string> }> {
  const handle = client.schedule.getHandle(id);
  try {
    const d = await handle.describe();
    const ids = [...d.info.recentActions.map((a) => a.action), ...d.info.runningActions].map(
      (a) => a.workflow.workflowId,
    );
    return { handle, started: new Set(ids) };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError)
      throw new ExitError(`no schedule "${id}" (see thorbench schedule list)`, EXIT_INVALID);
    throw e;
  }
}

/** The workflow id of the first run the schedule started that is not in `before`, once it has started one. */
async function newRun(handle: ScheduleHandle, before: Set<string>, waitMs: number): Promise<string | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const d = await handle.describe();
    const ids = [...d.info.runningActions, ...d.info.recentActions.map((a) => a.action)].map(
      (a) => a.workflow.workflowId,
    );
    const fresh = ids.find((id) => !before.has(id));
    if (fresh !== undefined) return fresh;
    if (Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function scheduleTrigger(opts: {
  id: string;
  wait: boolean;
  json: boolean;
  env: CliEnv;
  out: Out;
  err: Out;
}): Promise<void> {
  const conn = await connectTemporal(opts.env, { startServer: false });
  try {
    const { handle, started } = await existing(conn.client, opts.id);
    if (!(await queueHasLivePoller(conn.client, opts.env.namespace, SWEEP_TASK_QUEUE, 'workflow'))) {
      opts.err(
        `no worker is polling "${SWEEP_TASK_QUEUE}" yet: the sweep waits for one (start it with \`thorbench worker\`)`,
      );
    }
    // BUFFER_ONE: a scheduled sweep still running finishes first; two sweeps never share a device's engine.
    await handle.trigger('BUFFER_ONE');
    // Without --wait, a sweep held behind a running one is reported as triggered, not waited for.
    const sweepId = await newRun(handle, started, opts.wait ? Number.POSITIVE_INFINITY : 10_000);
    if (!opts.wait) {
      opts.out(sweepId ?? `triggered ${opts.id}; its sweep starts when the schedule's running sweep has finished`);
      return;
    }
    opts.err(`sweep ${sweepId!} started; waiting for it and its comparison`);
    const summary = await conn.client.workflow.getHandle<typeof sweep>(sweepId!).result();
    const outcome = summary.regression;
    if (outcome === undefined)
      throw new ExitError(
        `sweep ${sweepId!} finished without a comparison (started by a thorbench without the regression watch?)`,
        EXIT_INFRA,
      );
    if (outcome.kind === 'baseline-missing')
      throw new ExitError(`sweep ${sweepId!} finished, but ${outcome.message}`, EXIT_INFRA);
    const c = outcome.comparison;
    if (opts.json) {
      opts.out(JSON.stringify(regressionJson(c), null, 2));
      return;
    }
    opts.out(`sweep ${c.sweepId}: ${regressionHeadline(c)}`);
    opts.out('');
    opts.out(renderRegressionMarkdown(c).trimEnd());
  } finally {
    await conn.close();
  }
}

export async function schedulePause(opts: {
  id: string;
  pause: boolean;
  note: string | undefined;
  env: CliEnv;
  out: Out;
}): Promise<void> {
  const conn = await connectTemporal(opts.env, { startServer: false });
  try {
    const { handle } = await existing(conn.client, opts.id);
    if (opts.pause) await handle.pause(opts.note ?? 'paused with thorbench schedule pause');
    else await handle.unpause(opts.note ?? 'unpaused with thorbench schedule unpause');
    opts.out(`schedule ${opts.id} ${opts.pause ? 'paused' : 'unpaused'}`);
  } finally {
    await conn.close();
  }
}

export async function scheduleDelete(opts: { id: string; env: CliEnv; out: Out }): Promise<void> {
  const conn = await connectTemporal(opts.env, { startServer: false });
  try {
    const { handle } = await existing(conn.client, opts.id);
    await handle.delete();
    opts.out(`schedule ${opts.id} deleted (its sweeps and their results stay)`);
  } finally {
    await conn.close();
  }
}
