/**
 * The whole sweep on the simulated Thor through a real Temporal server: every cell through every step, every
 * outcome recorded once, a crashing model recorded as a typed failure while the sweep goes on, and the same
 * experiment never run twice.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, it } from 'node:test';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { ExperimentInput } from '../schema/experiment.js';
import { listSimContainers } from '../sim/device.js';
import { progressQuery } from '../workflows/messages.js';
import type { sweep } from '../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';
import { useSimLab } from './helpers/sim-workers.js';
import { TEST_MODELS, simExperiment } from './helpers/experiment.js';
import { repoPath } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import type { TestServer } from './helpers/temporal.js';

/**
 * Saves histories for the replay test (test/replay.test.ts) as `<label>.<workflow id>.json`, '/' in workflow ids
 * becoming '~'. Earlier labels stay: they stand for sweeps started by older code that must still replay.
 */
async function recordHistories(server: TestServer, label: string, ids: string[]): Promise<void> {
  const dir = repoPath('test', 'histories');
  mkdirSync(dir, { recursive: true });
  for (const id of ids) {
    const history = await server.client.workflow
      .getHandle(id)
      .fetchHistory()
      .catch(() => null);
    if (history) writeFileSync(path.join(dir, `${label}.${id.replace(/\//g, '~')}.json`), historyToJSON(history));
  }
}

function experiment(port: number): ExperimentInput {
  return simExperiment('e2e-sim', port, {
    models: [
      { ...TEST_MODELS.fp8, size: '8.9G' },
      // The guide: FP4 "deploys, then the service crashes on the first request".
      { ...TEST_MODELS.fp4, env: { THORBENCH_SIM_FAULT: 'crash-on-first-request' } },
    ],
    scenarios: [{ name: 'tiny', inputLen: 64, outputLen: 8, numPrompts: 4, maxConcurrency: 2 }],
  });
}

