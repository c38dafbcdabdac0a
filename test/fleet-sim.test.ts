/**
 * A fleet on one machine: three simulated Thors, each served by its own `thorbench worker --device sim --device-id
 * <id> --role device` process, one sweep worker and one Temporal server, running experiments/fleet-sim.json (made
 * tiny). Every cell is recorded once and succeeds, the model groups spread over the three devices, and each
 * device's engines listen on their own host ports.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planSweep } from '../plan/plan.js';
import { Experiment, type ExperimentInput } from '../schema/experiment.js';
import { jetsonProfile, engineHostPort } from '../activities/device-profile.js';
import { ENGINE_PORT_STRIDE, ensureSimDevice, readSimState, simDeviceProfile } from '../sim/device.js';
import { repoJson, tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { destroySimDevice } from './helpers/sim-device.js';
import { runCli } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';
import { type SimFleet, startSimFleet } from './helpers/sim-fleet.js';
import type { DeviceJson } from '../cli/commands/devices.js';

const DEVICES = ['thor-a', 'thor-b', 'thor-c'];

/** experiments/fleet-sim.json with its load cut to a few short requests and the engine on a free port. */
async function tinyFleetExperiment(): Promise<ExperimentInput> {
  const exp = structuredClone(repoJson('experiments', 'fleet-sim.json')) as ExperimentInput;
  exp.engine = { ...exp.engine, port: await freePort() };
  exp.matrix.scenario = [{ name: 'low-load', inputLen: 32, outputLen: 4, numPrompts: 2, maxConcurrency: 1 }];
  exp.warmup = { inputLen: 32, outputLen: 4, numPrompts: 1 };
  return exp;
}

describe('engine ports of several simulated Thors', () => {
  it('gives each device under one directory its own offset and keeps it; a real Thor serves on the port', () => {
    const parent = tempDir('ports');
    const offsets = DEVICES.map(
      (id) => ensureSimDevice(path.join(parent, id), { id, enginePortOffset: 'allocate' }).enginePortOffset,
    );
    const alone = ensureSimDevice(path.join(tempDir('ports'), 'alone'));
    assert.equal(alone.enginePortOffset, 0, 'a device made without "allocate" keeps the experiment port');
    destroySimDevice(alone.dir);
    assert.deepEqual(offsets, [0, ENGINE_PORT_STRIDE, 2 * ENGINE_PORT_STRIDE]);
    // A restarted worker finds the same offset; a removed device frees its offset for the next new one.
    assert.equal(
      ensureSimDevice(path.join(parent, 'thor-b'), { enginePortOffset: 'allocate' }).enginePortOffset,
      ENGINE_PORT_STRIDE,
    );
    destroySimDevice(path.join(parent, 'thor-a'));
    assert.equal(
      ensureSimDevice(path.join(parent, 'thor-d'), { id: 'thor-d', enginePortOffset: 'allocate' }).enginePortOffset,
      0,
    );
    const profile = simDeviceProfile(ensureSimDevice(path.join(parent, 'thor-c')), parent);
    assert.equal(engineHostPort(profile, 18000), 18000 + 2 * ENGINE_PORT_STRIDE);
    assert.equal(engineHostPort(jetsonProfile({ id: 'thor', resultsDir: parent }), 18000), 18000);
    for (const id of ['thor-b', 'thor-c', 'thor-d']) destroySimDevice(path.join(parent, id));
  });
});

