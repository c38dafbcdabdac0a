/**
 * Sweeps and cell records for report tests: the experiment, its sweep record and one record per planned cell, with
 * the metrics a test chooses.
 */
import assert from 'node:assert/strict';
import { parseBenchmarkBlock } from '../../parsers/vllm-bench.js';
import { DEFAULT_VALIDITY, Experiment } from '../../schema/experiment.js';
import { BenchmarkMetrics } from '../../schema/metrics.js';
import type { CellRecord } from '../../schema/outcome.js';
import { completeRecord } from '../../schema/verdict.js';
import { planSweep } from '../../plan/plan.js';
import type { SweepRecord } from '../../store/sweep.js';
import { fixture, fixturePath } from './files.js';
import { section, tableHeader, tableRows } from './markdown.js';
import { thorDeviceFacts } from './thor-facts.js';

/** The guide's quantization tables, row for row as it prints them (its text lost the leading "| " of each row). */
const GUIDE_QUANTIZATION_ROWS = {
  'high-load': [
    'Qwen3-8B | BF16 | 16 G | 0.66 | 82.47 | 974.57 | 85.33 |',
    'Qwen3-8B-FP8 🚀 | FP8 | 8.9 G | 2.33 | 298.07 | 495.44 | 22.59 |',
    'Qwen3-8B-FP4 | FP4 | 6 G | 1.35 | 167.20 | 570.92 | 42.08 |',
    'Qwen3-8B-GPTQ-Int4 | GPTQ(Int4) | 5.7 G | 0.83 | 100.70 | 1918.40 | 64.07 |',
    'Qwen3-8B-GPTQ-Int8 | GPTQ(Int8) | 9 G | 0.64 | 79.23 | 2225.45 | 81.04 |',
    'Qwen3-8B-AWQ | AWQ(Int4) | 5.7 G | 0.81 | 100.45 | 1823.17 | 63.92 |',
    'Qwen3-8B-Int4-W4A16 | W4A16 | 5.7 G | 0.80 | 99.56 | 2114.14 | 62.10 |',
    'Qwen3-8B-Int8-W8A16 | W8A16 | 8.9 G | 0.65 | 81.28 | 2294.06 | 77.95 |',
    'Qwen3-8B-GGUF | GGUF(Q5_K_M) | 5.5 G | 0.06 | 7.91 | 43688.41 | 670.56 |',
  ],
  'low-load': [
    'Qwen3-8B | BF16 | 16 G | 0.12 | 15.69 | 78.19 | 63.63 |',
    'Qwen3-8B-FP8 🚀 | FP8 | 8.9 G | 0.87 | 111.15 | 23.06 | 8.88 |',
    'Qwen3-8B-FP4 | FP4 | 6 G | 0.31 | 40.26 | 38.55 | 24.73 |',
    'Qwen3-8B-GPTQ-Int4 | GPTQ(Int4) | 5.7 G | 0.34 | 43.09 | 36.87 | 23.09 |',
    'Qwen3-8B-GPTQ-Int8 | GPTQ(Int8) | 9 G | 0.21 | 27.13 | 50.83 | 36.75 |',
    'Qwen3-8B-AWQ | AWQ(Int4) | 5.7 G | 0.33 | 42.66 | 36.95 | 23.33 |',
    'Qwen3-8B-Int4-W4A16 | W4A16 | 5.7 G | 0.33 | 42.70 | 37.85 | 23.30 |',
    'Qwen3-8B-Int8-W8A16 | W8A16 | 8.9 G | 0.22 | 27.52 | 50.23 | 36.22 |',
    'Qwen3-8B-GGUF | GGUF(Q5_K_M) | 5.5 G | 0.23 | 29.14 | 148.53 | 33.41 |',
  ],
};

/** The guide's power mode × jetson_clocks tables (Qwen3-8B-FP8), its 否/是 written no/yes as the report does. */
const GUIDE_POWER_ROWS = {
  'high-load': [
    'MAXN | no | 251.56 | 554.96 | 26.96 |',
    'MAXN | yes | 298.07 | 495.44 | 22.59 |',
    '120W | no | 240.14 | 580.06 | 28.27 |',
    '120W | yes | 249.82 | 457.83 | 27.99 |',
  ],
  'low-load': [
    'MAXN | no | 63.61 | 35.70 | 15.56 |',
    'MAXN | yes | 111.15 | 23.06 | 8.88 |',
    '120W | no | 63.90 | 34.54 | 15.50 |',
    '120W | yes | 79.94 | 27.23 | 12.39 |',
  ],
};

