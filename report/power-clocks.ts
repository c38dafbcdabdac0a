/**
 * The power mode × jetson_clocks comparison the guide draws from its power sweep: for the same model and scenario,
 * what locking the clocks changes within a power mode ("+18.5 % throughput") and what another power mode changes
 * at the same clocks setting, as relative changes of output throughput, mean TTFT and mean TPOT. Pure.
 */
import type { BenchmarkMetrics } from '../schema/metrics.js';
import { fmtFixed, yesNo } from './format.js';
import { metricStat, type ReportModel, type RowGroup } from './model.js';
import type { Table } from './tables.js';

/** "+18.5 %", "−42.9 %": the guide's way of writing a relative change (one decimal, a real minus sign). */
export function fmtChange(fraction: number | null): string {
  if (fraction === null || !Number.isFinite(fraction)) return '—';
  const pct = fraction * 100;
  const text = Math.abs(pct).toFixed(1);
  if (text === '0.0') return '±0.0 %';
  return `${pct > 0 ? '+' : '−'}${text} %`;
}

const COMPARED: ReadonlyArray<{ metric: string; short: string; key: keyof BenchmarkMetrics; higherIsBetter: boolean }> =
  [
    { metric: 'Output throughput', short: 'throughput', key: 'output_throughput', higherIsBetter: true },
    { metric: 'Mean TTFT', short: 'TTFT', key: 'mean_ttft_ms', higherIsBetter: false },
    { metric: 'Mean TPOT', short: 'TPOT', key: 'mean_tpot_ms', higherIsBetter: false },
  ];

export interface MetricChange {
  metric: string;
  /** The word the summary uses: "throughput", "TTFT", "TPOT". */
  short: string;
  from: number | null;
  to: number | null;
  /** (to − from) / from; null when either side is missing. */
  change: number | null;
  /** The change is an improvement (more throughput or less latency). */
  better: boolean;
}

export interface PowerClocksComparison {
  scenario: string;
  modelId: string;
  variant: string;
  /** "MAXN: jetson_clocks no → yes" or "jetson_clocks yes: MAXN → 120W". */
  label: string;
  changes: MetricChange[];
}

function compare(scenario: string, label: string, a: RowGroup, b: RowGroup): PowerClocksComparison {
  return {
    scenario,
    modelId: a.modelId,
    variant: `${a.modelName} (${a.quantLabel})`,
    label,
    changes: COMPARED.map(({ metric, short, key, higherIsBetter }) => {
      const from = metricStat(a, key)?.mean ?? null;
      const to = metricStat(b, key)?.mean ?? null;
      const change = from !== null && to !== null && from !== 0 ? (to - from) / from : null;
      return { metric, short, from, to, change, better: change !== null && (higherIsBetter ? change > 0 : change < 0) };
    }),
  };
}

/**
 * Per scenario and model: jetson_clocks off → on within each power mode, then each further power mode against the
 * first one at the same clocks setting. Empty when the sweep varies neither power mode nor clocks.
 */
export function powerClocksComparisons(model: ReportModel): PowerClocksComparison[] {
  if (!model.dims.power && !model.dims.clocks) return [];
  const out: PowerClocksComparison[] = [];
  for (const section of model.sections) {
    const models = [...new Set(section.rows.map((g) => g.modelId))];
    for (const modelId of models) {
      const rows = section.rows.filter((g) => g.modelId === modelId);
      const find = (power: string, clocks: string) => rows.find((g) => g.power === power && g.clocks === clocks);
      const powers = [...new Set(rows.map((g) => g.power))];
      for (const power of powers) {
        const off = find(power, 'default');
        const on = find(power, 'locked');
        if (off && on) out.push(compare(section.scenario, `${off.powerLabel}: jetson_clocks no → yes`, off, on));
      }
      for (const clocks of ['default', 'locked']) {
        const base = powers.map((p) => find(p, clocks)).find((g) => g !== undefined);
        if (!base) continue;
        for (const power of powers) {
          const other = find(power, clocks);
          if (!other || other === base) continue;
          out.push(
            compare(
              section.scenario,
              `jetson_clocks ${yesNo(clocks === 'locked')}: ${base.powerLabel} → ${other.powerLabel}`,
              base,
              other,
            ),
          );
        }
      }
    }
  }
  return out;
}

/** "+18.5 % throughput, −10.7 % TTFT, −16.2 % TPOT". */
export function changeSummary(c: PowerClocksComparison): string {
  return (
    c.changes
      .filter((ch) => ch.change !== null)
      .map((ch) => `${fmtChange(ch.change)} ${ch.short}`)
      .join(', ') || '—'
  );
}

/** The comparison as a table: "251.56 → 298.07 (+18.5 %)" per metric, and the summary the guide writes. */
export function powerClocksTable(model: ReportModel): Table {
  const comparisons = powerClocksComparisons(model);
  const withModel = model.dims.model;
  const headers = [
    'Scenario',
    ...(withModel ? ['Model'] : []),
    'Comparison',
    ...COMPARED.map((m) => `${m.metric}${m.key === 'output_throughput' ? ' (tok/s)' : ' (ms)'}`),
    'Change',
  ];
  const rows = comparisons.map((c) => [
    c.scenario,
    ...(withModel ? [c.variant] : []),
    c.label,
    ...c.changes.map((ch) =>
      ch.from === null || ch.to === null
        ? '—'
        : `${fmtFixed(ch.from, 2)} → ${fmtFixed(ch.to, 2)} (${fmtChange(ch.change)})`,
    ),
    changeSummary(c),
  ]);
  return { headers, rows, bestRow: null };
}
