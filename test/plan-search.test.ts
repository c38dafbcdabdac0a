import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { plan } from '../cli/commands/plan.js';
import { planSweep } from '../plan/plan.js';
import {
  type ProbeOutcome,
  judgeProbe,
  maxProbes,
  nextProbe,
  probeCells,
  probeLabel,
  probeScenario,
  slotConfig,
} from '../plan/search.js';
import { capacityTable, sweepCapacities } from '../report/capacity.js';
import { Experiment, SearchSpec } from '../schema/experiment.js';
import type { CellRecord } from '../schema/outcome.js';
import { experimentInput } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';
import { record } from './helpers/records.js';

const concurrency = (min: number, max: number) =>
  SearchSpec.parse({ vary: 'maxConcurrency', min, max, slo: { p99_ttft_ms: 500 } });
const rate = (min: number, max: number, precision?: number) =>
  SearchSpec.parse({ vary: 'requestRate', min, max, slo: { p99_ttft_ms: 500 }, ...(precision ? { precision } : {}) });

/** Runs the search against a load that passes up to `boundary` (inclusive): the probes taken and the capacity. */
function runSearch(search: SearchSpec, passes: (value: number) => boolean) {
  const probes: ProbeOutcome[] = [];
  for (let i = 0; i < 100; i++) {
    const step = nextProbe(search, probes);
    if (step.kind === 'done') return { capacity: step.capacity, probes: probes.map((p) => p.value) };
    assert.ok(!probes.some((p) => p.value === step.value), `probe ${step.value} repeated`);
    probes.push({ value: step.value, pass: passes(step.value) });
  }
  throw new Error('search did not finish');
}

describe('SLO capacity search', () => {
  it('probes exponentially from min, then bisects to one request', () => {
    const r = runSearch(concurrency(1, 64), (c) => c <= 11);
    assert.deepEqual(r.probes, [1, 2, 4, 8, 16, 12, 10, 11]);
    assert.equal(r.capacity, 11);
  });

  it('finds every boundary in 1..64 exactly, within maxProbes', () => {
    const search = concurrency(1, 64);
    for (let boundary = 1; boundary <= 64; boundary++) {
      const r = runSearch(search, (c) => c <= boundary);
      assert.equal(r.capacity, boundary, `boundary ${boundary}`);
      assert.ok(
        r.probes.length <= maxProbes(search),
        `boundary ${boundary}: ${r.probes.length} > ${maxProbes(search)}`,
      );
      assert.ok(r.probes.length < 64);
    }
  });

  it('even min misses: capacity null after one probe', () => {
    assert.deepEqual(
      runSearch(concurrency(4, 64), () => false),
      { capacity: null, probes: [4] },
    );
  });

  it('max meets: capacity = max, the last probe capped at max', () => {
    assert.deepEqual(
      runSearch(concurrency(3, 20), () => true),
      { capacity: 20, probes: [3, 6, 12, 20] },
    );
  });

  it('a miss below a pass (noise) does not narrow the bracket', () => {
    const step = nextProbe(concurrency(1, 64), [
      { value: 1, pass: true },
      { value: 2, pass: false },
      { value: 4, pass: true },
    ]);
    assert.deepEqual(step, { kind: 'probe', value: 8 });
  });

  it('request rate: geometric bisection to the relative precision, 3 significant digits', () => {
    const search = rate(0.5, 32, 0.05);
    for (const boundary of [0.5, 0.73, 1.9, 7.1, 13.37, 31.9, 32]) {
      const r = runSearch(search, (x) => x <= boundary);
      assert.ok(r.capacity !== null && r.capacity <= boundary, `boundary ${boundary}: ${r.capacity}`);
      // The capacity is within the precision of the boundary (or the boundary itself at the range's ends).
      assert.ok(boundary / r.capacity <= 1.05 + 1e-9, `boundary ${boundary}: capacity ${r.capacity}`);
      assert.ok(r.probes.length <= maxProbes(search), `${r.probes.length} > ${maxProbes(search)}`);
      for (const p of r.probes) assert.equal(Number(p.toPrecision(3)), p);
    }
    assert.deepEqual(
      runSearch(search, () => false),
      { capacity: null, probes: [0.5] },
    );
  });

  it('maxProbes: the exponential ladder plus the widest bisection', () => {
    assert.equal(maxProbes(concurrency(1, 1)), 1);
    assert.equal(maxProbes(concurrency(1, 16)), 8); // 1 2 4 8 16, then 12 10 9 (bracket 8..16)
    assert.equal(maxProbes(concurrency(1, 64)), 12); // … 64, then 48 40 36 34 33 (bracket 32..64)
  });

  it('probe ids and scenarios', () => {
    assert.equal(probeLabel({ vary: 'maxConcurrency' }, 16), 'c16');
    assert.equal(probeLabel({ vary: 'requestRate' }, 2.5), 'rate2.5');
    const scenario = {
      name: 'chat-slo',
      inputLen: 512,
      outputLen: 128,
      numPrompts: 200,
      burstiness: 1,
      seed: 0,
      search: concurrency(1, 64),
    };
    const { search: _search, ...fixed } = scenario;
    assert.deepEqual(probeScenario(scenario, 16), { ...fixed, maxConcurrency: 16 });
  });
});