/** A table of the guide as the report prints it under `### high-load` and `### low-load`. */
export interface GuideTable {
  header: string;
  rows: Record<'high-load' | 'low-load', string[]>;
}

export const GUIDE_QUANTIZATION_TABLE: GuideTable = {
  header:
    '| Model | Quantization | Size | Request throughput (req/s) | Output token throughput (tok/s) | Mean TTFT (ms) | Mean TPOT (ms) |',
  rows: GUIDE_QUANTIZATION_ROWS,
};

export const GUIDE_POWER_TABLE: GuideTable = {
  header: '| Power mode | jetson_clocks | Output token throughput (tok/s) | Mean TTFT (ms) | Mean TPOT (ms) |',
  rows: GUIDE_POWER_ROWS,
};

/** Asserts that a Markdown report shows the guide's table for both loads, header and rows. */
export function assertGuideTables(markdown: string, table: GuideTable): void {
  for (const scenario of ['high-load', 'low-load'] as const) {
    const lines = section(markdown, `### ${scenario}`);
    assert.equal(tableHeader(lines), table.header, `the ${scenario} table's header`);
    assert.deepEqual(
      tableRows(lines),
      table.rows[scenario].map((row) => `| ${row}`),
    );
  }
}

/** The guide's printed `vllm bench serve` blocks, kept in fixtures/vllm-bench-text. */
export const GUIDE_FIXTURES = `${fixturePath('vllm-bench-text')}/`;

/** The metrics of one of the guide's blocks, e.g. `quantization__qwen3-8b-fp8.maxn-clocks.high-load`, as parsed. */
export function guideMetrics(name: string): BenchmarkMetrics {
  return BenchmarkMetrics.parse(parseBenchmarkBlock(fixture('vllm-bench-text', `${name}.txt`)));
}

/** The guide's power/clocks block for a cell: `maxn`/`120w`, clocks locked or not, `high-load`/`low-load`. */
export function guidePowerMetrics(power: string, clocks: 'locked' | 'default', scenario: string): BenchmarkMetrics {
  return guideMetrics(`power-clocks__qwen3-8b-fp8.${power}${clocks === 'locked' ? '-clocks' : ''}.${scenario}`);
}

export function metrics(
  reqS: number,
  tokS: number,
  ttft: number,
  tpot: number,
  extra: Partial<BenchmarkMetrics> = {},
): BenchmarkMetrics {
  const duration = 100 / reqS;
  return {
    duration,
    completed: 100,
    failed: 0,
    max_concurrency: 8,
    total_input_tokens: 204800,
    total_output_tokens: 12800,
    request_throughput: reqS,
    output_throughput: tokS,
    total_token_throughput: (204800 + 12800) / duration,
    mean_ttft_ms: ttft,
    median_ttft_ms: ttft,
    p99_ttft_ms: ttft * 1.5,
    mean_tpot_ms: tpot,
    median_tpot_ms: tpot,
    p99_tpot_ms: tpot * 1.1,
    mean_itl_ms: tpot,
    median_itl_ms: tpot,
    p99_itl_ms: tpot * 2,
    ...extra,
  };
}

export function experimentOf(input: object): Experiment {
  return Experiment.parse(input);
}

export function sweepOf(exp: Experiment, over: Partial<SweepRecord> = {}): SweepRecord {
  return {
    sweepId: `${exp.name}-20251001`,
    experimentName: exp.name,
    experimentJson: JSON.stringify(exp),
    workflowId: `thorbench-${exp.name}`,
    simulated: false,
    plannedCells: planSweep(exp).cells.length,
    startedAt: '2025-10-01T08:00:00.000Z',
    finishedAt: '2025-10-01T12:00:00.000Z',
    state: 'completed',
    ...over,
  };
}

