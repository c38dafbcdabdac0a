/**
 * The sweep's regression watch on a real Temporal server with an in-memory device (test/helpers/mock-device.ts): a
 * sweep whose memo names a baseline compares itself with it after its last cell, records the verdict, sets
 * ThorbenchRegression and returns the comparison; a missing baseline is said plainly, a malformed watch fails the
 * sweep before any cell, and a sweep without one is not compared. Deterministic: the mock's metrics are fixed, and a
 * "faster" baseline is made from them in the results store.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { metricDirection } from '../report/configurations.js';
import type { ExperimentInput } from '../schema/experiment.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import { WATCH_MEMO_KEY } from '../workflows/regression-watch.js';
import type { sweep } from '../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';
import { repoPath } from './helpers/files.js';
import { MockDevice } from './helpers/mock-device.js';
import { waitFor } from './helpers/wait.js';
import { type WorkflowEnv, startWorkflowEnv } from './helpers/workflow-env.js';

const FP8 = { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', servedName: 'qwen3' } as const;
const CELL = 'maxn.locked.qwen3-8b-fp8.tiny';

function experiment(): ExperimentInput {
  return {
    name: 'watch',
    device: { select: ['watch-dev'] },
    matrix: {
      power: [{ mode: 'MAXN' }],
      clocks: ['locked'],
      model: [FP8],
      scenario: [{ name: 'tiny', inputLen: 64, outputLen: 8, numPrompts: 4, maxConcurrency: 2 }],
    },
    steps: { heartbeatTimeout: 2_000 },
  };
}

describe('the sweep compares itself with a baseline', { timeout: 120_000 }, () => {
  let w: WorkflowEnv;
  const dev = new MockDevice('watch-dev', { powerModeId: 0 });

  const run = (id: string, memo?: Record<string, unknown>) =>
    w.env.client.workflow
      .start<typeof sweep>('sweep', { taskQueue: SWEEP_TASK_QUEUE, workflowId: id, args: [experiment()], memo })
      .then((h) => dev.run(w.env.nativeConnection, h.result()));

  before(async () => {
    w = await startWorkflowEnv();
    const base = await run('base-1');
    assert.equal(base.regression, undefined, 'a sweep without a baseline is not compared');
    // A baseline 25 % better on every metric with a direction: against it, the same device regresses.
    const better = (key: string, v: number) => {
      const d = metricDirection(key);
      return d === 'higher' ? v * 1.25 : d === 'lower' ? v / 1.25 : v;
    };
    await w.store.upsertSweep({ ...(await w.store.getSweep('base-1'))!, sweepId: 'base-fast', workflowId: null });
    for (const c of await w.store.listCells('base-1')) {
      const entries = Object.entries(c.metrics!).map(([k, v]) => [k, typeof v === 'number' ? better(k, v) : v]);
      await w.store.recordCell({
        ...c,
        sweepId: 'base-fast',
        metrics: Object.fromEntries(entries) as BenchmarkMetrics,
      });
    }
  });
  after(async () => {
    await w?.stop();
  });

  async function regressionAttribute(id: string): Promise<unknown> {
    return waitFor(
      `ThorbenchRegression on ${id}`,
      async () => {
        const d = await w.env.client.workflow.getHandle(id).describe();
        return d.searchAttributes.ThorbenchRegression?.[0];
      },
      10_000,
      100,
    );
  }

  it('against the same numbers: compared, no regression, ThorbenchRegression false', async () => {
    const summary = await run('watch-same', { [WATCH_MEMO_KEY]: { baseline: 'base-1' } });
    assert.equal(summary.regression?.kind, 'compared');
    const cmp = summary.regression.kind === 'compared' ? summary.regression.comparison : null;
    assert.deepEqual(cmp?.compared, [CELL]);
    assert.deepEqual([cmp?.regressions, cmp?.improvements], [[], []]);
    assert.equal(await regressionAttribute('watch-same'), false);
    assert.equal((await w.store.getRegression('watch-same'))?.regression, false);
  });

  it('against a faster baseline: regressions recorded, ThorbenchRegression true, in the memo too', async () => {
    const summary = await run('watch-slow', { [WATCH_MEMO_KEY]: { baseline: 'base-fast', threshold: 0.1 } });
    assert.ok(summary.regression?.kind === 'compared');
    const { regressions, threshold } = summary.regression.comparison;
    assert.equal(threshold, 0.1);
    const tpot = regressions.find((r) => r.metric === 'mean_tpot_ms');
    assert.ok(tpot && Math.abs(tpot.change - 0.25) < 1e-9, JSON.stringify(tpot));
    assert.ok(regressions.some((r) => r.metric === 'output_throughput' && Math.abs(r.change + 0.2) < 1e-9));
    assert.equal(await regressionAttribute('watch-slow'), true);
    const memo = (await w.env.client.workflow.getHandle('watch-slow').describe()).memo?.thorbenchRegression;
    assert.deepEqual(memo, {
      baseline: 'base-fast',
      regressions: regressions.length,
      improvements: 0,
      imageBump: null,
    });
    assert.equal((await w.store.getRegression('watch-slow'))?.regression, true);
    // THORBENCH_RECORD_HISTORIES=<label>: keep this history for test/replay.test.ts (the watched path's commands).
    const label = process.env.THORBENCH_RECORD_HISTORIES;
    if (label) {
      const history = await w.env.client.workflow.getHandle('watch-slow').fetchHistory();
      writeFileSync(repoPath('test', 'histories', `${label}.watch-slow.json`), historyToJSON(history));
    }
  });

  it('says plainly when the baseline is not in the results database', async () => {
    const summary = await run('watch-none', { [WATCH_MEMO_KEY]: { baseline: 'no-such-sweep' } });
    assert.equal(summary.counts.succeeded, 1, "the sweep's own results stand");
    assert.equal(summary.regression?.kind, 'baseline-missing');
    assert.match(
      JSON.stringify(summary.regression),
      /baseline sweep \\"no-such-sweep\\" is not in the results database/,
    );
  });

  it('fails a sweep with a malformed watch before it runs a cell', async () => {
    const benchmarks = dev.called('benchmark').length;
    await assert.rejects(run('watch-bad', { [WATCH_MEMO_KEY]: { baseline: 'base-1', threshold: 5 } }), (e) => {
      assert.ok(e instanceof WorkflowFailedError);
      assert.match(String(e.cause?.message), /threshold must be a fraction from 0 to below 1/);
      return true;
    });
    assert.equal(dev.called('benchmark').length, benchmarks);
  });
});
