/**
 * The SLO capacity search in the sweep workflow, on a real Temporal server with in-memory devices whose p99 TTFT
 * grows with concurrency (test/helpers/mock-device.ts): the search finds the boundary on the running engine, a
 * search killed mid-way resumes without running a finished probe again, and one that crosses a continue-as-new
 * runs each probe once. The report reads the same capacity back from the recorded probes (report/capacity.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderSweepReport } from '../cli/commands/report.js';
import { type Capacity, sweepCapacities } from '../report/capacity.js';
import type { ExperimentInput } from '../schema/experiment.js';
import { progressQuery } from '../workflows/messages.js';
import type { sweep } from '../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';
import { Gate, MockDevice, latencyGrowingWith } from './helpers/mock-device.js';
import { SUGGEST_CONTINUE_AS_NEW, suiteWorkflowEnv } from './helpers/workflow-env.js';

const FP8 = { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', servedName: 'qwen3' } as const;
const CHAT_SLO = {
  name: 'chat-slo',
  inputLen: 64,
  outputLen: 8,
  numPrompts: 4,
  search: { vary: 'maxConcurrency', min: 1, max: 64, slo: { p99_ttft_ms: 350, p99_tpot_ms: 50 }, minRequests: 4 },
} as const;
const TINY = { name: 'tiny', inputLen: 64, outputLen: 8, numPrompts: 4, maxConcurrency: 2 } as const;
/** TTFT 20 ms + 30 ms per further concurrent request: 350 ms at 12, 380 ms at 13, so the capacity is 12. */
const LATENCY = latencyGrowingWith(20, 30);
const PROBE = (c: number) => `maxn.default.qwen3-8b-fp8.chat-slo.c${c}.r1`;
/** The search's probes for this boundary: 1 2 4 8 16 up, then 12 14 13 to bisect (8..16). */
const PROBES = [1, 2, 4, 8, 16, 12, 14, 13].map(PROBE);

function experiment(name: string, scenarios: ExperimentInput['matrix']['scenario']): ExperimentInput {
  return {
    name,
    device: { select: [name] },
    matrix: { power: [{ mode: 'MAXN' }], clocks: ['default'], model: [FP8], scenario: scenarios },
    warmup: { inputLen: 16, outputLen: 2, numPrompts: 1 },
    steps: { heartbeatTimeout: 2_000 },
  };
}

/** `thorbench report --format json`'s capacities, as the CLI renders them. */
async function reportedCapacities(w: ReturnType<typeof suiteWorkflowEnv>, sweepId: string): Promise<Capacity[]> {
  return (JSON.parse(await renderSweepReport(w.store, sweepId, 'json')) as { capacities: Capacity[] }).capacities;
}

const benchmarked = (dev: MockDevice) => dev.called('benchmark').map((c) => (c.input as { cellId: string }).cellId);