describe('judging a probe', () => {
  const search = SearchSpec.parse({
    vary: 'maxConcurrency',
    min: 1,
    max: 64,
    slo: { p99_ttft_ms: 500, p90_tpot_ms: 50 },
    minRequests: 10,
  });
  const m = (ttft: number, tpot = 20, completed = 20) => ({ p99_ttft_ms: ttft, p90_tpot_ms: tpot, completed });

  it('one repeat: the measured values against every SLO', () => {
    assert.equal(judgeProbe(search, [{ cellId: 'a.r1', metrics: m(499) }]).pass, true);
    const miss = judgeProbe(search, [{ cellId: 'a.r1', metrics: m(501, 60) }]);
    assert.equal(miss.pass, false);
    assert.deepEqual(miss.judged, { p99_ttft_ms: 501, p90_tpot_ms: 60 });
    assert.equal(miss.reasons.length, 2);
  });

  it('repeats: passes only if the upper 95 % CI bound meets the SLO', () => {
    // Means 480 (below 500) but spread wide: t(0.975, 2) · s / √3 = 4.303 · 20 / 1.732 ≈ 49.7 → upper bound ≈ 529.7.
    const wide = judgeProbe(search, [
      { cellId: 'a.r1', metrics: m(460) },
      { cellId: 'a.r2', metrics: m(480) },
      { cellId: 'a.r3', metrics: m(500) },
    ]);
    assert.equal(wide.pass, false);
    assert.ok(Math.abs(wide.judged.p99_ttft_ms! - 529.68) < 0.05, String(wide.judged.p99_ttft_ms));
    const tight = judgeProbe(search, [
      { cellId: 'a.r1', metrics: m(479) },
      { cellId: 'a.r2', metrics: m(480) },
      { cellId: 'a.r3', metrics: m(481) },
    ]);
    assert.equal(tight.pass, true);
  });

  it('too few completed requests, a failed repeat, or an unmeasured metric miss', () => {
    assert.match(
      judgeProbe(search, [{ cellId: 'a.r1', metrics: m(100, 10, 9) }]).reasons[0]!,
      /fewer than minRequests/,
    );
    assert.equal(judgeProbe(search, [{ cellId: 'a.r1', metrics: null }]).pass, false);
    const unmeasured = judgeProbe(search, [{ cellId: 'a.r1', metrics: { p99_ttft_ms: 1, completed: 20 } }]);
    assert.deepEqual(unmeasured.reasons, ['p90_tpot_ms was not measured']);
  });
});