describe('a fleet of simulated Thors on one machine', { timeout: 300_000 }, () => {
  let fleet: SimFleet;
  before(async () => {
    fleet = await startSimFleet(tempDir('fleet'));
    for (const id of DEVICES) fleet.addDevice(id, 4, { THORBENCH_DEVICE_REPORT_MS: '500' });
  });
  after(() => fleet?.stop());

  async function devicesCli(): Promise<DeviceJson[]> {
    const r = await runCli(['devices', '--json'], { env: fleet.cliEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { devices: DeviceJson[] }).devices;
  }

  it('registers each device when its worker starts, and moves its last-seen forward while it runs', async () => {
    const registered = await waitFor(
      'three registered devices',
      async () => {
        const list = await fleet.store.listDevices();
        return list.length === DEVICES.length ? list : undefined;
      },
      60_000,
      200,
    );
    assert.deepEqual(
      registered.map((d) => d.deviceId),
      DEVICES,
    );
    for (const d of registered) {
      const inv = d.inventory;
      assert.equal(inv.simulated, true);
      assert.match(inv.model, /Jetson AGX Thor/);
      assert.match(inv.l4tRelease ?? '', /^R38\./);
      assert.ok((inv.memoryTotalMb ?? 0) > 100_000, `memory ${inv.memoryTotalMb}`);
      assert.deepEqual(
        inv.powerModes.map((m) => m.name),
        ['MAXN', '120W', '90W', '70W'],
      );
      assert.ok((inv.clockLimits?.gpuMaxMhz ?? 0) > 0);
      assert.equal(inv.modelsDir, '/data/models');
      assert.ok((inv.modelsDirFreeBytes ?? 0) > 0);
      assert.equal(inv.engineImagePresent, true);
      assert.match(inv.engineImageDigest ?? '', /sha256:/);
      assert.equal(inv.models, null, 'the simulator holds every model not listed as missing');
      assert.deepEqual(inv.problems, []);
    }
    await waitFor(
      'every device seen again after registering',
      async () => {
        const list = await fleet.store.listDevices();
        return list.every((d) => d.lastSeenAt > d.registeredAt) ? true : undefined;
      },
      30_000,
      200,
    );
  });

  it('runs fleet-sim over three device workers: every cell once, succeeded, spread over the devices', async () => {
    const exp = await tinyFleetExperiment();
    const handle = await fleet.startSweep(exp, 'fleet-sim-test');
    // thorbench devices shows the cells in flight, from the running sweep's progress query.
    const busy = await waitFor(
      'thorbench devices to show a device at work',
      async () => {
        const list = await devicesCli();
        return list.some((d) => d.current?.length) ? list : undefined;
      },
      60_000,
      100,
    );
    for (const d of busy.filter((x) => x.current?.length)) {
      assert.equal(d.current![0]!.sweepId, 'fleet-sim-test');
      assert.match(d.current![0]!.cellId, /^maxn\.(default|locked)\.qwen3-8b-/);
    }
    const summary = await handle.result();
    const planned = planSweep(Experiment.parse(exp))
      .cells.map((c) => c.id)
      .sort();
    assert.equal(summary.cells, planned.length);
    assert.deepEqual(summary.counts, { succeeded: planned.length, failed: 0, skipped: 0, cancelled: 0 });
    assert.deepEqual(await fleet.store.duplicateKeys('fleet-sim-test'), [], 'no cell recorded twice');
    const cells = await fleet.store.listCells('fleet-sim-test');
    assert.deepEqual(cells.map((c) => c.cellId).sort(), planned);
    assert.ok(cells.every((c) => c.status === 'succeeded' && c.simulated));

    const byDevice = new Map<string, string[]>();
    for (const c of cells) byDevice.set(c.device!.deviceId, [...(byDevice.get(c.device!.deviceId) ?? []), c.modelId]);
    assert.deepEqual([...byDevice.keys()].sort(), DEVICES, 'every device ran cells');
    for (const models of byDevice.values()) assert.equal(new Set(models).size, 1, 'a model group stays on one device');

    // Each device has its own engine port offset, and its benchmarks reached its engine there.
    const offsets = DEVICES.map((id) => readSimState(path.join(fleet.home, 'sim', id)).enginePortOffset ?? 0);
    assert.equal(new Set(offsets).size, DEVICES.length, `distinct engine port offsets (${offsets.join(', ')})`);
    for (const c of cells) {
      const offset = offsets[DEVICES.indexOf(c.device!.deviceId)]!;
      const baseUrl = c.harness!.command[c.harness!.command.indexOf('--base-url') + 1];
      // vllm bench serve runs inside the engine's container and names the container's port (the simulated
      // container maps it to the device's); the builtin harness runs on the host and names the host port.
      const port = exp.engine!.port! + (c.harness!.kind === 'vllm' ? 0 : offset);
      assert.equal(baseUrl, `http://127.0.0.1:${port}`, `${c.cellId} on ${c.device!.deviceId}`);
    }

    // Idle again: the text listing names every device, its kind, and that it runs nothing.
    const text = await runCli(['devices'], { env: fleet.cliEnv() });
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^DEVICE\s+KIND\s+L4T\s+MEMORY\s+MODELS FREE\s+IMAGE\s+LAST SEEN\s+CURRENT WORK$/);
    for (const id of DEVICES) {
      assert.match(
        text.stdout,
        new RegExp(`^${id}\\s+simulated\\s+R38\\.\\S+\\s+.*\\s+present\\s+.* ago\\s+idle$`, 'm'),
      );
    }
    assert.match(text.stdout, /power modes MAXN\(0\) 120W\(1\) 90W\(2\) 70W\(3\)/);
  });
});