describe('sweep on the simulated Thor', { timeout: 240_000 }, () => {
  const lab = useSimLab('sweep', { id: 'sim-e2e', speed: 4 });

  it('runs every cell through every step and records each outcome once', async () => {
    const port = await freePort();
    const handle = await lab.server.client.workflow.start<typeof sweep>('sweep', {
      taskQueue: SWEEP_TASK_QUEUE,
      workflowId: 'e2e-sim-1',
      args: [experiment(port)],
    });
    const summary = await handle.result();
    assert.equal(summary.cells, 4);
    assert.deepEqual(summary.counts, { succeeded: 2, failed: 1, skipped: 1, cancelled: 0 });

    const cells = await lab.sim.store.listCells('e2e-sim-1');
    assert.equal(cells.length, 4);
    assert.deepEqual(await lab.sim.store.duplicateKeys('e2e-sim-1'), []);

    for (const c of cells.filter((x) => x.modelId === 'qwen3-8b-fp8')) {
      assert.equal(c.status, 'succeeded', JSON.stringify(c.failure));
      assert.equal(c.simulated, true);
      assert.ok(c.metrics, 'metrics recorded');
      assert.equal(c.metrics.completed, 4);
      assert.equal(c.metrics.total_output_tokens, 32);
      assert.equal(c.metrics.total_input_tokens, 256);
      assert.ok(c.metrics.mean_ttft_ms! > 0 && c.metrics.mean_tpot_ms! > 0 && c.metrics.output_throughput > 0);
      assert.equal(c.device?.simulated, true);
      assert.equal(c.device?.powerModeName, 'MAXN');
      assert.equal(c.device?.clocksLocked, c.clocks === 'locked');
      assert.match(c.device?.l4tRelease ?? '', /^R38\./);
      assert.ok(c.engine?.command.includes('--served-model-name'));
      assert.match(
        c.engine?.version ?? '',
        /\+sim/,
        'the engine version is recorded, and the simulator says it is one',
      );
      const ran = c.steps.filter((s) => s.result.kind === 'done').map((s) => s.step);
      for (const step of [
        'ensurePowerMode',
        'ensureClocks',
        'describeDevice',
        'startEngine',
        'waitForHealth',
        'benchmark',
      ] as const)
        assert.ok(ran.includes(step), `${c.cellId} ran ${step}`);
      assert.ok(c.artifactsDir);
      // The default harness: vLLM's own `vllm bench serve` in the container, metrics from the JSON it saved, whose
      // per-request arrays are kept as an artifact.
      assert.equal(c.harness?.kind, 'vllm');
      assert.deepEqual(c.harness?.command.slice(0, 3), ['vllm', 'bench', 'serve']);
      assert.ok(c.harness?.command.includes('--save-detailed'));
      const saved = JSON.parse(readFileSync(path.join(c.artifactsDir, 'vllm-bench-result.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      assert.equal(saved.completed, c.metrics.completed);
      assert.equal(saved.mean_ttft_ms, c.metrics.mean_ttft_ms);
      assert.equal(saved.p90_itl_ms, (c.metrics as Record<string, unknown>).p90_itl_ms);
      assert.equal((saved.ttfts as number[]).length, 4);
      assert.equal((saved.itls as number[][]).flat().length, 4 * 7);
    }
    // The first cell loads the engine (flush, warm-up), the second reuses it, the last tears it down.
    const [first, second] = cells.filter((x) => x.modelId === 'qwen3-8b-fp8');
    assert.equal(first!.steps.find((s) => s.step === 'flushCaches')?.result.kind, 'done');
    assert.equal(first!.steps.find((s) => s.step === 'warmup')?.result.kind, 'done');
    assert.deepEqual(second!.steps.find((s) => s.step === 'warmup')?.result, {
      kind: 'skipped',
      reason: 'engine already warm',
    });
    assert.equal(second!.steps.find((s) => s.step === 'teardown')?.result.kind, 'done');
    // jetson_clocks makes the simulated engine faster, as on the real device.
    assert.ok(second!.metrics!.mean_tpot_ms! < first!.metrics!.mean_tpot_ms!, 'locked clocks give a lower TPOT');

    const crashed = cells.find((x) => x.modelId === 'qwen3-8b-fp4' && x.status === 'failed')!;
    assert.equal(crashed.failure?.type, 'EngineCrashed');
    assert.equal(crashed.failure?.retryable, false);
    assert.ok(crashed.engine?.logTail && crashed.engine.logTail.length > 0, 'log tail recorded');
    assert.equal(crashed.engine?.exitCode, 1);
    const skipped = cells.find((x) => x.modelId === 'qwen3-8b-fp4' && x.status === 'skipped')!;
    assert.equal(skipped.failure?.type, 'EngineFailed');

    // Nothing left running on the device.
    assert.deepEqual(
      listSimContainers(lab.sim.simDir).filter((c: { status: string }) => c.status === 'running'),
      [],
    );

    const progress = await handle.query(progressQuery);
    assert.equal(progress.done, 4);
    assert.equal(progress.state, 'completed');
    assert.equal(summary.reportCommand, 'thorbench report e2e-sim-1');

    // The embedded server registered the search attributes: the failed FP4 cell is found by them (visibility is
    // eventually consistent, so ask until it answers, within a bound).
    const query = 'ThorbenchSweep = "e2e-sim-1" AND ThorbenchCellStatus = "failed" AND ThorbenchQuantizations = "fp4"';
    const found: string[] = [];
    for (
      const deadline = Date.now() + 20_000;
      found.length === 0 && Date.now() < deadline;
      await new Promise((r) => setTimeout(r, 250))
    ) {
      for await (const wf of lab.server.client.workflow.list({ query })) found.push(wf.workflowId);
    }
    assert.deepEqual(found, [`e2e-sim-1/${crashed.cellId}`]);
    assert.equal((await lab.sim.store.getSweep('e2e-sim-1'))?.state, 'completed');

    const label = process.env.THORBENCH_RECORD_HISTORIES;
    if (label) await recordHistories(lab.server, label, ['e2e-sim-1', ...cells.map((c) => `e2e-sim-1/${c.cellId}`)]);
  });

  it('does not run a completed sweep again under the same id', async () => {
    await assert.rejects(
      lab.server.client.workflow.start<typeof sweep>('sweep', {
        taskQueue: SWEEP_TASK_QUEUE,
        workflowId: 'e2e-sim-1',
        args: [experiment(await freePort())],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      }),
      WorkflowExecutionAlreadyStartedError,
    );
  });

  it('fails an invalid experiment without running anything', async () => {
    const bad = {
      ...experiment(await freePort()),
      matrix: { ...experiment(1).matrix, model: [{ id: 'x', path: '../../etc', quantization: 'fp8' }] },
    };
    const handle = await lab.server.client.workflow.start('sweep', {
      taskQueue: SWEEP_TASK_QUEUE,
      workflowId: 'e2e-invalid',
      args: [bad],
    });
    await assert.rejects(handle.result(), (err: Error) =>
      /InvalidExperiment|invalid experiment/.test(`${err.message} ${(err as { cause?: Error }).cause?.message}`),
    );
    assert.equal((await lab.sim.store.listCells('e2e-invalid')).length, 0);
  });
});
