/**
 * A capacity search whose device worker is SIGKILLed in the middle of a probe's benchmark, on the simulated Thor:
 * a real Temporal server, the sweep worker, and `thorbench worker --role device` in its own process, started again
 * after the kill the way systemd would (test/helpers/sim-fleet.ts). The search completes; every probe finished
 * before the kill is recorded once and left as it was (its record, and its result.json from the first attempt);
 * the killed probe is measured again; and the capacity is the one the simulator's latency model gives in virtual
 * time (sim/virtual-run.ts), as a search that was never killed finds. test/slo-search.test.ts shows the same with
 * the sweep workflow itself terminated and restarted, on in-memory devices.
 *
 * The boundary is made wide so that a busy machine cannot move it: the engine serves at most three sequences
 * (`--max-num-seqs 3`), so at concurrency 4 a request waits for a whole other request before its first token, and
 * the p99 TTFT jumps about ninefold from 3 to 4 (34 ms to 287 ms in virtual time at speed 1). The SLO is seven tenths
 * of the latter: late timers can only lengthen a latency, so c4 needs no luck to miss it, and c3 may stall for 160 ms
 * and still meet it. Prefix caching is off, so a probe does not find the prompts of the probes before it (they share
 * the seed) cached.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sweepCapacities } from '../report/capacity.js';
import type { CellRecord } from '../schema/outcome.js';
import { latencyParams } from '../sim/latency-model.js';
import { runVirtual } from '../sim/virtual-run.js';
import { BENCHMARK_RESULT_FILE } from '../store/artifacts.js';
import { progressQuery } from '../workflows/messages.js';
import { simExperiment, TEST_MODELS } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { type SimFleet, startSimFleet } from './helpers/sim-fleet.js';
import { waitFor } from './helpers/wait.js';

const SWEEP = 'slo-kill-sim';
const DEVICE = 'sim-slo-kill';
/** Real time, not compressed: a stall of the busy CI machine is as long in ms at any speed, so speed 1 doubles the
 * margins of speed 2 (one run at speed 2 saw a 60 ms stall lift c3's p99 TTFT from 17 to 76 ms, over the SLO). */
const SPEED = 1;
const LOAD = { inputLen: 32, outputLen: 32, numPrompts: 8 };
const MAX_NUM_SEQS = 3;
const RANGE = { min: 1, max: 4 };
const PROBE = (c: number) => `maxn.locked.qwen3-8b-fp8.chat-slo.c${c}.r1`;
/** The search's probes for the boundary at 3: 1 2 4 up, then 3 to bisect (2..4). */
const PROBES = [1, 2, 4, 3];
/** Killed in the middle of the third probe's benchmark: two probes finished, one more to come after it. */
const KILLED = 4;
/** The SLO as a share of the virtual p99 TTFT at 4: c4 can only measure above it, c3 has the most room to stall. */
const SLO_SHARE = 0.7;

/** The simulated engine's p99 TTFT at concurrency `c` in virtual time, in ms at the device's speed. */
function predictedTtft(c: number): number {
  const params = latencyParams({ quantization: 'fp8', powerModeId: 0, clocksLocked: true });
  const scenario = { ...LOAD, maxConcurrency: c, ignoreEos: true, testPrompt: false };
  const engine = { maxNumSeqs: MAX_NUM_SEQS, prefixCacheTokens: 0 };
  return runVirtual(params, scenario, { engine }).metrics.p99_ttft_ms / SPEED;
}

