/**
 * CSV export: one row per cell with every BenchmarkMetrics key, then every other percentile key any cell has
 * (p50_ttft_ms, p99.9_itl_ms, …), for spreadsheets and pandas. Numbers are written at full precision (the reports
 * round; analysis should not). RFC 4180: CRLF line ends, quoted fields as needed.
 */
import { LATENCY_METRICS, METRIC_KEYS, PERCENTILE_KEY_RE, percentileKeysOf } from '../schema/metrics.js';
import type { CellRecord } from '../schema/outcome.js';
import { COORDINATE_COLUMNS, coordinateFields, FAILURE_COLUMNS, failureFields } from '../store/cell-row.js';
import { csvField } from './format.js';
import { byPlanOrder } from './model.js';

/** Metric columns in the schema's order (vLLM's `--save-result` names). */
export const CSV_METRIC_COLUMNS = METRIC_KEYS;

const IDENTITY_COLUMNS = [
  'sweep_id',
  'experiment_name',
  'cell_id',
  'repeat',
  'position',
  'status',
  ...COORDINATE_COLUMNS,
  ...FAILURE_COLUMNS,
  'simulated',
  'device_id',
  'started_at',
  'finished_at',
] as const;

/** Validity, energy status and provenance: what the numbers of a row can be trusted for, and what produced them. */
const PROVENANCE_COLUMNS = [
  'valid',
  'verdict_reasons',
  'energy_status',
  'energy_reason',
  'max_temp_c',
  'max_temp_sensor',
  'thorbench_version',
  'device_model',
  'l4t_release',
  'power_mode_after',
  'power_mode_id_after',
  'clocks_locked_after',
  'gpu_mhz_after',
  'gpu_max_mhz_after',
  'emc_mhz_after',
  'emc_max_mhz_after',
  'cpu_mhz_after',
  'engine_image',
  'engine_image_digest',
  'engine_version',
  'engine_argv',
  'harness_kind',
  'harness_argv',
  'moved_from_device',
  'moved_reason',
  'moved_at',
] as const;

export const CSV_COLUMNS: readonly string[] = [...IDENTITY_COLUMNS, ...CSV_METRIC_COLUMNS, ...PROVENANCE_COLUMNS];

function identity(c: CellRecord): Record<(typeof IDENTITY_COLUMNS)[number], string | number | boolean | null> {
  return {
    sweep_id: c.sweepId,
    experiment_name: c.experimentName,
    cell_id: c.cellId,
    repeat: c.repeat,
    position: c.position,
    status: c.status,
    ...coordinateFields(c),
    ...failureFields(c),
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

type Field = string | number | boolean | null;

/** Lists in one field: reasons joined by "; ", argv and frequencies as JSON arrays (unambiguous, easy to split). */
function provenance(c: CellRecord): Record<(typeof PROVENANCE_COLUMNS)[number], Field> {
  const after = c.device?.clocksAfter ?? null;
  return {
    valid: c.verdict.valid,
    verdict_reasons: c.verdict.reasons.join('; '),
    energy_status: c.energy?.status ?? null,
    energy_reason: c.energy?.status === 'unavailable' ? c.energy.reason : null,
    max_temp_c: c.thermal?.maxTempC ?? null,
    max_temp_sensor: c.thermal?.maxTempSensor ?? null,
    thorbench_version: c.thorbenchVersion,
    device_model: c.device?.model ?? null,
    l4t_release: c.device?.l4tRelease ?? null,
    power_mode_after: c.device?.powerModeAfter?.name ?? null,
    power_mode_id_after: c.device?.powerModeAfter?.id ?? null,
    clocks_locked_after: after?.locked ?? null,
    gpu_mhz_after: after?.gpuMhz ?? null,
    gpu_max_mhz_after: after?.gpuMaxMhz ?? null,
    emc_mhz_after: after?.emcMhz ?? null,
    emc_max_mhz_after: after?.emcMaxMhz ?? null,
    cpu_mhz_after: after ? JSON.stringify(after.cpuMhz) : null,
    engine_image: c.engine?.image ?? null,
    engine_image_digest: c.engine?.imageDigest ?? null,
    engine_version: c.engine?.version ?? null,
    engine_argv: c.engine ? JSON.stringify(c.engine.command) : null,
    harness_kind: c.harness?.kind ?? null,
    harness_argv: c.harness ? JSON.stringify(c.harness.command) : null,
    moved_from_device: c.movedFrom?.deviceId ?? null,
    moved_reason: c.movedFrom?.reason ?? null,
    moved_at: c.movedFrom?.at ?? null,
  };
}

export function renderCsv(cells: readonly CellRecord[]): string {
  const extra = extraPercentileColumns(cells);
  const lines = [[...CSV_COLUMNS, ...extra].map(csvField).join(',')];
  for (const c of [...cells].sort(byPlanOrder)) {
    const id = identity(c);
    const prov = provenance(c);
    const fields = [
      ...IDENTITY_COLUMNS.map((k) => csvField(id[k])),
      ...CSV_METRIC_COLUMNS.map((k) => {
        const v = c.metrics?.[k];
        return csvField(typeof v === 'number' || typeof v === 'string' ? v : null);
      }),
      ...PROVENANCE_COLUMNS.map((k) => csvField(prov[k])),
      ...extra.map((k) => {
        const v = (c.metrics as Record<string, unknown> | null)?.[k];
        return csvField(typeof v === 'number' ? v : null);
      }),
    ];
    lines.push(fields.join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
