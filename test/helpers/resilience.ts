/**
 * What the resilience tests share (test/resilience.test.ts, test/resilience-chaos.test.ts): the small two-model sweep
 * they damage, and the two promises they check after the damage — every planned cell recorded exactly once, and
 * nothing left running on the simulated device.
 */
import assert from 'node:assert/strict';
import { planSweep } from '../../plan/plan.js';
import { Experiment, type ExperimentInput } from '../../schema/experiment.js';
import { listSimContainers } from '../../sim/device.js';
import { type ExperimentParts, TEST_MODELS, simExperiment } from './experiment.js';
import { freePort } from './net.js';
import type { SimFleet } from './sim-fleet.js';
import { processesUsingSimDir } from './worker-process.js';

export const LOW_LOAD = { name: 'low', inputLen: 128, outputLen: 48, numPrompts: 4, maxConcurrency: 1 };
export const HIGH_LOAD = { name: 'high', inputLen: 128, outputLen: 48, numPrompts: 16, maxConcurrency: 8 };

/** Two models, a low- and a high-load scenario, on the device named `id`. */
export async function resilienceExperiment(id: string, parts: ExperimentParts): Promise<ExperimentInput> {
  return simExperiment(id, await freePort(), {
    device: { select: [id] },
    models: [TEST_MODELS.fp8, TEST_MODELS.awq],
    scenarios: [LOW_LOAD, HIGH_LOAD],
    steps: { heartbeatTimeout: 4_000 },
    ...parts,
  });
}

export async function assertCleanDevice(simDir: string): Promise<void> {
  const running = listSimContainers(simDir).filter((c) => c.status === 'running');
  assert.deepEqual(
    running.map((c) => c.name),
    [],
    'no container left running',
  );
  assert.deepEqual(await processesUsingSimDir(simDir), [], 'no engine or simulator process left behind');
}

export async function assertExactlyPlanned(fleet: SimFleet, sweepId: string, exp: ExperimentInput): Promise<void> {
  const planned = planSweep(Experiment.parse(exp))
    .cells.map((c) => c.id)
    .sort();
  assert.deepEqual(await fleet.store.duplicateKeys(sweepId), [], 'no cell recorded twice');
  assert.equal(await fleet.store.countRows(sweepId), planned.length);
  assert.deepEqual((await fleet.store.listCells(sweepId)).map((c) => c.cellId).sort(), planned);
}