describe('capacity search on the simulated Thor, device worker SIGKILLed mid-probe', { timeout: 300_000 }, () => {
  let fleet: SimFleet;
  before(async () => {
    fleet = await startSimFleet(tempDir('slo-kill-sim'));
  });
  after(() => fleet?.stop());

  /** Whether the cell's benchmark activity has started and not finished. */
  async function benchmarking(cellId: string): Promise<true | undefined> {
    const d = await fleet.server.client.workflow
      .getHandle(`${SWEEP}/${cellId}`)
      .describe()
      .catch(() => null);
    const pending = d?.raw.pendingActivities ?? [];
    return pending.some((a) => a.activityType?.name === 'benchmark' && a.lastStartedTime) ? true : undefined;
  }

  const resultFile = (c: CellRecord) => readFileSync(path.join(c.artifactsDir!, BENCHMARK_RESULT_FILE), 'utf8');

  it('resumes without measuring a finished probe again, and finds the capacity of an unbroken search', async (t) => {
    const [below, above] = [predictedTtft(3), predictedTtft(4)];
    assert.ok(above > 4 * below, `virtual p99 TTFT at 3: ${below} ms, at 4: ${above} ms`);
    const slo = Number((above * SLO_SHARE).toFixed(1));
    const { worker } = fleet.addDevice(DEVICE, SPEED);
    const search = {
      vary: 'maxConcurrency' as const,
      ...RANGE,
      slo: { p99_ttft_ms: slo },
      minRequests: LOAD.numPrompts,
    };
    const exp = simExperiment(SWEEP, await freePort(), {
      device: { select: [DEVICE] },
      clocks: ['locked'],
      models: [
        { ...TEST_MODELS.fp8, serveArgs: ['--max-num-seqs', String(MAX_NUM_SEQS), '--no-enable-prefix-caching'] },
      ],
      scenarios: [{ name: 'chat-slo', ...LOAD, search }],
      steps: { heartbeatTimeout: 3_000 },
    });
    const handle = await fleet.startSweep(exp, SWEEP);

    await waitFor(`the benchmark of probe c${KILLED}`, () => benchmarking(PROBE(KILLED)), 120_000, 25);
    const before = await fleet.store.listCells(SWEEP);
    assert.ok(worker.kill(), 'the device worker was running');
    const starts = worker.starts.length;
    const finished = PROBES.slice(0, PROBES.indexOf(KILLED)).map(PROBE);
    assert.deepEqual(
      before.map((c) => c.cellId),
      finished,
      'the probes before the killed one were recorded',
    );
    const files = new Map(before.map((c) => [c.cellId, resultFile(c)]));

    const summary = await handle.result();
    assert.ok(worker.starts.length > starts, 'the device worker was started again');
    const cells = await fleet.store.listCells(SWEEP);
    const measured = cells.map(
      (c) => `${/\.(c\d+)\.r1$/.exec(c.cellId)?.[1]}: ${c.metrics?.p99_ttft_ms?.toFixed(1)} ms`,
    );
    const seen = `p99 TTFT SLO ${slo} ms (virtual ${below.toFixed(1)} at 3, ${above.toFixed(1)} at 4); ${measured.join(', ')}`;
    t.diagnostic(seen);
    assert.deepEqual(summary.counts, { succeeded: PROBES.length, failed: 0, skipped: 0, cancelled: 0 }, seen);

    // Each probe recorded once; those finished before the kill are the records and files they were.
    assert.deepEqual(await fleet.store.duplicateKeys(SWEEP), []);
    assert.equal(await fleet.store.countRows(SWEEP), cells.length);
    for (const earlier of before) {
      const now = cells.find((c) => c.cellId === earlier.cellId)!;
      assert.deepEqual(now, earlier, `${earlier.cellId}: the record is unchanged`);
      assert.equal(resultFile(now), files.get(earlier.cellId), `${earlier.cellId}: result.json is unchanged`);
    }
    // No benchmark that finished ran again: every record holds the one result its artifacts keep, the finished
    // probes' from their first attempt; the killed probe's is a later attempt's (the first never finished).
    for (const c of cells) {
      const artifact = JSON.parse(resultFile(c)) as { metrics: unknown; attempt: number };
      assert.deepEqual(artifact.metrics, c.metrics, c.cellId);
      if (c.cellId === PROBE(KILLED)) assert.ok(artifact.attempt > 1, `${c.cellId}: attempt ${artifact.attempt}`);
      else assert.equal(artifact.attempt, 1, c.cellId);
    }

    // The capacity of a search that was never killed: the model's boundary, and the probes it takes to find it.
    const [capacity] = sweepCapacities(JSON.stringify(exp), cells);
    assert.deepEqual(capacity!.probes, PROBES.map(PROBE), seen);
    assert.equal(capacity!.value, 3, seen);
    const progress = await handle.query(progressQuery);
    assert.equal(progress.searches?.[0]?.capacity, 3, 'the workflow found the same capacity');
  });
});
