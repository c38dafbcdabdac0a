/**
 * Determinism guard: histories recorded from real sweeps on the simulator (test/histories/*.json, written by
 * `THORBENCH_RECORD_HISTORIES=<label> node --test dist/test/sweep-sim.test.js`) are replayed through the current workflow code. A change that would
 * break sweeps already running on a device fails here. Needs no server.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../workers/bundle.js';
import { repoPath } from './helpers/files.js';

const dir = repoPath('test', 'histories');

function histories() {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      // <label>.<workflow id with '/' as '~'>.json: the sweep derives its cells' ids from its own workflow id.
      const name = path.basename(f, '.json');
      const workflowId = name.slice(name.indexOf('.') + 1).replace(/~/g, '/');
      return { file: f, workflowId, history: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) };
    });
}

describe('replay of recorded sweep histories', { timeout: 120_000 }, () => {
  it('has recorded sweep and cell histories to replay', () => {
    const all = histories();
    assert.ok(
      all.some((h) => !h.workflowId.includes('/')),
      'a sweep history',
    );
    assert.ok(
      all.some((h) => h.workflowId.includes('/')),
      'a cell history',
    );
    assert.ok(
      new Set(all.map((h) => h.file.split('.')[0])).size >= 2,
      'histories from more than one version of the code',
    );
  });

  it('replays every history without non-determinism', async () => {
    const bundle = await workflowBundle();
    let replayed = 0;
    const all = histories().map(({ workflowId, history }) => ({ workflowId, history }));
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: bundle, replayName: 'thorbench-replay' },
      all,
    )) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
      replayed++;
    }
    assert.equal(replayed, histories().length);
  });

  it('detects a change that breaks running sweeps', async () => {
    // A history whose recorded activity no longer matches the code: replay must fail, or the guard guards nothing.
    const cell = histories().find((h) => h.workflowId.includes('/'));
    assert.ok(cell);
    const tampered = structuredClone(cell.history);
    const scheduled = tampered.events.find(
      (e: { activityTaskScheduledEventAttributes?: { activityType?: { name: string } } }) =>
        e.activityTaskScheduledEventAttributes,
    );
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'somethingElse';
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, tampered, cell.workflowId),
    );
  });
});
