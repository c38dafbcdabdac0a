/**
 * The issue's acceptance for the SLO capacity search, on the live simulated Thor through a real Temporal server
 * (the workflow, the device activities, the simulated engine over HTTP). First an exhaustive sweep runs every
 * concurrency of a small range as a fixed scenario; the SLO is then set halfway between its median TPOT at the
 * boundary and one step above, so the boundary is inside the range; then a second sweep searches the same range
 * under that SLO with new measurements. The search finds the exhaustive boundary within one concurrency step, with
 * fewer probes. The SLO is on the median TPOT, which grows by one decode cost per concurrent sequence
 * (sim/latency-model.ts) and, unlike a p99 over a few requests, is not moved by one late timer on a busy machine.
 * test/slo-search-virtual.test.ts compares the two over 1..64 for every quantization in the simulator's virtual time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sweepCapacities } from '../report/capacity.js';
import type { ExperimentInput } from '../schema/experiment.js';
import type { sweep } from '../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../workflows/task-queues.js';
import { tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { type SimWorkers, startSimWorkers } from './helpers/sim-workers.js';
import { type TestServer, startTestServer } from './helpers/temporal.js';

const RANGE = { min: 1, max: 6 };
/** The exhaustive boundary the SLO is set for: in the middle of the range. */
const BOUNDARY = 3;
const LOAD = { inputLen: 32, outputLen: 16, numPrompts: 12 };
const MODEL = { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', servedName: 'qwen3' } as const;

describe('SLO capacity search on the live simulated Thor', { timeout: 300_000 }, () => {
  let server: TestServer;
  let sim: SimWorkers;

  before(async () => {
    server = await startTestServer();
    sim = await startSimWorkers(server, tempDir('slo-sim'), { id: 'sim-slo', speed: 1 });
  });
  after(async () => {
    await sim?.stop();
    await server?.stop();
  });

  const experiment = (
    name: string,
    port: number,
    scenarios: ExperimentInput['matrix']['scenario'],
  ): ExperimentInput => ({
    name,
    engine: { port, maxModelLen: 4096 },
    matrix: { power: [{ mode: 'MAXN' }], clocks: ['locked'], model: [MODEL], scenario: scenarios },
    warmup: { inputLen: 32, outputLen: 4, numPrompts: 4 },
  });
  const runSweep = async (id: string, exp: ExperimentInput) => {
    const handle = await server.client.workflow.start<typeof sweep>('sweep', {
      taskQueue: SWEEP_TASK_QUEUE,
      workflowId: id,
      args: [exp],
    });
    const result = await handle.result();
    assert.equal(result.counts.failed, 0, `${id}: no cell failed`);
    return sim.store.listCells(id);
  };

  it('finds the exhaustive sweep boundary within one concurrency step, with fewer probes', async () => {
    const port = await freePort();
    const loads = Array.from({ length: RANGE.max - RANGE.min + 1 }, (_, i) => RANGE.min + i);
    const exhaustive = await runSweep(
      'slo-exhaustive',
      experiment(
        'slo-exhaustive',
        port,
        loads.map((c) => ({ name: `c${c}`, ...LOAD, maxConcurrency: c })),
      ),
    );
    const tpot = loads.map((c) => exhaustive.find((x) => x.scenario === `c${c}`)!.metrics!.median_tpot_ms!);
    const seen = `exhaustive median TPOT ${tpot.map((t, i) => `c${loads[i]}: ${t.toFixed(2)}`).join(', ')}`;
    const below = Math.max(...tpot.slice(0, BOUNDARY));
    const above = Math.min(...tpot.slice(BOUNDARY));
    assert.ok(below < above, `median TPOT grows with concurrency across c${BOUNDARY}: ${seen}`);
    const slo = { median_tpot_ms: Number(((below + above) / 2).toFixed(3)) };

    const search = { vary: 'maxConcurrency', ...RANGE, slo, minRequests: LOAD.numPrompts } as const;
    const exp = experiment('slo-search', port, [{ name: 'chat-slo', ...LOAD, search }]);
    const cells = await runSweep('slo-search', exp);
    const [capacity] = sweepCapacities(JSON.stringify(exp), cells);
    const probes = capacity!.probeDetails.map((p) => `c${p.value}: ${p.judged.median_tpot_ms?.toFixed(2)}`);
    const both = `${seen}; SLO ${slo.median_tpot_ms}; search probes ${probes.join(', ')}`;
    if (process.env.SLO_SEARCH_VERBOSE) console.log(both);
    assert.ok(capacity!.complete, `the search finished: ${both}`);
    assert.ok(
      capacity!.value !== null && Math.abs(capacity!.value - BOUNDARY) <= 1,
      `capacity ${capacity!.value}: ${both}`,
    );
    assert.ok(capacity!.probes.length < loads.length, `${capacity!.probes.length} probes: ${both}`);
    assert.deepEqual([...capacity!.probes].sort(), cells.map((c) => c.cellId).sort(), 'every probe a recorded cell');
  });
});
