/**
 * Repeats with statistics: Student's t quantiles against 40-digit mpmath values (and the printed tables), the
 * mean / 95 % CI / CV of repeated cells, and `summaries` in `thorbench report --format json` through the CLI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { baseCellId, summarizeRepeats, summarizeValues } from '../metrics/repeats.js';
import { regularizedBeta, studentTCdf, studentTQuantile } from '../metrics/student-t.js';
import { tempDir } from './helpers/files.js';

/** t(p, df) computed with mpmath 1.3.0 at 40 digits: findroot of 1 − I_{df/(df+t²)}(df/2, ½)/2 = p. */
// The digits are mpmath's, kept as printed; the nearest double is what is compared.
/* eslint-disable no-loss-of-precision */
const MPMATH: [number, number, number][] = [
  [0.975, 1, 12.706204736174704646],
  [0.975, 2, 4.3026527297494638523],
  [0.975, 3, 3.1824463052837095927],
  [0.975, 4, 2.7764451051977943578],
  [0.975, 5, 2.5705818356363155147],
  [0.975, 9, 2.2621571627982055426],
  [0.975, 10, 2.2281388519862747484],
  [0.975, 29, 2.0452296421327042982],
  [0.975, 30, 2.04227245630123831],
  [0.975, 99, 1.9842169515864174951],
  [0.975, 1000, 1.962339080826408485],
  [0.995, 1, 63.656741162871580995],
  [0.995, 2, 9.9248432009182931147],
  [0.995, 5, 4.0321429835552280784],
  [0.995, 30, 2.7499956535672253324],
  [0.95, 2, 2.919985580353725687],
  [0.95, 9, 1.8331129326562371687],
  [0.95, 29, 1.6991270265334977506],
  [0.95, 1000, 1.6463788172854647156],
];
/* eslint-enable no-loss-of-precision */
/** t(0.975, 2), the 95 % interval's factor for three repeats. */
const T_975_2 = MPMATH[1]![2];

describe("Student's t", () => {
  it('quantiles match mpmath to 1e-12 and the tables: t(0.975, 2) = 4.302653, t(0.975, 9) = 2.262157', () => {
    for (const [p, df, expected] of MPMATH) {
      const t = studentTQuantile(p, df);
      assert.ok(Math.abs(t - expected) <= 1e-12 * expected, `t(${p}, ${df}) = ${t}, mpmath ${expected}`);
      assert.ok(Math.abs(studentTQuantile(1 - p, df) + expected) <= 1e-12 * expected, `lower tail t(${1 - p}, ${df})`);
    }
    assert.equal(studentTQuantile(0.975, 2).toFixed(6), '4.302653');
    assert.equal(studentTQuantile(0.975, 9).toFixed(6), '2.262157');
    assert.equal(studentTQuantile(0.5, 7), 0);
  });

  it('the CDF inverts the quantile and the incomplete beta has its closed forms', () => {
    for (const df of [1, 2, 3, 7.5, 40]) {
      for (const p of [0.6, 0.9, 0.975, 0.999])
        assert.ok(Math.abs(studentTCdf(studentTQuantile(p, df), df) - p) < 1e-14, `df ${df} p ${p}`);
    }
    // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b
    assert.ok(Math.abs(regularizedBeta(0.3, 1, 1) - 0.3) < 1e-15);
    assert.ok(Math.abs(regularizedBeta(0.3, 2.5, 1) - 0.3 ** 2.5) < 1e-15);
    assert.ok(Math.abs(regularizedBeta(0.3, 1, 4) - (1 - 0.7 ** 4)) < 1e-15);
    assert.throws(() => studentTQuantile(0.975, 0), /degrees of freedom/);
    assert.throws(() => studentTQuantile(1.5, 3), /p must be in/);
  });
});

