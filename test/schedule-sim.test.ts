/**
 * Scheduled regression watch end to end, on a real Temporal dev server with the simulated Thor: a baseline sweep,
 * then schedules created with the CLI (they show in the real `temporal schedule list`), triggered with
 * `thorbench schedule trigger --wait --json`. The same experiment reports no regression; with the simulator's
 * `slowdown:1.25` fault on the model it reports regressions (latencies up, throughput down by about that factor),
 * sets ThorbenchRegression = true on the sweep, and the report shows the verdict.
 *
 * Noise: each run is 16 requests of 32 tokens at concurrency 4, compared without repeats against a 15 % threshold
 * on the per-token latencies (`--metrics`). On a shared 2-core machine, two runs of the same experiment differed by
 * up to 7 % in mean TPOT/ITL (and by up to 30 % in TTFT percentiles and 10 % in throughput, which are therefore not
 * watched here), while the 1.25× slowdown moved them by +25 % to +48 %.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type TestContext, after, before, describe, it } from 'node:test';
import { SCHEDULE_MEMO_KEY, type ScheduleMemo, scheduleCreate } from '../cli/commands/schedule.js';
import { cliEnv } from '../cli/context.js';
import { EXIT_INVALID, ExitError } from '../cli/errors.js';
import { compareToBaseline } from '../report/regression.js';
import type { RegressionJson } from '../report/regression-view.js';
import { findTemporalCli } from '../server/temporal-cli.js';
import type { sweep } from '../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';
import { runCli } from './helpers/cli.js';
import { simExperiment, TEST_MODELS } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { type SimWorkers, startSimWorkers } from './helpers/sim-workers.js';
import { type TestServer, startTestServer } from './helpers/temporal.js';
import { waitFor } from './helpers/wait.js';

const BASELINE = 'watch-baseline';
const SCENARIO = { name: 'chat', inputLen: 128, outputLen: 32, numPrompts: 16, maxConcurrency: 4 };
const WATCHED = ['mean_tpot_ms', 'median_tpot_ms', 'mean_itl_ms'];

describe('scheduled regression watch on the simulated Thor', { timeout: 300_000 }, () => {
  let server: TestServer;
  let sim: SimWorkers;
  let dir: string;
  let env: Record<string, string>;
  let port: number;

  /** The experiment file of a schedule, with the model's THORBENCH_SIM_FAULT when given. */
  function experimentFile(name: string, fault?: string): string {
    const model = fault ? { ...TEST_MODELS.fp8, env: { THORBENCH_SIM_FAULT: fault } } : TEST_MODELS.fp8;
    const exp = simExperiment('watch', port, { clocks: ['locked'], models: [model], scenarios: [SCENARIO] });
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(exp));
    return file;
  }

  async function trigger(id: string, t: TestContext): Promise<RegressionJson> {
    const r = await runCli(['schedule', 'trigger', id, '--wait', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as RegressionJson;
    // Every change, flagged or not, so a run shows how far from the threshold it was.
    const read = async (sweepId: string) => ({
      sweep: (await sim.store.getSweep(sweepId))!,
      cells: await sim.store.listCells(sweepId),
    });
    const all = compareToBaseline(await read(json.sweepId), await read(BASELINE), { threshold: 0 });
    const changes = [...all.regressions, ...all.improvements].map((c) => `${c.metric} ${(c.change * 100).toFixed(1)}%`);
    t.diagnostic(`${json.sweepId} vs ${BASELINE}: ${changes.join(', ')}`);
    return json;
  }

  async function create(id: string, fault?: string): Promise<void> {
    const args = ['schedule', 'create', experimentFile(id, fault), '--cron', '0 3 * * *'];
    const watch = ['--baseline', BASELINE, '--id', id, '--threshold', '15%', '--metrics', WATCHED.join(',')];
    const r = await runCli([...args, ...watch], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), id);
  }

  before(async () => {
    server = await startTestServer();
    dir = tempDir('schedule');
    port = await freePort();
    sim = await startSimWorkers(server, dir, { id: 'sim-watch', speed: 2 });
    env = { TEMPORAL_ADDRESS: server.server.address, THORBENCH_RESULTS: path.join(dir, 'results') };
    const exp = simExperiment('watch', port, { clocks: ['locked'], models: [TEST_MODELS.fp8], scenarios: [SCENARIO] });
    const handle = await server.client.workflow.start<typeof sweep>('sweep', {
      taskQueue: SWEEP_TASK_QUEUE,
      workflowId: BASELINE,
      args: [exp],
    });
    const result = await handle.result();
    assert.equal(result.counts.succeeded, 1);
    assert.equal(result.regression, undefined, 'a sweep without a baseline is not compared');
  });

  after(async () => {
    await sim?.stop();
    await server?.stop();
  });

  it('creates a Temporal Schedule that the temporal CLI lists, and refuses an unknown baseline', async () => {
    await create('watch-same');
    const cli = await findTemporalCli();
    assert.ok(cli, 'the Temporal CLI (scripts/ensure-temporal-cli.sh)');
    const list = await promisify(execFile)(cli, [
      'schedule',
      'list',
      '--address',
      server.server.address,
      '--output',
      'json',
    ]);
    const listed = (JSON.parse(list.stdout) as { scheduleId: string }[]).map((s) => s.scheduleId);
    assert.ok(listed.includes('watch-same'), `temporal schedule list: ${listed.join(', ')}`);

    const mine = await runCli(['schedule', 'list', '--json'], { env });
    assert.equal(mine.code, 0, mine.stderr);
    const row = (JSON.parse(mine.stdout) as { id: string; baseline: string; cron: string; paused: boolean }[])[0]!;
    assert.deepEqual([row.id, row.baseline, row.cron, row.paused], ['watch-same', BASELINE, '0 3 * * *', false]);

    const unknown = await runCli(
      ['schedule', 'create', experimentFile('x'), '--cron', '0 3 * * *', '--baseline', 'no-such-sweep'],
      { env },
    );
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /baseline sweep "no-such-sweep" is not in/);
  });

  it('triggered without a fault, reports no regression against the baseline', async (t) => {
    const r = await trigger('watch-same', t);
    assert.deepEqual(Object.keys(r), ['sweepId', 'baseline', 'regressions', 'improvements']);
    assert.match(r.sweepId, /^watch-same-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(r.baseline, BASELINE);
    assert.deepEqual(r.regressions, [], JSON.stringify(r.regressions));
    assert.deepEqual(r.improvements, [], JSON.stringify(r.improvements));
    const verdict = await sim.store.getRegression(r.sweepId);
    assert.equal(verdict?.regression, false);
    assert.deepEqual(verdict?.comparison.compared, ['maxn.locked.qwen3-8b-fp8.chat']);
  });

  it('triggered with the slowdown:1.25 fault, reports the regression and marks the sweep', async (t) => {
    await create('watch-slow', 'slowdown:1.25');
    const r = await trigger('watch-slow', t);
    assert.match(r.sweepId, /^watch-slow-/);
    const byMetric = new Map(r.regressions.map((c) => [c.metric, c]));
    assert.deepEqual([...byMetric.keys()].sort(), [...WATCHED].sort(), JSON.stringify(r.regressions));
    // Every step takes 1.25× as long: each per-token latency grows by at least about a quarter.
    const tpot = byMetric.get('mean_tpot_ms')!;
    assert.deepEqual(Object.keys(tpot), ['cell', 'metric', 'baseline', 'value', 'change']);
    assert.equal(tpot.cell, 'maxn.locked.qwen3-8b-fp8.chat');
    assert.ok(tpot.change > 0.15, `TPOT change ${tpot.change}`);
    assert.deepEqual(r.improvements, []);

    const flagged = await waitFor(
      'the sweep in visibility with ThorbenchRegression = true',
      async () => {
        const ids: string[] = [];
        const query = 'ThorbenchRegression = true';
        for await (const w of server.client.workflow.list({ query })) ids.push(w.workflowId);
        return ids.includes(r.sweepId) ? ids : undefined;
      },
      10_000,
      250,
    );
    assert.deepEqual(flagged, [r.sweepId]);

    const report = await runCli(['report', r.sweepId], { env });
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, new RegExp(`## Regression check: ${r.sweepId} against ${BASELINE}`));
    assert.match(
      report.stdout,
      new RegExp(`\\*\\*${WATCHED.length} regression\\(s\\)\\*\\* and 0 improvement\\(s\\) over 1 cell\\(s\\)`),
    );
    const json = await runCli(['report', r.sweepId, '--format', 'json'], { env });
    const { regression } = JSON.parse(json.stdout) as { regression: { baseline: string; regressions: unknown[] } };
    assert.deepEqual([regression.baseline, regression.regressions.length], [BASELINE, WATCHED.length]);
  });

  it('keeps the experiment of create; create --replace with the same id takes the edited file', async () => {
    const file = experimentFile('watch-edit');
    // In process (no CLI start-up) but for the last call, which shows the option through the command line.
    const createHere = (cron: string, replace: boolean) =>
      scheduleCreate({
        ...{ file, cron, baseline: BASELINE, id: 'watch-edit', threshold: '15%', metrics: WATCHED.join(','), replace },
        ...{ env: cliEnv({ ...process.env, ...env }), out: () => {}, err: () => {} },
      });
    const refused = (pattern: RegExp) => (e: unknown) =>
      e instanceof ExitError && e.exitCode === EXIT_INVALID && pattern.test(e.message);
    await createHere('0 3 * * *', false);
    const edited = JSON.parse(readFileSync(file, 'utf8')) as { engine: Record<string, unknown> };
    edited.engine.image = 'vllm/vllm-openai:v0.12.0';
    writeFileSync(file, JSON.stringify(edited));
    const handle = server.client.schedule.getHandle('watch-edit');
    /** The image the schedule's sweeps run, and the cron its memo shows in `schedule list`. */
    const held = async () => {
      const { action, memo } = await handle.describe();
      assert.equal(action.type, 'startWorkflow');
      const image = (action.args?.[0] as { engine: { image?: string } }).engine.image;
      return [image, (memo?.[SCHEDULE_MEMO_KEY] as ScheduleMemo).cron];
    };
    assert.deepEqual(await held(), [undefined, '0 3 * * *'], 'the experiment as it was at create');

    await assert.rejects(
      createHere('0 3 * * *', false),
      refused(/a schedule "watch-edit" already exists; pass --replace/),
    );
    // A request the server refuses replaces nothing.
    await assert.rejects(createHere('every night', true), refused(/check --cron "every night"/));
    assert.deepEqual(await held(), [undefined, '0 3 * * *']);

    const replaced = await runCli(
      ['schedule', 'create', file, '--cron', '0 4 * * *', '--baseline', BASELINE, '--id', 'watch-edit', '--replace'],
      { env },
    );
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stderr, /schedule watch-edit \(replaced\): watch on "0 4 \* \* \*"/);
    assert.deepEqual(await held(), ['vllm/vllm-openai:v0.12.0', '0 4 * * *']);
    await handle.delete();
  });

  it('pauses, unpauses and deletes a schedule', async () => {
    for (const [sub, expected] of [
      ['pause', /schedule watch-slow paused/],
      ['unpause', /schedule watch-slow unpaused/],
      ['delete', /schedule watch-slow deleted/],
    ] as const) {
      const r = await runCli(['schedule', sub, 'watch-slow'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, expected);
    }
    const gone = await runCli(['schedule', 'trigger', 'watch-slow'], { env });
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /no schedule "watch-slow"/);
  });
});
