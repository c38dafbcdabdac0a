/**
 * `thorbench run` next to workers that are already running, as on a Thor whose systemd unit runs the worker: the
 * sweep worker found polling records into its own results store, and an experiment may select devices `run` does
 * not serve. Both used to look like failures (a report that exits 2 after a finished sweep; a silent wait).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queueHasLivePoller } from '../cli/sweeps.js';
import { deviceTaskQueue } from '../workflows/task-queues.js';
import { runCli } from './helpers/cli.js';
import { simExperiment } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { type SimFleet, startSimFleet } from './helpers/sim-fleet.js';
import { waitFor } from './helpers/wait.js';

describe('thorbench run beside running workers', { timeout: 240_000 }, () => {
  const dir = tempDir('run-shared');
  let fleet: SimFleet;
  before(async () => {
    fleet = await startSimFleet(dir);
  });
  after(() => fleet?.stop());

  /** The identity of the live worker serving device `id`, if any. */
  const servedBy = (id: string) =>
    queueHasLivePoller(fleet.server.client, 'default', deviceTaskQueue(id), 'activity').then((w) => w ?? undefined);

  /** The CLI on the fleet's server, with a results store of its own (not the sweep worker's). */
  const env = () => ({
    ...fleet.cliEnv(),
    THORBENCH_RESULTS: path.join(dir, 'cli-results'),
    THORBENCH_SIM_SPEED: '8',
  });

  it("finishes with the sweep worker's store named, exit 0, when its records are not in run's own store", async () => {
    const file = path.join(dir, 'shared.json');
    const exp = simExperiment('run-shared', await freePort(), { clocks: ['locked'], device: { select: ['run-a'] } });
    writeFileSync(file, JSON.stringify(exp));
    const r = await runCli(['run', file, '--device', 'sim', '--device-id', 'run-a', '--id', 'run-shared-1'], {
      env: env(),
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Using the sweep worker already polling "thorbench"/);
    assert.match(r.stdout, /It records into its own results store: unless that is .*cli-results/);
    assert.match(r.stdout, /Sweep run-shared-1 finished\. Its records are in the results store of the sweep worker/);
    assert.equal((await fleet.store.listCells('run-shared-1')).length, 1, 'the sweep worker recorded the cell');
  });

  it('refuses a second worker for a device a live worker serves, naming it', async () => {
    const { worker } = fleet.addDevice('dup-a', 8);
    const first = await waitFor("dup-a's worker polling", () => servedBy('dup-a'), 60_000, 200);
    const r = await runCli(['worker', '--device', 'sim', '--device-id', 'dup-a', '--role', 'device'], {
      env: env(),
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
    assert.ok(r.stderr.includes(`device "dup-a" is already served by the worker ${first}`), r.stderr);
    // Once that worker is gone (killed, as a crash would), a new one serves the device.
    assert.ok(worker.killForGood());
    const again = runCli(['worker', '--device', 'sim', '--device-id', 'dup-a', '--role', 'device'], {
      env: env(),
      timeoutMs: 15_000,
    });
    const served = await waitFor(
      'the new worker polling',
      async () => {
        const p = await servedBy('dup-a');
        return p !== first ? p : undefined;
      },
      30_000,
      200,
    );
    assert.match(served, /:thorbench-device/);
    assert.notEqual((await again).code, 2, 'not refused: it ran until stopped');
  });

  it('says which selected devices no worker serves, instead of waiting in silence', async () => {
    const file = path.join(dir, 'elsewhere.json');
    const exp = simExperiment('run-elsewhere', await freePort(), { device: { select: ['thor-x', 'thor-y'] } });
    writeFileSync(file, JSON.stringify(exp));
    fleet.addDevice('thor-y', 8);
    await waitFor("thor-y's worker polling", () => servedBy('thor-y'), 60_000, 200);
    // Nobody serves thor-x: the sweep waits, so the CLI is stopped once it has said so.
    const r = await runCli(['run', file, '--device', 'sim', '--device-id', 'here', '--id', 'run-elsewhere-1'], {
      env: env(),
      timeoutMs: 20_000,
    });
    assert.match(r.stdout, /No worker serves "thor-x" of device\.select, and this machine is device "here"/);
    await fleet.server.client.workflow.getHandle('run-elsewhere-1').terminate();
  });
});
