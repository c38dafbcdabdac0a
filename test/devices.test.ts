/**
 * Devices and the models they hold: how `thorbench devices` shows them (the store's `devices` table is tested on
 * both stores in test/store.test.ts), the pure dealing of model groups to devices that hold them, and a sweep that refuses a model its device lacks with a typed failure before any engine
 * starts (on the simulated Thor, through a real Temporal server).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEngineActivities } from '../activities/engine.js';
import { describeInventory, missingModels } from '../activities/models.js';
import { renderDevicesText, type DeviceJson } from '../cli/commands/devices.js';
import { assignModelGroups, plannedModels } from '../plan/model-eligibility.js';
import { planSweep } from '../plan/plan.js';
import { EngineSpec } from '../schema/experiment.js';
import { ensureSimDevice, listSimContainers, simDeviceProfile, writeSimFaults } from '../sim/device.js';
import { TEST_MODELS, experiment, simExperiment } from './helpers/experiment.js';
import { typedFailure } from './helpers/failures.js';
import { tempDir } from './helpers/files.js';
import { thorInventory as inventory } from './helpers/thor-facts.js';
import { freePort } from './helpers/net.js';
import { destroySimDevice } from './helpers/sim-device.js';
import { useSimLab } from './helpers/sim-workers.js';

describe('thorbench devices', () => {
  it('renders a table row per device with its facts under it', () => {
    const d: DeviceJson = {
      deviceId: 'thor-a',
      inventory: inventory('thor-a'),
      worker: 'w1',
      registeredAt: '2026-01-01T00:00:00.000Z',
      lastSeenAt: '2026-01-01T00:00:00.000Z',
      lastSeenAgoS: 12.3,
      current: [{ sweepId: 's1', cellId: 'maxn.locked.qwen3-8b-fp8.tiny.r1', step: 'running' }],
    };
    const lines = renderDevicesText([d, { ...d, deviceId: 'thor-b', current: null }]);
    assert.match(
      lines[1]!,
      /^thor-a\s+jetson\s+R38\S+\s+122\.8 GB\s+512\.0 GB\s+present\s+12\.3 s ago\s+s1 maxn\.locked\.\S+ \(running\)$/,
    );
    assert.match(lines[2]!, /MAXN\(0\).*\/data\/models: 1 found/);
    assert.match(lines[3]!, /^thor-b .* unknown \(Temporal server not reachable\)$/);
    assert.deepEqual(renderDevicesText([]).length, 1);
  });
});

describe('the models on a device that is not simulated', () => {
  it('are found on disk: model directories with config.json and GGUF files; the rest are missing', async () => {
    const dir = tempDir('models-disk');
    const dev = ensureSimDevice(path.join(dir, 'sim'), { id: 'disk' });
    // The simulator's commands, but models read from the file system as on a real Thor (under the device root).
    const profile = { ...simDeviceProfile(dev, path.join(dir, 'results')), simulated: false, simDir: null };
    const models = path.join(dev.rootDir, 'data', 'models');
    mkdirSync(path.join(models, 'Qwen', 'Qwen3-8B-FP8'), { recursive: true });
    writeFileSync(path.join(models, 'Qwen', 'Qwen3-8B-FP8', 'config.json'), '{}');
    mkdirSync(path.join(models, 'unsloth', 'Qwen3-8B-GGUF'), { recursive: true });
    writeFileSync(path.join(models, 'unsloth', 'Qwen3-8B-GGUF', 'Qwen3-8B-Q5_K_M.gguf'), '');
    mkdirSync(path.join(models, 'half-downloaded'), { recursive: true });
    const inv = await describeInventory(profile, {
      modelsDir: '/data/models',
      engineImage: 'nvcr.io/nvidia/vllm:25.09-py3',
    });
    assert.deepEqual(inv.models, ['Qwen/Qwen3-8B-FP8', 'unsloth/Qwen3-8B-GGUF/Qwen3-8B-Q5_K_M.gguf']);
    assert.equal(inv.simulated, false);
    assert.deepEqual(inv.problems, []);
    const wanted = [
      { id: 'fp8', path: 'Qwen/Qwen3-8B-FP8' },
      { id: 'awq', path: 'Qwen/Qwen3-8B-AWQ' },
    ];
    assert.deepEqual(await missingModels(profile, models, wanted), [{ id: 'awq', path: 'Qwen/Qwen3-8B-AWQ' }]);
    destroySimDevice(dev.dir);
  });
});

describe('dealing model groups to devices that hold them', () => {
  const exp = experiment('eligibility', {
    models: [TEST_MODELS.fp8, TEST_MODELS.awq, TEST_MODELS.fp4],
    clocks: ['locked'],
  });
  const cells = planSweep(exp).cells;
  const group = (shards: Map<string, typeof cells>) =>
    new Map([...shards].map(([d, cs]) => [d, cs.map((c) => c.model.id)]));

  it('is round-robin when every device holds every model', () => {
    const { shards, refused } = assignModelGroups(cells, ['a', 'b'], [], '/data/models');
    assert.deepEqual(
      group(shards),
      new Map([
        ['a', ['qwen3-8b-fp8', 'qwen3-8b-fp4']],
        ['b', ['qwen3-8b-awq']],
      ]),
    );
    assert.deepEqual(refused, []);
    assert.deepEqual(
      plannedModels(cells).map((m) => m.path),
      ['Qwen/Qwen3-8B-FP8', 'Qwen/Qwen3-8B-AWQ', 'nv-community/Qwen3-8B-FP4'],
    );
  });

  it('never gives a model to a device that lacks it, and refuses a model no device holds', () => {
    const presence = [
      {
        deviceId: 'a',
        missing: [
          { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8' },
          { id: 'qwen3-8b-fp4', path: 'x' },
        ],
      },
      { deviceId: 'b', missing: [{ id: 'qwen3-8b-fp4', path: 'x' }] },
    ];
    const { shards, refused } = assignModelGroups(cells, ['a', 'b'], presence, '/data/models');
    assert.deepEqual(
      group(shards),
      new Map([
        ['a', ['qwen3-8b-awq']],
        ['b', ['qwen3-8b-fp8']],
      ]),
    );
    assert.deepEqual(
      refused.map((r) => r.cell.model.id),
      ['qwen3-8b-fp4'],
    );
    assert.match(
      refused[0]!.reason,
      /model qwen3-8b-fp4 \(\/data\/models\/nv-community\/Qwen3-8B-FP4\) is not on any of the devices a, b/,
    );
  });
});

describe('a model missing on the device', { timeout: 180_000 }, () => {
  const lab = useSimLab('missing-model', { id: 'sim-models', speed: 4 });
  before(() => writeSimFaults(lab.sim.simDir, { missingModels: [TEST_MODELS.awq.path] }));
  after(() => destroySimDevice(lab.sim.simDir));

  it('startEngine refuses it with ModelNotFound before docker runs anything', async () => {
    const dir = tempDir('missing-model-activity');
    const dev = ensureSimDevice(path.join(dir, 'sim'), {
      id: 'sim-activity',
      faults: { missingModels: [TEST_MODELS.awq.path] },
    });
    const engine = createEngineActivities(simDeviceProfile(dev, path.join(dir, 'results')));
    const model = { ...TEST_MODELS.awq, env: {}, serveArgs: [] };
    await assert.rejects(
      engine.startEngine({ sweepId: 's', cellId: 'c', engineGroup: 'g', engine: EngineSpec.parse({}), model }),
      typedFailure('ModelNotFound', { message: [/Qwen3-8B-AWQ does not exist on device sim-activity/] }),
    );
    assert.deepEqual(listSimContainers(dev.dir), [], 'no container was created');
    destroySimDevice(dev.dir);
  });

  it('the sweep fails its cells with ModelNotFound without starting an engine, and runs the rest', async () => {
    const exp = simExperiment('missing-model', await freePort(), {
      device: { select: ['sim-models'] },
      models: [TEST_MODELS.fp8, TEST_MODELS.awq],
    });
    const summary = await lab.runSweep('missing-model', exp);
    assert.deepEqual(summary.counts, { succeeded: 2, failed: 2, skipped: 0, cancelled: 0 });
    const cells = await lab.sim.store.listCells('missing-model');
    assert.deepEqual(await lab.sim.store.duplicateKeys('missing-model'), []);
    for (const c of cells.filter((x) => x.modelId === 'qwen3-8b-awq')) {
      assert.equal(c.status, 'failed');
      assert.equal(c.failure?.type, 'ModelNotFound');
      assert.equal(c.failure?.retryable, false);
      assert.match(c.failure?.message ?? '', /Qwen\/Qwen3-8B-AWQ\) is not on device sim-models; download it there/);
      assert.deepEqual(c.steps, [], 'no step ran, so no engine started');
      assert.equal(c.engine, null);
    }
    assert.ok(cells.filter((x) => x.modelId === 'qwen3-8b-fp8').every((c) => c.status === 'succeeded'));
    const engines = cells.filter((c) => c.engine).map((c) => c.engine!.containerName);
    assert.ok(
      engines.length > 0 && engines.every((n) => n.includes('qwen3-8b-fp8')),
      `engines started: ${engines.join(', ')}`,
    );
  });
});