describe('summaries of repeats', () => {
  it('mean, 95 % CI from t(0.975, N − 1) and the sample sd, CV = sd / mean', () => {
    const s = summarizeValues([290, 298.07, 300])!;
    const mean = (290 + 298.07 + 300) / 3;
    const sd = Math.sqrt(((290 - mean) ** 2 + (298.07 - mean) ** 2 + (300 - mean) ** 2) / 2);
    const half = T_975_2 * (sd / Math.sqrt(3));
    assert.ok(Math.abs(s.mean - mean) < 1e-12);
    assert.ok(
      Math.abs(s.ci95[0] - (mean - half)) < 1e-9 && Math.abs(s.ci95[1] - (mean + half)) < 1e-9,
      JSON.stringify(s),
    );
    assert.ok(Math.abs(s.cv! - sd / mean) < 1e-15);
    assert.deepEqual(summarizeValues([2, 2]), { mean: 2, ci95: [2, 2], cv: 0 });
    assert.equal(summarizeValues([0, 0])!.cv, null);
    assert.equal(summarizeValues([1]), null);
  });

  it('groups by cell id without .rN, counts only succeeded repeats, keeps metrics every repeat has', () => {
    assert.equal(baseCellId('maxn.locked.qwen3-8b-fp8.high-load.r12'), 'maxn.locked.qwen3-8b-fp8.high-load');
    const cell = (id: string, status: string, metrics: object | null) => ({ cellId: id, status, metrics });
    const out = summarizeRepeats([
      cell('a.r1', 'succeeded', { duration: 10, p99_ttft_ms: 5, energy_j: null }),
      cell('b.r1', 'succeeded', { duration: 1 }),
      cell('a.r2', 'succeeded', { duration: 12, p99_ttft_ms: 7, energy_j: 3 }),
      cell('a.r3', 'failed', null),
      cell('b.r2', 'failed', null),
    ]);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.cell, 'a');
    assert.equal(out[0]!.repeats, 2);
    assert.deepEqual(Object.keys(out[0]!.metrics), ['duration', 'p99_ttft_ms']);
    assert.equal(out[0]!.metrics.duration!.mean, 11);
  });
});

describe('report --format json summaries, through the CLI', { timeout: 120_000 }, () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const textDir = path.join(root, 'fixtures', 'vllm-bench-text');
  const run = (args: string[], results: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [path.join(root, 'bin', 'thorbench.js'), ...args],
        { cwd: root, env: { ...process.env, THORBENCH_RESULTS: results }, maxBuffer: 16 << 20 },
        (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });

  it('three repeats of a cell give one summary with mean, ci95 and cv for every numeric metric', async () => {
    const results = tempDir('summaries');
    const files = readdirSync(textDir)
      .filter((f) => f.startsWith('power-clocks__') && f.endsWith('.high-load.txt'))
      .sort()
      .slice(0, 3);
    for (const [i, f] of files.entries()) {
      const r = await run(
        [
          'import',
          path.join(textDir, f),
          '--into',
          'rep',
          '--cell',
          `maxn.locked.qwen3-8b-fp8.high-load.r${i + 1}`,
          '--label',
          'power=MAXN,clocks=locked',
        ],
        results,
      );
      assert.equal(r.code, 0, r.stderr);
    }
    const single = await run(['import', path.join(textDir, files[0]!), '--into', 'rep', '--cell', 'other.r1'], results);
    assert.equal(single.code, 0, single.stderr);
    const r = await run(['report', 'rep', '--format', 'json'], results);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      summaries: {
        cell: string;
        repeats: number;
        metrics: Record<string, { mean: number; ci95: [number, number]; cv: number }>;
      }[];
    };
    assert.equal(report.summaries.length, 1);
    const s = report.summaries[0]!;
    assert.equal(s.cell, 'maxn.locked.qwen3-8b-fp8.high-load');
    assert.equal(s.repeats, 3);
    const values = files.map(
      (f) =>
        JSON.parse(readFileSync(path.join(textDir, f.replace(/\.txt$/, '.expected.json')), 'utf8')) as Record<
          string,
          number
        >,
    );
    const numericKeys = Object.keys(values[0]!).filter((k) => values.every((v) => typeof v[k] === 'number'));
    assert.deepEqual(Object.keys(s.metrics).sort(), numericKeys.sort());
    for (const key of numericKeys) {
      const xs = values.map((v) => v[key]!);
      const mean = (xs[0]! + xs[1]! + xs[2]!) / 3;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / 2);
      const half = T_975_2 * (sd / Math.sqrt(3));
      const m = s.metrics[key]!;
      const tol = 1e-9 * Math.max(1, Math.abs(mean));
      assert.ok(
        Math.abs(m.mean - mean) <= tol &&
          Math.abs(m.ci95[0] - (mean - half)) <= tol &&
          Math.abs(m.ci95[1] - (mean + half)) <= tol,
        key,
      );
      assert.ok(mean === 0 ? m.cv === null : Math.abs(m.cv - sd / mean) <= 1e-12, key);
    }
    const md = await run(['report', 'rep'], results);
    assert.match(md.stdout, /\d ± \d/);
  });
});
