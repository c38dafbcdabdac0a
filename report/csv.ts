/**
 * CSV export: one row per cell with every BenchmarkMetrics key, for spreadsheets and pandas. Numbers are written
 * at full precision (the reports round; analysis should not). RFC 4180: CRLF line ends, quoted fields as needed.
 */
import { METRIC_KEYS } from '../schema/metrics.js';
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

export function renderCsv(cells: readonly CellRecord[]): string {
  const lines = [CSV_COLUMNS.map(csvField).join(',')];
  for (const c of [...cells].sort(byPlanOrder)) {
    const id = identity(c);
    const fields = [
      ...IDENTITY_COLUMNS.map((k) => csvField(id[k])),
      ...CSV_METRIC_COLUMNS.map((k) => {
        const v = c.metrics?.[k];
        return csvField(typeof v === 'number' || typeof v === 'string' ? v : null);
      }),
    ];
    lines.push(fields.join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
