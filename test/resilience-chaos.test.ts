/**
 * The device worker SIGKILLed again and again at random points of a sweep on the simulated Thor (a real Temporal
 * server, the worker a supervised process restarted like systemd would): the sweep must finish with every planned
 * cell recorded exactly once, no completed benchmark run twice, and nothing left running.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mulberry32 } from '../activities/harness/prng.js';
import { progressQuery } from '../workflows/messages.js';
import { tempDir } from './helpers/files.js';
import { assertCleanDevice, assertExactlyPlanned, resilienceExperiment } from './helpers/resilience.js';
import { type SimFleet, startSimFleet } from './helpers/sim-fleet.js';
import { sleep } from './helpers/wait.js';

describe('resilience on the simulated Thor: a worker killed again and again', { timeout: 900_000 }, () => {
  let fleet: SimFleet;

  before(async () => {
    fleet = await startSimFleet(tempDir('resilience-chaos'));
  });
  after(() => fleet?.stop());

  it('survives the device worker SIGKILLed at least 10 times at random points', async () => {
    const { worker, simDir } = fleet.addDevice('sim-chaos', 2);
    // A shorter heartbeat timeout than the other tests': each kill stalls the sweep until it expires.
    const exp = await resilienceExperiment('sim-chaos', { steps: { heartbeatTimeout: 3_000 } });
    const handle = await fleet.startSweep(exp);
    const random = mulberry32(20261127); // the kill schedule is random but reproducible
    let kills = 0;
    const resumeMs: number[] = [];
    let finished = false;
    const result = handle.result().finally(() => (finished = true));
    while (!finished && kills < 12) {
      await sleep(1_000 + random() * 2_500);
      if (finished || !worker.kill()) continue;
      kills++;
      const killedAt = Date.now();
      // Time from the restart to a step running again on the new worker.
      const restarts = worker.starts.length;
      while (!finished && worker.starts.length === restarts) await sleep(50);
      const restartedAt = worker.starts.at(-1)!;
      const deadline = Date.now() + 60_000;
      while (!finished && Date.now() < deadline) {
        const progress = await handle.query(progressQuery).catch(() => null);
        const cellId = progress?.current[0]?.cellId;
        if (cellId) {
          const d = await fleet.server.client.workflow
            .getHandle(`sim-chaos/${cellId}`)
            .describe()
            .catch(() => null);
          const pending = d?.raw.pendingActivities ?? [];
          const startedMs = pending
            .map(
              (a) => Number(a.lastStartedTime?.seconds ?? 0) * 1000 + Math.floor((a.lastStartedTime?.nanos ?? 0) / 1e6),
            )
            .filter((t) => t > restartedAt);
          if (startedMs.length > 0) {
            resumeMs.push(Math.min(...startedMs) - restartedAt);
            break;
          }
        }
        await sleep(100);
      }
      assert.ok(Date.now() - killedAt < 120_000);
    }
    const summary = await result;
    assert.ok(kills >= 10, `only ${kills} kills happened before the sweep finished`);
    assert.equal(summary.counts.succeeded, 8, JSON.stringify(summary.counts));
    await assertExactlyPlanned(fleet, 'sim-chaos', exp);
    // A completed benchmark is never run again: each record holds the one result its artifact directory keeps.
    for (const c of await fleet.store.listCells('sim-chaos')) {
      const artifact = JSON.parse(readFileSync(path.join(c.artifactsDir!, 'result.json'), 'utf8'));
      assert.deepEqual(artifact.metrics, c.metrics, c.cellId);
    }
    await worker.stop();
    await assertCleanDevice(simDir);
    const sorted = [...resumeMs].sort((a, b) => a - b);
    console.log(
      `chaos: ${kills} kills survived, ${(await fleet.store.duplicateKeys('sim-chaos')).length} duplicates, restart-to-step-resumed median ${sorted[Math.floor(sorted.length / 2)] ?? 'n/a'} ms, max ${sorted.at(-1) ?? 'n/a'} ms over ${sorted.length} samples`,
    );
  });
});