describe('SLO capacity search in the sweep', { timeout: 120_000 }, () => {
  const w = suiteWorkflowEnv();

  it('finds the highest concurrency meeting the SLOs on one engine, then runs the group on', async () => {
    const dev = new MockDevice('slo', { latency: LATENCY });
    const handle = await w.startSweep('slo-1', experiment('slo', [CHAT_SLO, TINY]));
    const summary = await dev.run(w.env.nativeConnection, handle.result());
    assert.deepEqual(benchmarked(dev), [...PROBES, 'maxn.default.qwen3-8b-fp8.tiny.r1']);
    assert.deepEqual(summary.counts, { succeeded: 9, failed: 0, skipped: 0, cancelled: 0 });
    assert.equal(dev.called('warmup').length, 1, 'every probe ran on the engine the first one started');
    assert.equal(dev.called('teardownEngine').length, 1, 'the last cell of the group tore the engine down');
    assert.equal(dev.called('teardownAllEngines').length, 0);
    const progress = await handle.query(progressQuery);
    assert.deepEqual([progress.total, progress.done], [9, 9]);
    // The search's state is the workflow's: its probes and capacity answer the progress query.
    assert.deepEqual(progress.searches, [
      {
        slot: 'maxn.default.qwen3-8b-fp8.chat-slo.search',
        probes: [1, 2, 4, 8, 16, 12, 14, 13].map((value) => ({ value, pass: value <= 12 })),
        capacity: 12,
      },
    ]);

    const [capacity, ...others] = sweepCapacities(
      (await w.store.getSweep('slo-1'))!.experimentJson,
      await w.store.listCells('slo-1'),
    );
    assert.equal(others.length, 0);
    assert.equal(capacity!.config, 'maxn.default.qwen3-8b-fp8');
    assert.equal(capacity!.value, 12);
    assert.equal(capacity!.complete, true);
    assert.deepEqual(capacity!.probes, PROBES);
    assert.equal(capacity!.metrics.p99_ttft_ms, 350);
    assert.deepEqual(
      capacity!.probeDetails.map((p) => p.pass),
      [true, true, true, true, false, true, false, false],
    );

    const capacities = await reportedCapacities(w, 'slo-1');
    assert.equal(capacities.length, 1);
    const entry = capacities[0]!;
    assert.deepEqual(Object.keys(entry), ['config', 'scenario', 'vary', 'value', 'outcome', 'metrics', 'probes']);
    assert.deepEqual(
      { ...entry, metrics: undefined },
      {
        config: 'maxn.default.qwen3-8b-fp8',
        scenario: 'chat-slo',
        vary: 'maxConcurrency',
        value: 12,
        outcome: 'found',
        metrics: undefined,
        probes: PROBES,
      },
    );
    assert.equal(entry.metrics.p99_ttft_ms, 350);

    const md = await renderSweepReport(w.store, 'slo-1', 'md');
    assert.match(
      md,
      /## Capacity\n\n### chat-slo\n\nHighest concurrency .* meeting p99_ttft_ms ≤ 350 ms and p99_tpot_ms ≤ 50 ms/,
    );
    assert.match(
      md,
      /\| maxn\.default\.qwen3-8b-fp8 \| 12 \| [\d.]+ \| 350\.00 \| 10\.00 \| 1✓ 2✓ 4✓ 8✓ 16✗ 12✓ 14✗ 13✗ \|/,
    );
    // The probes are not result rows: the tiny scenario is the only results section.
    assert.doesNotMatch(md.split('## Capacity')[0]!, /### chat-slo/);
    const html = await renderSweepReport(w.store, 'slo-1', 'html');
    assert.match(html, /<h2>Capacity<\/h2>/);
    assert.match(html, /<figure class="chart" id="chart-capacity"[^>]*><svg/);
  });

  it('with repeats, a probe passes only if the SLO holds at the upper bound of the 95 % CI', async () => {
    // Repeats 2 ms either side of the mean: t(0.975, 1) · sd / √2 = 12.706 · 2 ≈ 25.4 ms above the mean, so
    // concurrency 12 (mean 350 ms) misses the 350 ms SLO it would meet with one repeat; 11 (320 ms) still meets it.
    const dev = new MockDevice('slo-rep', {
      latency: (s, repeat) => ({ ttftMs: LATENCY(s).ttftMs + (repeat === 1 ? -2 : 2), tpotMs: 10 }),
    });
    const exp = { ...experiment('slo-rep', [CHAT_SLO]), repeats: 2 };
    const handle = await w.startSweep('slo-rep-1', exp);
    await dev.run(w.env.nativeConnection, handle.result());
    const loads = [1, 2, 4, 8, 16, 12, 10, 11];
    const ids = loads.flatMap((c) => [1, 2].map((r) => `maxn.default.qwen3-8b-fp8.chat-slo.c${c}.r${r}`));
    assert.deepEqual(benchmarked(dev), ids);
    const [capacity] = sweepCapacities(JSON.stringify(exp), await w.store.listCells('slo-rep-1'));
    assert.equal(capacity!.value, 11);
    assert.deepEqual(capacity!.probes, ids);
    assert.equal(capacity!.metrics.p99_ttft_ms, 320, 'the mean over the repeats at the capacity');
    const at12 = capacity!.probeDetails.find((p) => p.value === 12)!;
    assert.ok(Math.abs(at12.judged.p99_ttft_ms! - (350 + 12.706 * 2)) < 0.01, String(at12.judged.p99_ttft_ms));
  });

  it('an engine that fails in a search ends it and skips the rest of its group', async () => {
    const dev = new MockDevice('slo-broken', { latency: LATENCY, brokenModels: ['qwen3-8b-fp8'] });
    const exp = experiment('slo-broken', [CHAT_SLO, TINY]);
    const summary = await dev.run(w.env.nativeConnection, (await w.startSweep('slo-broken-1', exp)).result());
    assert.deepEqual(summary.counts, { succeeded: 0, failed: 1, skipped: 1, cancelled: 0 });
    assert.deepEqual(
      (await w.store.listCells('slo-broken-1')).map((c) => [c.cellId, c.status]),
      [
        [PROBE(1), 'failed'],
        ['maxn.default.qwen3-8b-fp8.tiny.r1', 'skipped'],
      ],
    );
    const md = await renderSweepReport(w.store, 'slo-broken-1', 'md');
    assert.match(md, /\| maxn\.default\.qwen3-8b-fp8 \| none: the minimum probe failed \| .* \| 1✗ \(failed\) \|/);
    const [capacity] = await reportedCapacities(w, 'slo-broken-1');
    assert.deepEqual(
      [capacity!.value, capacity!.outcome, capacity!.probes, capacity!.metrics],
      [null, 'probe-failed', [PROBE(1)], {}],
    );
  });

  it('even the minimum load misses the SLO: capacity null, below-min, the one probe named', async () => {
    // TTFT 400 ms at concurrency 1, beyond the 350 ms SLO.
    const dev = new MockDevice('slo-none', { latency: latencyGrowingWith(400, 30) });
    const exp = experiment('slo-none', [CHAT_SLO]);
    const summary = await dev.run(w.env.nativeConnection, (await w.startSweep('slo-none-1', exp)).result());
    assert.deepEqual(summary.counts, { succeeded: 1, failed: 0, skipped: 0, cancelled: 0 });
    assert.deepEqual(benchmarked(dev), [PROBE(1)]);
    const [capacity, ...others] = await reportedCapacities(w, 'slo-none-1');
    assert.equal(others.length, 0);
    assert.deepEqual(
      { ...capacity },
      {
        config: 'maxn.default.qwen3-8b-fp8',
        scenario: 'chat-slo',
        vary: 'maxConcurrency',
        value: null,
        outcome: 'below-min',
        metrics: {},
        probes: [PROBE(1)],
      },
    );
    const md = await renderSweepReport(w.store, 'slo-none-1', 'md');
    assert.match(md, /\| maxn\.default\.qwen3-8b-fp8 \| none: the minimum misses \| — \| — \| — \| 1✗ \|/);
  });

  it('cancelled mid-search: the probe in flight is recorded as cancelled, the engine torn down', async () => {
    const gate = new Gate();
    const dev = new MockDevice('slo-cancel', { latency: LATENCY, benchmarkGates: new Map([[PROBE(4), gate]]) });
    const handle = await w.startSweep('slo-cancel-1', experiment('slo-cancel', [CHAT_SLO]));
    const ended = dev.run(
      w.env.nativeConnection,
      handle.result().catch(() => null),
    );
    await gate.reached;
    await handle.cancel();
    await ended;
    assert.deepEqual(
      (await w.store.listCells('slo-cancel-1')).map((c) => [c.cellId, c.status]),
      [
        [PROBE(1), 'succeeded'],
        [PROBE(2), 'succeeded'],
        [PROBE(4), 'cancelled'],
      ],
    );
    assert.equal(dev.engine, null, 'no engine left running');
    // The cancelled probe is no measurement: the search is unfinished at the probes before it.
    const [capacity] = await reportedCapacities(w, 'slo-cancel-1');
    assert.deepEqual(
      [capacity!.value, capacity!.outcome, capacity!.probes],
      [null, 'unfinished', [PROBE(1), PROBE(2)]],
    );
  });

  it('a search killed mid-way resumes under its id without running a finished probe again', async () => {
    const gate = new Gate();
    const first = new MockDevice('slo-kill', { latency: LATENCY, benchmarkGates: new Map([[PROBE(16), gate]]) });
    const exp = experiment('slo-kill', [CHAT_SLO]);
    const handle = await w.startSweep('slo-kill-1', exp);
    const ended = first.run(
      w.env.nativeConnection,
      handle.result().catch(() => null),
    );
    await gate.reached;
    await handle.terminate('killed mid-search by the test');
    gate.release();
    await ended;
    assert.deepEqual(benchmarked(first), PROBES.slice(0, 5));
    assert.deepEqual(
      (await w.store.listCells('slo-kill-1')).map((c) => c.cellId),
      PROBES.slice(0, 4),
      'the probe in flight was never recorded',
    );

    // A new device worker (the old engine is gone) and the sweep started again under the same id.
    const second = new MockDevice('slo-kill', { latency: LATENCY });
    const again = await w.startSweep('slo-kill-1', exp);
    const summary = await second.run(w.env.nativeConnection, again.result());
    assert.deepEqual(benchmarked(second), PROBES.slice(4), 'the recorded probes were read back, not run again');
    assert.equal(summary.counts.succeeded, 8);
    assert.equal(second.called('teardownAllEngines').length, 1, 'the search ended its engine group: engine gone');
    assert.equal(second.engine, null);
    const [capacity] = sweepCapacities(JSON.stringify(exp), await w.store.listCells('slo-kill-1'));
    assert.equal(capacity!.value, 12);
    assert.deepEqual(capacity!.probes, PROBES);
  });
});

describe('SLO capacity search across continue-as-new', { timeout: 120_000 }, () => {
  const w = suiteWorkflowEnv(SUGGEST_CONTINUE_AS_NEW);

  it('runs each probe once and keeps the engine when the sweep continues as new mid-search', async () => {
    const dev = new MockDevice('slo-can', { latency: LATENCY });
    const handle = await w.env.client.workflow.start<typeof sweep>('sweep', {
      taskQueue: SWEEP_TASK_QUEUE,
      workflowId: 'slo-can-1',
      args: [experiment('slo-can', [CHAT_SLO])],
    });
    const summary = await dev.run(w.env.nativeConnection, handle.result());
    assert.notEqual((await handle.describe()).runId, handle.firstExecutionRunId, 'the sweep continued as new');
    assert.deepEqual(benchmarked(dev), PROBES, 'each probe once, in the search order');
    assert.equal(summary.counts.succeeded, 8);
    assert.equal(dev.called('warmup').length, 1, 'one engine across the runs');
    const progress = await handle.query(progressQuery);
    assert.deepEqual([progress.total, progress.done], [8, 8]);
    const recorded = (await w.store.getSweep('slo-can-1'))!;
    const [capacity] = sweepCapacities(recorded.experimentJson, await w.store.listCells('slo-can-1'));
    assert.equal(capacity!.value, 12);
  });
});