describe('search in the experiment schema', () => {
  const withSearch = (search: object, extra: object = {}) =>
    Experiment.safeParse({
      ...experimentInput('s'),
      matrix: {
        ...experimentInput('s').matrix,
        scenario: [{ name: 'chat-slo', inputLen: 32, outputLen: 4, numPrompts: 20, search, ...extra }],
      },
    });
  const messages = (r: ReturnType<typeof withSearch>) =>
    r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

  it('accepts the issue example and any measured percentile, mean_ or median_', () => {
    const ok = withSearch({ vary: 'maxConcurrency', min: 1, max: 64, slo: { p99_ttft_ms: 500, p99_tpot_ms: 50 } });
    assert.equal(ok.success, true);
    const stats = { p90_tpot_ms: 50, mean_itl_ms: 20, median_e2el_ms: 900, p50_ttft_ms: 100 };
    assert.equal(withSearch({ vary: 'requestRate', min: 0.5, max: 8, precision: 0.05, slo: stats }).success, true);
  });

  it('refuses unknown SLO keys, unmeasured percentiles, a fixed load beside the search, bad ranges', () => {
    const base = { vary: 'maxConcurrency', min: 1, max: 64 };
    assert.match(messages(withSearch({ ...base, slo: { ttft: 500 } })).join('\n'), /latency metric as vLLM names it/);
    assert.match(messages(withSearch({ ...base, slo: { p99_throughput_ms: 5 } })).join('\n'), /latency metric/);
    assert.match(
      messages(withSearch({ ...base, slo: { 'p99.9_ttft_ms': 500 } })).join('\n'),
      /percentile 99\.9 is not measured: add 99\.9 to harness\.percentiles/,
    );
    assert.match(messages(withSearch({ ...base, slo: { 'p99.0_ttft_ms': 500 } })).join('\n'), /spell the percentile/);
    assert.match(messages(withSearch({ ...base, slo: {} })).join('\n'), /at least one SLO/);
    assert.match(
      messages(withSearch({ ...base, slo: { p99_ttft_ms: 1 } }, { maxConcurrency: 4 })).join('\n'),
      /remove the fixed value/,
    );
    assert.match(messages(withSearch({ ...base, min: 1.5, slo: { p99_ttft_ms: 1 } })).join('\n'), /whole number/);
    assert.match(messages(withSearch({ ...base, min: 65, slo: { p99_ttft_ms: 1 } })).join('\n'), /at least min/);
    assert.match(
      messages(withSearch({ ...base, slo: { p99_ttft_ms: 1 }, minRequests: 21 })).join('\n'),
      /fewer than search\.minRequests/,
    );
  });

  it('takes a percentile added to harness.percentiles', () => {
    const r = Experiment.safeParse({
      ...experimentInput('s', {
        scenarios: [
          {
            name: 'chat-slo',
            inputLen: 32,
            outputLen: 4,
            numPrompts: 20,
            search: { vary: 'maxConcurrency', min: 1, max: 8, slo: { 'p99.9_ttft_ms': 500 } },
          },
        ],
      }),
      harness: { percentiles: [50, 99, 99.9] },
    });
    assert.equal(r.success, true);
  });
});

describe('planning a search', () => {
  const input = experimentInput('plan-slo', {
    clocks: ['default', 'locked'],
    repeats: 2,
    scenarios: [
      { name: 'tiny', inputLen: 32, outputLen: 4, numPrompts: 2, maxConcurrency: 1 },
      {
        name: 'chat-slo',
        inputLen: 512,
        outputLen: 128,
        numPrompts: 200,
        search: { vary: 'maxConcurrency', min: 1, max: 64, slo: { p99_ttft_ms: 500, p99_tpot_ms: 50 } },
      },
    ],
  });

  it('one search slot per configuration, in the engine group, with its most probes', () => {
    const plan = planSweep(Experiment.parse(input));
    assert.deepEqual(
      plan.cells.map((c) => c.id),
      [
        'maxn.default.qwen3-8b-fp8.tiny.r1',
        'maxn.default.qwen3-8b-fp8.tiny.r2',
        'maxn.default.qwen3-8b-fp8.chat-slo.search',
        'maxn.locked.qwen3-8b-fp8.tiny.r1',
        'maxn.locked.qwen3-8b-fp8.tiny.r2',
        'maxn.locked.qwen3-8b-fp8.chat-slo.search',
      ],
    );
    const slot = plan.cells[2]!;
    assert.deepEqual(slot.search, { repeats: 2, maxProbes: 12 });
    assert.equal(plan.cells.at(-1)!.stopsEngine, true, 'a search can end its engine group');
    assert.deepEqual([plan.counts.cells, plan.counts.searches, plan.counts.maxProbeCells], [4, 2, 48]);

    // A probe: one cell per repeat, the slot's configuration at a fixed load.
    const probes = probeCells(slot, 16);
    assert.deepEqual(
      probes.map((c) => c.id),
      ['maxn.default.qwen3-8b-fp8.chat-slo.c16.r1', 'maxn.default.qwen3-8b-fp8.chat-slo.c16.r2'],
    );
    assert.equal(probes[0]!.scenario.maxConcurrency, 16);
    assert.equal(probes[0]!.scenario.search, undefined);
    assert.equal(probes[0]!.stopsEngine, false);
    assert.equal(slotConfig(slot), 'maxn.default.qwen3-8b-fp8');

    const rateSlot = planSweep(
      Experiment.parse({
        ...input,
        repeats: 1,
        matrix: {
          ...input.matrix,
          scenario: [
            {
              name: 'rate-slo',
              inputLen: 32,
              outputLen: 4,
              numPrompts: 20,
              search: { vary: 'requestRate', min: 0.5, max: 8, precision: 0.05, slo: { median_ttft_ms: 200 } },
            },
          ],
        },
      }),
    ).cells[0]!;
    const [rateProbe] = probeCells(rateSlot, 2.5);
    assert.equal(rateProbe!.id, 'maxn.default.qwen3-8b-fp8.rate-slo.rate2.5.r1');
    assert.equal(rateProbe!.scenario.requestRate, 2.5);
    assert.equal(rateProbe!.scenario.maxConcurrency, undefined);
  });

  it('thorbench plan says "search" with the most probes', async () => {
    const file = path.join(tempDir('plan-slo'), 'exp.json');
    writeFileSync(file, JSON.stringify(input));
    const lines: string[] = [];
    await plan({ file, json: false, out: (l) => lines.push(l) });
    const text = lines.join('\n');
    assert.match(text, /2 capacity searches \(probes chosen while the sweep runs\): at most 48 probe cells/);
    assert.match(
      text,
      /maxn\.default\.qwen3-8b-fp8\.chat-slo\.search {3}\[search maxConcurrency 1\.\.64 for p99_ttft_ms ≤ 500, p99_tpot_ms ≤ 50: at most 12 probes × 2 repeats\]/,
    );
    const json: string[] = [];
    await plan({ file, json: true, out: (l) => json.push(l) });
    const steps = (JSON.parse(json.join('\n')) as { steps: { id: string; search?: object }[] }).steps;
    assert.deepEqual(steps.find((s) => s.search)?.search, {
      vary: 'maxConcurrency',
      min: 1,
      max: 64,
      slo: { p99_ttft_ms: 500, p99_tpot_ms: 50 },
      minRequests: 1,
      repeats: 2,
      maxProbes: 12,
    });
  });
});

