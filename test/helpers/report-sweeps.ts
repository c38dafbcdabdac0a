/**
 * Sweeps and cell records for report tests: the experiment, its sweep record and one record per planned cell, with
 * the metrics a test chooses.
 */
import { Experiment } from '../../schema/experiment.js';
import type { BenchmarkMetrics } from '../../schema/metrics.js';
import type { CellRecord } from '../../schema/outcome.js';
import { planSweep } from '../../plan/plan.js';
import type { SweepRecord } from '../../store/sweep.js';

export function metrics(reqS: number, tokS: number, ttft: number, tpot: number, extra: Partial<BenchmarkMetrics> = {}): BenchmarkMetrics {
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
export function cellsOf(exp: Experiment, sweep: SweepRecord, measure: (cell: ReturnType<typeof planSweep>['cells'][number]) => BenchmarkMetrics | null): CellRecord[] {
  return planSweep(exp).cells.map((p) => {
    const m = measure(p);
    const start = Date.parse('2025-10-01T08:00:00.000Z') + p.position * 300_000;
    return {
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
      failure: m ? null : { type: 'EngineCrashed', message: 'engine exited during load', retryable: false, step: 'waitForHealth' },
      metrics: m,
      harness: m ? { kind: 'vllm', command: ['vllm', 'bench', 'serve'] } : null,
      device: {
        deviceId: 'thor-01',
        simulated: sweep.simulated,
        model: 'NVIDIA Jetson AGX Thor Developer Kit',
        l4tRelease: 'R38.2.1',
        bootId: 'b1',
        powerModeName: p.power.mode ?? 'MAXN',
        powerModeId: 0,
        clocksLocked: p.clocks === 'locked',
      },
      engine: { image: exp.engine.image, containerName: 'thorbench-engine', command: ['vllm', 'serve'], exitCode: m ? null : 137, oomKilled: !m, logTail: m ? null : 'loading\nKilled' },
      steps: [
        { step: 'startEngine', startedAt: new Date(start).toISOString(), durationMs: 60_000, result: 'done' },
        { step: 'benchmark', startedAt: new Date(start + 60_000).toISOString(), durationMs: 45_000, result: m ? 'done' : 'failed: EngineCrashed' },
      ],
      artifactsDir: null,
      simulated: sweep.simulated,
      startedAt: new Date(start).toISOString(),
      finishedAt: new Date(start + 105_000).toISOString(),
    };
  });
}

/**
 * A sweep that varies everything a report draws: MAXN/120W × clocks default/locked × FP8/AWQ × high/low load, two
 * repeats each, energy measured, one cell failed with its engine's log. Numbers follow the guide's power table
 * (FP8) and scale it for AWQ; the second repeat is 2 % faster.
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
  const guide: Record<string, [number, number, number]> = {
    'maxn.default.high-load': [251.56, 554.96, 26.96],
    'maxn.locked.high-load': [298.07, 495.44, 22.59],
    '120w.default.high-load': [240.14, 580.06, 28.27],
    '120w.locked.high-load': [249.82, 457.83, 27.99],
    'maxn.default.low-load': [63.61, 35.7, 15.56],
    'maxn.locked.low-load': [111.15, 23.06, 8.88],
    '120w.default.low-load': [63.9, 34.54, 15.5],
    '120w.locked.low-load': [79.94, 27.23, 12.39],
  };
  const sweep = sweepOf(exp);
  const cells = cellsOf(exp, sweep, (p) => {
    if (p.powerKey === '120w' && p.clocks === 'default' && p.model.id === 'qwen3-8b-awq' && p.scenario.name === 'low-load' && p.repeat === 2) return null;
    const [tok, ttft, tpot] = guide[`${p.powerKey}.${p.clocks}.${p.scenario.name}`]!;
    const awq = p.model.id === 'qwen3-8b-awq';
    const f = p.repeat === 2 ? 1.02 : 1;
    const t = (awq ? tok * 0.36 : tok) * f;
    const watts = p.powerKey === 'maxn' ? 95 : 78;
    return metrics(t / 128, t, (awq ? ttft * 3.6 : ttft) / f, (awq ? tpot * 2.8 : tpot) / f, {
      energy_per_output_token_j: watts / t,
      output_throughput_per_w: t / watts,
      avg_power_w: watts,
    });
  });
  return { exp, sweep, cells };
}
