/**
 * The guide's own tables from its own data, through the CLI as a user would do it: the guide's printed
 * `vllm bench serve` blocks are imported with `thorbench import` into sweeps planned from the shipped experiments
 * (which give the models' paths and sizes), and `thorbench report` must print the guide's high-load and low-load
 * quantization tables and its power mode × jetson_clocks tables value for value.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planSweep } from '../plan/plan.js';
import { parseExperiment } from '../schema/experiment.js';
import { openResultsStore } from '../store/store.js';
import {
  assertGuideTables,
  GUIDE_FIXTURES,
  GUIDE_POWER_TABLE,
  GUIDE_QUANTIZATION_TABLE,
} from './helpers/report-sweeps.js';
import { tempDir } from './helpers/files.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'bin', 'thorbench.js');

function thorbench(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Plans a sweep from a shipped experiment and records it (not run): imported results fill its cells. */
async function planSweepRecord(dbFile: string, sweepId: string, experimentFile: string) {
  const raw = JSON.parse(readFileSync(path.join(root, 'experiments', experimentFile), 'utf8')) as unknown;
  const parsed = parseExperiment(raw);
  assert.ok(parsed.ok, experimentFile);
  const store = await openResultsStore(dbFile);
  try {
    await store.upsertSweep({
      sweepId,
      experimentName: parsed.experiment.name,
      experimentJson: parsed.experiment,
      simulated: false,
      plannedCells: planSweep(parsed.experiment).cells.length,
      startedAt: '2025-10-01T08:00:00.000Z',
    });
  } finally {
    await store.close();
  }
  return parsed.experiment;
}

describe("the guide's tables from the guide's data", { timeout: 300_000 }, () => {
  const dir = tempDir('guide-tables');
  const env = { THORBENCH_RESULTS: path.join(dir, 'results'), THORBENCH_HOME: path.join(dir, 'home') };
  const dbFile = path.join(dir, 'results', 'thorbench.db');

  before(async () => {
    const quant = await planSweepRecord(dbFile, 'guide-quantization', 'thor-quantization.json');
    for (const model of quant.matrix.model) {
      for (const scenario of ['high-load', 'low-load']) {
        const labels = `power=MAXN,clocks=locked,model=${model.id},quantization=${model.quantization},size=${model.size},scenario=${scenario}`;
        const file = `${GUIDE_FIXTURES}quantization__${model.id}.maxn-clocks.${scenario}.txt`;
        const r = await thorbench(
          [
            'import',
            file,
            '--into',
            'guide-quantization',
            '--cell',
            `maxn.locked.${model.id}.${scenario}.r1`,
            '--label',
            labels,
          ],
          env,
        );
        assert.equal(r.code, 0, r.stderr);
      }
    }
    await planSweepRecord(dbFile, 'guide-power-clocks', 'thor-power-clocks.json');
    for (const scenario of ['high-load', 'low-load']) {
      for (const [power, key] of [
        ['MAXN', 'maxn'],
        ['120W', '120w'],
      ] as const) {
        for (const clocks of ['default', 'locked'] as const) {
          const file = `${GUIDE_FIXTURES}power-clocks__qwen3-8b-fp8.${key}${clocks === 'locked' ? '-clocks' : ''}.${scenario}.txt`;
          const labels = `power=${power},clocks=${clocks},model=qwen3-8b-fp8,quantization=fp8,size=8.9G,scenario=${scenario}`;
          const r = await thorbench(
            [
              'import',
              file,
              '--into',
              'guide-power-clocks',
              '--cell',
              `${key}.${clocks}.qwen3-8b-fp8.${scenario}.r1`,
              '--label',
              labels,
            ],
            env,
          );
          assert.equal(r.code, 0, r.stderr);
        }
      }
    }
  });

  it('reproduces the high-load and low-load quantization tables with model, quantization and size', async () => {
    const r = await thorbench(['report', 'guide-quantization'], env);
    assert.equal(r.code, 0, r.stderr);
    assertGuideTables(r.stdout, GUIDE_QUANTIZATION_TABLE);
    assert.match(r.stdout, /18 planned · 18 succeeded · 0 failed · 0 skipped · 0 cancelled · 0 pending/);
  });

  it('reproduces the power mode × jetson_clocks tables and the relative changes the guide writes', async () => {
    const r = await thorbench(['report', 'guide-power-clocks'], env);
    assert.equal(r.code, 0, r.stderr);
    assertGuideTables(r.stdout, GUIDE_POWER_TABLE);
    // "吞吐量从 251.56 tok/s 提升至 298.07 tok/s(提升约 18.5%)", "TPOT 从 15.56 ms 降至 8.88 ms(减少约 43%)".
    assert.match(r.stdout, /\| high-load \| MAXN: jetson_clocks no → yes \| 251\.56 → 298\.07 \(\+18\.5 %\) \|/);
    assert.match(
      r.stdout,
      /\| low-load \| MAXN: jetson_clocks no → yes \| 63\.61 → 111\.15 \(\+74\.7 %\) \| 35\.70 → 23\.06 \(−35\.4 %\) \| 15\.56 → 8\.88 \(−42\.9 %\) \|/,
    );
  });

  it('draws the imported sweeps in the HTML report', async () => {
    const r = await thorbench(['report', 'guide-power-clocks', '--format', 'html'], env);
    assert.equal(r.code, 0, r.stderr);
    const charts = [...r.stdout.matchAll(/<figure class="chart" id="chart-([a-z-]+)"/g)].map((m) => m[1]);
    // Imported cells have no step timings, so the timeline shows one bar per cell.
    assert.deepEqual(charts, [
      'throughput',
      'ttft',
      'tpot',
      'power-clocks',
      'tradeoff',
      'latency-distributions',
      'pareto-high-load',
      'pareto-low-load',
      'timeline',
    ]);
  });
});