describe('capacities read back from the recorded probes: the outcome tells the nulls apart', () => {
  const exp = JSON.stringify(
    experimentInput('cap', {
      clocks: ['default'],
      scenarios: [
        {
          name: 'chat-slo',
          inputLen: 32,
          outputLen: 4,
          numPrompts: 2,
          search: { vary: 'maxConcurrency', min: 1, max: 64, slo: { p99_ttft_ms: 500 } },
        },
      ],
    }),
  );
  const id = (c: number) => `maxn.default.qwen3-8b-fp8.chat-slo.c${c}.r1`;
  /** A probe's record: p99 TTFT `ttft` ms, or a failed or cancelled cell (failed: the engine crashed). */
  const probe = (c: number, ttft: number, status?: CellRecord['status']): CellRecord =>
    record('cap', { id: id(c), tok: 100, ttft, tpot: 10, status }, c);
  const read = (cells: CellRecord[]) => {
    const details = sweepCapacities(exp, cells);
    assert.equal(details.length, 1);
    const [d] = details;
    return {
      value: d!.value,
      outcome: d!.outcome,
      probes: d!.probes,
      text: capacityTable(details, 'chat-slo').rows[0]![1],
    };
  };

  it('found, below the minimum, the minimum probe failed', () => {
    assert.deepEqual(read([probe(1, 400), probe(2, 600)]), {
      value: 1,
      outcome: 'found',
      probes: [id(1), id(2)],
      text: '1',
    });
    assert.deepEqual(read([probe(1, 600)]), {
      value: null,
      outcome: 'below-min',
      probes: [id(1)],
      text: 'none: the minimum misses',
    });
    assert.deepEqual(read([probe(1, 0, 'failed')]), {
      value: null,
      outcome: 'probe-failed',
      probes: [id(1)],
      text: 'none: the minimum probe failed',
    });
  });

  it('a search stopped by its engine failing, one still running or cancelled, one not started', () => {
    // c4's engine crashed: the sweep ends the search there, so c3 (next in the bisection) never comes.
    assert.deepEqual(read([probe(1, 100), probe(2, 200), probe(4, 0, 'failed')]), {
      value: null,
      outcome: 'probe-failed',
      probes: [id(1), id(2), id(4)],
      text: 'search stopped: a probe failed',
    });
    // A benchmark that failed on a healthy engine is a miss, and the search goes on to c3.
    const benchmarkFailed = {
      ...probe(4, 0, 'failed'),
      failure: { type: 'BenchmarkFailed', message: 'vllm bench exited 1', retryable: false, step: 'benchmark' },
    } satisfies CellRecord;
    assert.deepEqual(read([probe(1, 100), probe(2, 200), benchmarkFailed]).outcome, 'unfinished');
    // A cancelled probe is no measurement (a resumed sweep runs it again): the search stops before it.
    assert.deepEqual(read([probe(1, 100), probe(2, 0, 'cancelled')]), {
      value: null,
      outcome: 'unfinished',
      probes: [id(1)],
      text: 'search not finished',
    });
    assert.deepEqual(read([]), { value: null, outcome: 'unfinished', probes: [], text: 'search not finished' });
  });
});
