/**
 * CSV export: one row per cell with every BenchmarkMetrics key, then every other percentile key any cell has
 * (p50_ttft_ms, p99.9_itl_ms, …), for spreadsheets and pandas. Numbers are written at full precision (the reports
 * round; analysis should not). RFC 4180: CRLF line ends, quoted fields as needed.
 */
import { LATENCY_METRICS, METRIC_KEYS, PERCENTILE_KEY_RE, percentileKeysOf } from '../schema/metrics.js';
import type { CellRecord } from '../schema/outcome.js';
import { csvField } from './format.js';
import { byPlanOrder } from './model.js';

/** Metric columns in the schema's order (vLLM's `--save-result` names). */
export const CSV_METRIC_COLUMNS = METRIC_KEYS;

const IDENTITY_COLUMNS = [
  'sweep_id', 'experiment_name', 'cell_id', 'repeat', 'position', 'status', 'power', 'clocks', 'model_id', 'quantization', 'model_size',
  'scenario', 'failure_type', 'failure_message', 'failure_retryable', 'failure_step', 'simulated', 'device_id', 'started_at', 'finished_at',
] as const;

export const CSV_COLUMNS: readonly string[] = [...IDENTITY_COLUMNS, ...CSV_METRIC_COLUMNS];

function identity(c: CellRecord): Record<(typeof IDENTITY_COLUMNS)[number], string | number | boolean | null> {
  return {
    sweep_id: c.sweepId,
    experiment_name: c.experimentName,
    cell_id: c.cellId,
    repeat: c.repeat,
    position: c.position,
    status: c.status,
    power: c.power,
    clocks: c.clocks,
    model_id: c.modelId,
    quantization: c.quantization,
    model_size: c.modelSize,
    scenario: c.scenario,
    failure_type: c.failure?.type ?? null,
    failure_message: c.failure?.message ?? null,
    failure_retryable: c.failure ? c.failure.retryable : null,
    failure_step: c.failure?.step ?? null,
    simulated: c.simulated,
    device_id: c.device?.deviceId ?? null,
    started_at: c.startedAt,
    finished_at: c.finishedAt,
  };
}

/** Percentile keys beyond the fixed p99 ones (harness.percentiles: p50_ttft_ms, p99.9_itl_ms, …), by metric, then P. */
function extraPercentileColumns(cells: readonly CellRecord[]): string[] {
  const fixed = new Set<string>(METRIC_KEYS);
  const keys = new Set<string>();
  for (const c of cells) if (c.metrics) for (const k of percentileKeysOf(c.metrics)) if (!fixed.has(k)) keys.add(k);
  const order = (k: string): [number, number] => {
    const m = PERCENTILE_KEY_RE.exec(k)!;
    return [LATENCY_METRICS.indexOf(m[2] as (typeof LATENCY_METRICS)[number]), Number(m[1])];
  };
  return [...keys].sort((a, b) => order(a)[0] - order(b)[0] || order(a)[1] - order(b)[1]);
}

export function renderCsv(cells: readonly CellRecord[]): string {
  const extra = extraPercentileColumns(cells);
  const lines = [[...CSV_COLUMNS, ...extra].map(csvField).join(',')];
  for (const c of [...cells].sort(byPlanOrder)) {
    const id = identity(c);
    const fields = [
      ...IDENTITY_COLUMNS.map((k) => csvField(id[k])),
      ...CSV_METRIC_COLUMNS.map((k) => {
        const v = c.metrics?.[k];
        return csvField(typeof v === 'number' || typeof v === 'string' ? v : null);
      }),
      ...extra.map((k) => {
        const v = (c.metrics as Record<string, unknown> | null)?.[k];
        return csvField(typeof v === 'number' ? v : null);
      }),
    ];
    lines.push(fields.join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
