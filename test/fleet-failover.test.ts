/**
 * Failover on a fleet of simulated Thors (docs/architecture.md, "Failover"): three device worker processes, one of
 * them SIGKILLed for good mid-sweep together with its engines. Its engine group moves to the other devices, every
 * cell is recorded once (one row; no cell but the one in flight runs again) and succeeds, and the moved cells say
 * which device they left and why.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { after, before, describe, it } from 'node:test';
import { planSweep } from '../plan/plan.js';
import { Experiment, type ExperimentInput } from '../schema/experiment.js';
import { progressQuery } from '../workflows/messages.js';
import { repoJson, repoPath, tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { waitFor } from './helpers/wait.js';
import { processesUsingSimDir } from './helpers/worker-process.js';
import { sweepRuns } from './helpers/orchestration.js';
import { type SimFleet, startSimFleet } from './helpers/sim-fleet.js';

const DEVICES = ['thor-a', 'thor-b', 'thor-c'];
const LOST = 'thor-b';

/**
 * With THORBENCH_RECORD_HISTORIES=<label>, keeps the sweep's history and every run of its cells in test/histories
 * for test/replay.test.ts: a cell's first run on the lost device goes under `<label>-lost`, since the file name
 * carries only the workflow id.
 */
async function recordHistories(
  server: SimFleet['server'],
  label: string,
  sweepId: string,
  cellIds: string[],
): Promise<void> {
  const dir = repoPath('test', 'histories');
  mkdirSync(dir, { recursive: true });
  const write = (l: string, id: string, history: Parameters<typeof historyToJSON>[0]) =>
    writeFileSync(path.join(dir, `${l}.${id.replace(/\//g, '~')}.json`), historyToJSON(history));
  write(label, sweepId, await server.client.workflow.getHandle(sweepId).fetchHistory());
  for (const id of cellIds) {
    const runs = (await sweepRuns(server.client, id)).map((r) => r.runId);
    for (const runId of runs) {
      const history = await server.client.workflow.getHandle(id, runId).fetchHistory();
      const lost = runs.length > 1 && (history.events ?? []).some((e) => e.activityTaskTimedOutEventAttributes);
      write(lost ? `${label}-lost` : label, id, history);
    }
  }
}

describe('failover on a fleet of simulated Thors', { timeout: 180_000 }, () => {
  let fleet: SimFleet;
  before(async () => {
    fleet = await startSimFleet(tempDir('fleet-failover'));
    for (const id of DEVICES) fleet.addDevice(id, 4);
  });
  after(() => fleet?.stop());

  it('loses one device for good mid-sweep: every cell recorded once and succeeded, the moved cells say so', async () => {
    // experiments/fleet-sim.json, tiny: two engine groups (models) of two cells, on thor-a and thor-b; thor-c has
    // none, so thor-b's group moves to a device with an empty queue (thor-c, or thor-a if it is done by then).
    const exp = structuredClone(repoJson('experiments', 'fleet-sim.json')) as ExperimentInput;
    exp.matrix.model = exp.matrix.model.slice(0, 2);
    exp.engine = { ...exp.engine, port: await freePort() };
    exp.matrix.scenario = [{ name: 'low-load', inputLen: 32, outputLen: 4, numPrompts: 2, maxConcurrency: 1 }];
    exp.warmup = { inputLen: 32, outputLen: 4, numPrompts: 1 };
    exp.device = { ...exp.device, failoverAfterMs: 5_000 };
    exp.steps = { ...exp.steps, flushCaches: false, heartbeatTimeout: 2_000 };
    const planned = planSweep(Experiment.parse(exp)).cells;
    const handle = await fleet.startSweep(exp, 'fleet-failover');

    // Mid-sweep: thor-b is in its first cell, its engine started. Then the worker and its engines die for good.
    const inFlight = await waitFor(
      `${LOST} to be in a cell`,
      async () => {
        const p = await handle.query(progressQuery);
        return p.current.find((c) => c.deviceId === LOST && ['waitForHealth', 'warmup', 'benchmark'].includes(c.step));
      },
      60_000,
      100,
    );
    assert.ok(fleet.devices.get(LOST)!.killForGood());
    for (const pid of await processesUsingSimDir(path.join(fleet.home, 'sim', LOST))) process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();

    const summary = await handle.result();
    assert.deepEqual(summary.counts, { succeeded: planned.length, failed: 0, skipped: 0, cancelled: 0 });
    assert.deepEqual(await fleet.store.duplicateKeys('fleet-failover'), [], 'no cell recorded twice');
    const cells = await fleet.store.listCells('fleet-failover');
    assert.deepEqual(cells.map((c) => c.cellId).sort(), planned.map((c) => c.id).sort());
    // No cell ran again, but the one in flight on the lost device (unless its benchmark had reported back). A record
    // may be written twice (the store keeps the first): the local activity that writes it runs at least once, again
    // when the workflow task that ran it is retried, which a starved test process can make happen.
    for (const c of cells) {
      assert.equal(c.status, 'succeeded', `${c.cellId}: ${c.failure?.message}`);
      // A cell moved off a lost device runs again under the same workflow id.
      const runs = (await sweepRuns(fleet.server.client, `fleet-failover/${c.cellId}`)).length;
      if (c.cellId === inFlight.cellId) assert.ok(runs === 1 || runs === 2, `${c.cellId}: ${runs} runs`);
      else assert.equal(runs, 1, `${c.cellId} ran once`);
    }

    // The lost device's group ran elsewhere; its cells say which device they left and why; the others never moved.
    const lostModel = planned.find((c) => c.id === inFlight.cellId)!.model.id;
    const moved = cells.filter((c) => c.movedFrom);
    assert.deepEqual([...new Set(moved.map((c) => c.modelId))], [lostModel]);
    assert.equal(moved.length, planned.filter((c) => c.model.id === lostModel).length);
    for (const c of moved) {
      assert.notEqual(c.device!.deviceId, LOST);
      assert.equal(c.movedFrom!.deviceId, LOST);
      assert.match(c.movedFrom!.reason, new RegExp(`no worker of thorbench-device-${LOST} picked up \\w+ within 5 s`));
      assert.ok(Date.parse(c.movedFrom!.at) >= killedAt);
    }
    assert.equal(new Set(moved.map((c) => c.device!.deviceId)).size, 1, 'the group moved whole to one device');
    assert.ok(cells.filter((c) => !c.movedFrom).every((c) => c.device!.deviceId !== LOST));

    const label = process.env.THORBENCH_RECORD_HISTORIES;
    if (label)
      await recordHistories(
        fleet.server,
        label,
        'fleet-failover',
        planned.map((c) => `fleet-failover/${c.id}`),
      );

    const progress = await handle.query(progressQuery);
    assert.deepEqual(
      progress.lostDevices?.map((d) => d.deviceId),
      [LOST],
    );
    assert.deepEqual(
      progress.cells
        .filter((c) => c.movedFrom)
        .map((c) => c.id)
        .sort(),
      moved.map((c) => c.cellId).sort(),
    );
  });
});
