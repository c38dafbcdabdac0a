/**
 * The acceptance for the SLO capacity search, on the live simulated Thor through a real Temporal server:
 * one sweep searches the capacity of a configuration and also runs every concurrency of the same range as a fixed
 * scenario (the exhaustive sweep), on the same engine. The search finds the exhaustive boundary within one
 * concurrency step, with fewer probes. The SLO is on the median TPOT, which grows by one decode cost per
 * concurrent sequence (sim/latency-model.ts) and, unlike a p99 over a few requests, is not moved by one late timer
 * on a busy machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { judgeProbe } from '../plan/search.js';
import { sweepCapacities } from '../report/capacity.js';
import { type ExperimentInput, SearchSpec } from '../schema/experiment.js';
import type { sweep } from '../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';
import { tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { type SimWorkers, startSimWorkers } from './helpers/sim-workers.js';
import { type TestServer, startTestServer } from './helpers/temporal.js';

const RANGE = { min: 1, max: 16 };
const SLO = { median_tpot_ms: Number(process.env.SLO_TPOT ?? 9) };
const LOAD = { inputLen: 32, outputLen: 16, numPrompts: 32 };

describe('SLO capacity search on the simulated Thor', { timeout: 240_000 }, () => {
  let server: TestServer;
  let sim: SimWorkers;

  before(async () => {
    server = await startTestServer();
    sim = await startSimWorkers(server, tempDir('slo-sim'), { id: 'sim-slo', speed: 2 });
  });
  after(async () => {
    await sim?.stop();
    await server?.stop();
  });

  it('finds the exhaustive sweep boundary within one concurrency step, with fewer probes', async () => {
    const port = await freePort();
    const search = { vary: 'maxConcurrency', ...RANGE, slo: SLO, minRequests: LOAD.numPrompts } as const;
    const exhaustive = Array.from({ length: RANGE.max - RANGE.min + 1 }, (_, i) => RANGE.min + i).map((c) => ({
      name: `fixed-c${c}`,
      ...LOAD,
      maxConcurrency: c,
    }));
    const exp: ExperimentInput = {
      name: 'slo-sim',
      engine: { port, maxModelLen: 4096 },
      matrix: {
        power: [{ mode: 'MAXN' }],
        clocks: ['locked'],
        model: [{ id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', servedName: 'qwen3' }],
        scenario: [{ name: 'chat-slo', ...LOAD, search }, ...exhaustive],
      },
      warmup: { inputLen: 32, outputLen: 4, numPrompts: 4 },
    };
    const handle = await server.client.workflow.start<typeof sweep>('sweep', {
      taskQueue: SWEEP_TASK_QUEUE,
      workflowId: 'slo-sim-1',
      args: [exp],
    });
    const result = await handle.result();
    const cells = sim.store.listCells('slo-sim-1');
    assert.equal(result.counts.failed, 0);

    const [capacity] = sweepCapacities(sim.store.getSweep('slo-sim-1')!.experimentJson, cells);
    assert.ok(capacity?.complete, 'the search finished');
    // The exhaustive boundary: the highest concurrency whose fixed cell meets the SLO, judged the same way.
    const spec = SearchSpec.parse(search);
    const meets = exhaustive.map((s) => {
      const c = cells.find((x) => x.scenario === s.name)!;
      return judgeProbe(spec, [{ cellId: c.cellId, metrics: c.metrics as Record<string, unknown> | null }]).pass;
    });
    const boundary = meets.lastIndexOf(true) === -1 ? null : RANGE.min + meets.lastIndexOf(true);
    const measured = exhaustive.map((s) => {
      const m = cells.find((x) => x.scenario === s.name)!.metrics!;
      return `c${s.maxConcurrency}: ${m.median_tpot_ms.toFixed(2)}`;
    });
    const probes = capacity.probeDetails.map((p) => `c${p.value}: ${p.judged.median_tpot_ms?.toFixed(2)}`);
    const seen = `exhaustive median TPOT ${measured.join(', ')}; search probes ${probes.join(', ')}`;
    console.log(seen);
    assert.ok(boundary !== null && boundary > RANGE.min && boundary < RANGE.max, `boundary inside the range: ${seen}`);
    assert.ok(capacity.value !== null && Math.abs(capacity.value - boundary) <= 1, `search ${capacity.value} vs ${boundary}: ${seen}`);
    assert.ok(capacity.probes.length < exhaustive.length, `${capacity.probes.length} probes`);
  });
});
