/**
 * Long sweeps stay under Temporal's history limits by continuing as new. A server told to suggest that after a few
 * dozen events makes a 6-cell sweep cross runs: it must still finish with every cell recorded once, and the real
 * engine adopted across the boundary. test/workflows.test.ts shows the carried progress itself, with in-memory devices.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ResultsStore } from '../store/store.js';
import type { sweep } from '../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';
import { type SimWorkers, startSimWorkers } from './helpers/sim-workers.js';
import { simExperiment } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { type TestServer, startTestServer } from './helpers/temporal.js';

describe('continue-as-new', { timeout: 300_000 }, () => {
  const dir = tempDir('can');
  let server: TestServer;
  let sim: SimWorkers;
  let store: ResultsStore;

  before(async () => {
    server = await startTestServer(path.join(dir, 'server'), [
      '--dynamic-config-value',
      'limit.historyCount.suggestContinueAsNew=40',
    ]);
    sim = await startSimWorkers(server, dir, { id: 'sim-can', speed: 8 });
    store = sim.store;
  });

  after(async () => {
    await sim?.stop();
    await server?.stop();
  });

  it('finishes a sweep that crosses runs, every cell recorded once', async () => {
    const handle = await server.client.workflow.start<typeof sweep>('sweep', {
      taskQueue: SWEEP_TASK_QUEUE,
      workflowId: 'can-1',
      args: [
        simExperiment('can', await freePort(), { warmup: { inputLen: 16, outputLen: 2, numPrompts: 1 }, repeats: 3 }),
      ],
    });
    const summary = await handle.result();
    assert.deepEqual(summary.counts, { succeeded: 6, failed: 0, skipped: 0, cancelled: 0 });
    const lastRun = (await handle.describe()).runId;
    assert.notEqual(lastRun, handle.firstExecutionRunId, 'the sweep continued as new at least once');
    assert.equal(await store.countRows('can-1'), 6);
    assert.deepEqual(await store.duplicateKeys('can-1'), []);
    // One engine served all six cells across the runs: adopted, not restarted.
    const starts = (await store.listCells('can-1')).filter((c) =>
      c.steps.some((s) => s.step === 'warmup' && s.result.kind === 'done'),
    );
    assert.equal(starts.length, 1, `engine warmed up ${starts.length} times`);
  });
});
