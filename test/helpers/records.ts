/**
 * Cell records and sweeps for the tests of pure logic over results (recommendations, regression comparison): a
 * configuration is written as its cell id (`power.clocks.model.scenario[.rN]`) and a few headline numbers, and
 * becomes a full CellRecord as the results store returns it.
 */
import type { ReportInput } from '../../report/model.js';
import type { BenchmarkMetrics } from '../../schema/metrics.js';
import type { CellRecord } from '../../schema/outcome.js';
import type { SweepRecord } from '../../store/sweep.js';

export interface Measured {
  /** Cell id, e.g. maxn.locked.qwen3-8b-fp8.chat or …chat.r2. */
  id: string;
  tok: number;
  ttft: number;
  tpot: number;
  /** J per output token; undefined: energy not measured. */
  j?: number;
  invalid?: string[];
  status?: CellRecord['status'];
  harness?: string;
  image?: string;
  extra?: Record<string, number>;
}

const QUANT: Record<string, string> = { fp8: 'fp8', awq: 'awq', fp4: 'fp4', bf16: 'bf16' };

/** A record as the store gives it back: power.clocks.model.scenario[.rN] parsed from the id. */
export function record(sweepId: string, m: Measured, position: number): CellRecord {
  const [power, clocks, model, scenario] = m.id.split('.') as [string, string, string, string];
  const repeat = Number(/\.r(\d+)$/.exec(m.id)?.[1] ?? 1);
  const quant = QUANT[model.split('-').at(-1)!] ?? 'fp8';
  const ok = (m.status ?? 'succeeded') === 'succeeded';
  const metrics = {
    duration: 60,
    completed: 100,
    failed: 0,
    total_input_tokens: 51200,
    total_output_tokens: m.tok * 60,
    request_throughput: m.tok / 128,
    output_throughput: m.tok,
    total_token_throughput: m.tok * 5,
    mean_ttft_ms: m.ttft * 0.6,
    median_ttft_ms: m.ttft * 0.55,
    p99_ttft_ms: m.ttft,
    mean_tpot_ms: m.tpot,
    median_tpot_ms: m.tpot,
    p99_tpot_ms: m.tpot * 1.2,
    mean_itl_ms: m.tpot,
    median_itl_ms: m.tpot,
    p99_itl_ms: m.tpot * 2,
    ...(m.j === undefined
      ? { energy_j: null, avg_power_w: null, energy_per_output_token_j: null, output_throughput_per_w: null }
      : {
          energy_j: m.j * m.tok * 60,
          avg_power_w: m.j * m.tok,
          energy_per_output_token_j: m.j,
          output_throughput_per_w: 1 / m.j,
        }),
    ...m.extra,
  } as BenchmarkMetrics;
  return {
    sweepId,
    experimentName: sweepId,
    cellId: m.id,
    repeat,
    position,
    power,
    clocks: clocks === 'locked' ? 'locked' : 'default',
    modelId: model,
    quantization: quant,
    modelSize: null,
    scenario,
    status: m.status ?? 'succeeded',
    failure: ok ? null : { type: 'EngineCrashed', message: 'engine died', retryable: false, step: 'benchmark' },
    metrics: ok ? metrics : null,
    harness: ok ? { kind: m.harness ?? 'builtin', command: [] } : null,
    device: null,
    engine: m.image
      ? { image: m.image, containerName: 'e', command: [], exitCode: null, oomKilled: false, logTail: null }
      : null,
    steps: [],
    artifactsDir: null,
    simulated: true,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    energy: null,
    thermal: null,
    verdict: m.invalid
      ? { valid: false, reasons: m.invalid }
      : ok
        ? { valid: true, reasons: [] }
        : { valid: false, reasons: ['no benchmark result: the cell was failed (EngineCrashed)'] },
    thorbenchVersion: '0.1.0',
  };
}

export function sweepInput(sweepId: string, measured: readonly Measured[], experiment: object = {}): ReportInput {
  const sweep: SweepRecord = {
    sweepId,
    experimentName: sweepId,
    experimentJson: JSON.stringify({ name: sweepId, ...experiment }),
    workflowId: null,
    simulated: true,
    plannedCells: measured.length,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T01:00:00.000Z',
    state: 'completed',
  };
  return { sweep, cells: measured.map((m, i) => record(sweepId, m, i)) };
}
