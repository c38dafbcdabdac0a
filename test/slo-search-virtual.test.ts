/**
 * The capacity search against an exhaustive sweep on the simulated Thor's own engine in virtual time: the scheduler
 * and calibrated step costs the live simulator uses (sim/virtual-run.ts runVirtual), with per-step jitter, minus
 * HTTP and timers. For every quantization, power mode and clocks setting, the search (plan/search.ts)
 * finds the boundary of the exhaustive sweep over 1..64 within one concurrency step, with far fewer probes.
 * test/slo-search-sim.test.ts shows the same through the sweep workflow on the live simulator, over a smaller range.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeProbe, nextProbe, type ProbeOutcome } from '../plan/search.js';
import { QUANTIZATIONS, SearchSpec } from '../schema/experiment.js';
import { latencyParams } from '../sim/latency-model.js';
import { runVirtual } from '../sim/virtual-run.js';

const RANGE = { min: 1, max: 64 };
/** A chat load; the SLOs are generous enough that every configuration's boundary lies inside 1..64. */
const LOAD = { inputLen: 512, outputLen: 64, numPrompts: 128 };

describe('capacity search against an exhaustive sweep, simulated Thor in virtual time', () => {
  const configs = QUANTIZATIONS.filter((q) => q !== 'gguf').flatMap((quantization) =>
    [
      { powerModeId: 0, clocksLocked: true },
      { powerModeId: 1, clocksLocked: false },
    ].map((p) => ({ quantization, ...p })),
  );

  for (const config of configs) {
    const name = `${config.quantization} mode ${config.powerModeId}${config.clocksLocked ? ' locked' : ''}`;
    it(`${name}: same boundary within one step, fewer probes`, () => {
      const params = latencyParams(config);
      // The SLO sits between the configuration's latencies at concurrency 1 and 64, so the boundary is inside.
      // Each run has its own jitter: the search's probes are new measurements, not the exhaustive sweep's.
      const run = (c: number, seed = c) =>
        runVirtual(params, { ...LOAD, maxConcurrency: c, ignoreEos: true }, { jitter: 0.03, jitterSeed: seed }).metrics;
      const low = run(RANGE.min).mean_tpot_ms;
      const high = run(RANGE.max).mean_tpot_ms;
      const search = SearchSpec.parse({
        vary: 'maxConcurrency',
        ...RANGE,
        slo: { mean_tpot_ms: low + 0.4 * (high - low) },
        minRequests: LOAD.numPrompts,
      });
      const meets = (c: number, seed = c) => {
        const p = run(c, seed);
        const metrics = { mean_tpot_ms: p.mean_tpot_ms, mean_ttft_ms: p.mean_ttft_ms, completed: p.completed };
        return judgeProbe(search, [{ cellId: `c${c}`, metrics }]).pass;
      };

      const exhaustive: number[] = [];
      for (let c = RANGE.min; c <= RANGE.max; c++) if (meets(c)) exhaustive.push(c);
      const boundary = Math.max(...exhaustive);
      assert.ok(boundary > RANGE.min && boundary < RANGE.max, `boundary ${boundary} inside the range`);

      const probes: ProbeOutcome[] = [];
      for (let step = nextProbe(search, probes); step.kind === 'probe'; step = nextProbe(search, probes))
        probes.push({ value: step.value, pass: meets(step.value, 1000 + step.value) });
      const done = nextProbe(search, probes);
      assert.equal(done.kind, 'done');
      const capacity = done.kind === 'done' ? done.capacity : null;
      assert.ok(capacity !== null && Math.abs(capacity - boundary) <= 1, `search ${capacity}, exhaustive ${boundary}`);
      assert.ok(probes.length <= 12 && probes.length < RANGE.max - RANGE.min + 1, `${probes.length} probes`);
      if (process.env.SLO_SEARCH_VERBOSE)
        console.log(`${name}: exhaustive ${boundary}, search ${capacity} in ${probes.length} probes`);
    });
  }
});