/** One record per planned cell, with metrics from `measure` (null: the cell failed with EngineCrashed). */
export function cellsOf(
  exp: Experiment,
  sweep: SweepRecord,
  measure: (cell: ReturnType<typeof planSweep>['cells'][number]) => BenchmarkMetrics | null,
): CellRecord[] {
  return planSweep(exp).cells.map((p) => {
    const m = measure(p);
    const start = Date.parse('2025-10-01T08:00:00.000Z') + p.position * 300_000;
    return completeRecord(
      {
        sweepId: sweep.sweepId,
        experimentName: exp.name,
        cellId: p.id,
        repeat: p.repeat,
        position: p.position,
        power: p.powerKey,
        clocks: p.clocks,
        modelId: p.model.id,
        quantization: p.model.quantization,
        modelSize: p.model.size ?? null,
        scenario: p.scenario.name,
        status: m ? 'succeeded' : 'failed',
        failure: m
          ? null
          : { type: 'EngineCrashed', message: 'engine exited during load', retryable: false, step: 'waitForHealth' },
        metrics: m,
        harness: m ? { kind: 'vllm', command: ['vllm', 'bench', 'serve'] } : null,
        device: thorDeviceFacts({
          simulated: sweep.simulated,
          bootId: 'b1',
          powerModeName: p.power.mode ?? 'MAXN',
          clocksLocked: p.clocks === 'locked',
        }),
        engine: {
          image: exp.engine.image,
          containerName: 'thorbench-engine',
          command: ['vllm', 'serve'],
          exitCode: m ? null : 137,
          oomKilled: !m,
          logTail: m ? null : 'loading\nKilled',
        },
        steps: [
          {
            step: 'startEngine',
            startedAt: new Date(start).toISOString(),
            durationMs: 60_000,
            result: { kind: 'done' },
          },
          {
            step: 'benchmark',
            startedAt: new Date(start + 60_000).toISOString(),
            durationMs: 45_000,
            result: m ? { kind: 'done' } : { kind: 'failed', failure: 'EngineCrashed' },
          },
        ],
        artifactsDir: null,
        simulated: sweep.simulated,
        startedAt: new Date(start).toISOString(),
        finishedAt: new Date(start + 105_000).toISOString(),
      },
      DEFAULT_VALIDITY,
      '0.1.0',
    );
  });
}

/**
 * A sweep that varies everything a report draws: MAXN/120W × clocks default/locked × FP8/AWQ × high/low load, two
 * repeats each, energy measured, one cell failed with its engine's log. FP8's numbers are the guide's power/clocks
 * blocks; AWQ's scale them (a synthetic second model); the second repeat is 2 % faster.
 */
export function fullMatrixSweep(): { exp: Experiment; sweep: SweepRecord; cells: CellRecord[] } {
  const exp = experimentOf({
    name: 'full-matrix',
    matrix: {
      power: [{ mode: 'MAXN' }, { mode: '120W' }],
      clocks: ['default', 'locked'],
      model: [
        { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', size: '8.9G' },
        { id: 'qwen3-8b-awq', path: 'Qwen/Qwen3-8B-AWQ', quantization: 'awq', size: '5.7G' },
      ],
      scenario: [
        { name: 'high-load', inputLen: 2048, outputLen: 128, numPrompts: 100, maxConcurrency: 8 },
        { name: 'low-load', inputLen: 2048, outputLen: 128, numPrompts: 10, maxConcurrency: 1 },
      ],
    },
    repeats: 2,
  });
  const sweep = sweepOf(exp);
  const cells = cellsOf(exp, sweep, (p) => {
    if (
      p.powerKey === '120w' &&
      p.clocks === 'default' &&
      p.model.id === 'qwen3-8b-awq' &&
      p.scenario.name === 'low-load' &&
      p.repeat === 2
    )
      return null;
    const g = guidePowerMetrics(p.powerKey, p.clocks, p.scenario.name);
    const awq = p.model.id === 'qwen3-8b-awq';
    const f = p.repeat === 2 ? 1.02 : 1;
    const t = (awq ? g.output_throughput * 0.36 : g.output_throughput) * f;
    const watts = p.powerKey === 'maxn' ? 95 : 78;
    const ms = (v: number, awqFactor: number) => (awq ? v * awqFactor : v) / f;
    return {
      ...g,
      output_throughput: t,
      request_throughput: t / 128,
      mean_ttft_ms: ms(g.mean_ttft_ms!, 3.6),
      median_ttft_ms: ms(g.median_ttft_ms!, 3.6),
      p99_ttft_ms: ms(g.p99_ttft_ms!, 3.6),
      mean_tpot_ms: ms(g.mean_tpot_ms!, 2.8),
      median_tpot_ms: ms(g.median_tpot_ms!, 2.8),
      p99_tpot_ms: ms(g.p99_tpot_ms!, 2.8),
      mean_itl_ms: ms(g.mean_itl_ms!, 2.8),
      median_itl_ms: ms(g.median_itl_ms!, 2.8),
      p99_itl_ms: ms(g.p99_itl_ms!, 2.8),
      energy_per_output_token_j: watts / t,
      output_throughput_per_w: t / watts,
      avg_power_w: watts,
    };
  });
  return { exp, sweep, cells };
}
