/**
 * A sweep of many cells through the real CLI (`thorbench run`) on the simulator's no-op device (sim/noop-device.ts),
 * against a dev server told to suggest continue-as-new after a few hundred events and to warn about histories at
 * twice that, the ratio of its defaults (4 Ki and 10 Ki events): the sweep crosses several runs, every cell is
 * recorded once, the progress query stays consistent and never goes back across runs, and no history grows past
 * the warning. The 5,000-cell run is `npm run bench:orchestration -- --cells 5000`, not a test.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { openResultsStore } from '../store/store.js';
import { progressQuery, type SweepProgress } from '../workflows/messages.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/files.js';
import { cellsExperiment, historyWarnings, sweepRuns } from './helpers/orchestration.js';
import { type TestServer, startTestServer } from './helpers/temporal.js';
import { sleep } from './helpers/wait.js';

const CELLS = 40;
const SUGGEST_AFTER_EVENTS = 120;
const WARN_AFTER_EVENTS = 300;
const FINISHED = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/** What a snapshot of the progress must say whatever the moment: counts that add up, one cell in flight at most. */
function checkSnapshot(p: SweepProgress): void {
  assert.equal(p.total, CELLS);
  assert.equal(p.cells.length, CELLS);
  const finished = p.cells.filter((c) => FINISHED.has(c.status)).length;
  const counted = Object.values(p.counts).reduce((a, b) => a + b, 0);
  assert.equal(p.done, finished, `done ${p.done} but ${finished} cells finished`);
  assert.equal(counted, p.done, `counts ${JSON.stringify(p.counts)} but done ${p.done}`);
  assert.ok(p.current.length <= 1, `one device runs one cell at a time: ${JSON.stringify(p.current)}`);
}

describe('a sweep across continue-as-new, through the CLI on the no-op simulator', { timeout: 240_000 }, () => {
  const dir = tempDir('sweep-scale');
  let server: TestServer;

  before(async () => {
    server = await startTestServer(path.join(dir, 'server'), [
      '--dynamic-config-value',
      `limit.historyCount.suggestContinueAsNew=${SUGGEST_AFTER_EVENTS}`,
      '--dynamic-config-value',
      `limit.historyCount.warn=${WARN_AFTER_EVENTS}`,
    ]);
  });

  after(async () => {
    await server?.stop();
  });

  it('records every cell once, and the progress query counts on across runs', async () => {
    const file = path.join(dir, 'scale.json');
    writeFileSync(file, JSON.stringify(cellsExperiment('scale', CELLS)));
    const sweepId = 'scale-1';
    const cli = runCli(['run', file, '--device', 'sim', '--id', sweepId], {
      env: {
        TEMPORAL_ADDRESS: server.server.address,
        THORBENCH_HOME: path.join(dir, 'home'),
        THORBENCH_RESULTS: path.join(dir, 'results'),
        THORBENCH_SIM_NOOP: '1',
      },
    });

    // Poll the progress as a user's `thorbench status` would while the sweep runs (the CLI's worker answers; it
    // stops when the CLI exits), noting which run of the sweep answered.
    const handle = server.client.workflow.getHandle(sweepId);
    const answeredBy = new Set<string>();
    let last: SweepProgress | null = null;
    let queryFailures = 0;
    for (;;) {
      let described;
      try {
        described = await handle.describe();
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        await sleep(100);
        continue;
      }
      if (described.status.name !== 'RUNNING') break;
      // A query can fail while the run it reached hands over to the next (continue-as-new) or while the CLI's busy
      // worker takes longer than the query's deadline: `thorbench status` asks again, and so does this loop.
      let p: SweepProgress;
      try {
        p = await handle.query(progressQuery);
        queryFailures = 0;
      } catch (err) {
        if (!(err instanceof ServiceError) || ++queryFailures > 50) throw err;
        await sleep(100);
        continue;
      }
      checkSnapshot(p);
      if (last) {
        assert.ok(p.done >= last.done, `done went back from ${last.done} to ${p.done}`);
        if (last.state !== 'starting') assert.notEqual(p.state, 'starting', 'a continued run is not starting');
      }
      last = p;
      answeredBy.add(described.runId);
      await sleep(100);
    }
    const ran = await cli;
    assert.equal(ran.code, 0, ran.stderr);
    const summary = await handle.result();
    assert.deepEqual(summary.counts, { succeeded: CELLS, failed: 0, skipped: 0, cancelled: 0 });

    const runs = await sweepRuns(server.client, sweepId);
    assert.ok(runs.length >= 3, `the sweep continued as new at least twice (${runs.length} runs)`);
    assert.ok(answeredBy.size >= 3, `the progress was read in ${answeredBy.size} runs`);

    // The CLI printed each cell once as it finished, from the same progress.
    // It asked for the cells finished since its last answer: their lines are numbered by the finish order, 1 to 40.
    const lines = ran.stderr.split('\n').flatMap((l) => {
      const m = /^\[(\d+)\/\d+\] succeeded (\S+)/.exec(l);
      return m ? [m] : [];
    });
    const printed = lines.map((m) => m[2]);
    assert.equal(printed.length, CELLS);
    assert.equal(new Set(printed).size, CELLS);
    assert.deepEqual(
      lines.map((m) => Number(m[1])),
      Array.from({ length: CELLS }, (_, i) => i + 1),
    );

    const store = await openResultsStore(path.join(dir, 'results', 'thorbench.db'));
    try {
      const cells = await store.listCells(sweepId);
      assert.equal(cells.length, CELLS);
      assert.deepEqual(await store.duplicateKeys(sweepId), []);
      assert.deepEqual(
        cells.map((c) => c.cellId).sort(),
        last!.cells.map((c) => c.id).sort(),
        'the records are the cells of the plan',
      );
      for (const c of cells) {
        assert.equal(c.status, 'succeeded', `${c.cellId}: ${c.failure?.message}`);
        assert.equal(c.simulated, true);
        assert.equal(c.harness?.command[0], 'thorbench-sim-noop');
        assert.ok(c.metrics!.output_throughput > 0);
      }
      // One engine served every cell: started and warmed up once, adopted by the rest across the runs.
      const warmed = cells.filter((c) => c.steps.some((s) => s.step === 'warmup' && s.result.kind === 'done'));
      assert.equal(warmed.length, 1);
    } finally {
      await store.close();
    }

    assert.ok(
      runs.every((r) => r.events < WARN_AFTER_EVENTS),
      `run histories: ${runs.map((r) => r.events).join(', ')} events`,
    );
    assert.deepEqual(historyWarnings(server.server.logFile), []);
  });
});
