/**
 * The report's charts as Vega-Lite specifications: pure functions from the report model (and, where available, the
 * per-request samples) to specs with their data inlined. Nothing here renders or reads anything; report/render.ts
 * compiles and draws them to SVG. A chart with nothing to show is left out rather than drawn empty.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import { type CellRecord, stepResultLabel } from '../schema/outcome.js';
import { yesNo } from './format.js';
import { metricStat, type ReportModel, type RowGroup, type Stat } from './model.js';
import { fmtChange, powerClocksComparisons } from './power-clocks.js';
import { outcomeText } from './tables.js';

/** One chart of the report: a stable id (file names, anchors), a title and the spec. */
export interface ChartSpec {
  id: string;
  title: string;
  /** One sentence saying what the chart shows, for the page and for screen readers. */
  description: string;
  spec: TopLevelSpec;
}

/** Latencies of one cell's requests in milliseconds, from its per-request artifact. */
export interface RequestSamples {
  ttftsMs: number[];
  /** Every inter-token gap of every request, pooled as vLLM pools them. */
  itlsMs: number[];
}

/** Per-request samples by `cellSampleKey`. */
export type SamplesByCell = ReadonlyMap<string, RequestSamples>;

export function cellSampleKey(cell: Pick<CellRecord, 'cellId' | 'repeat'>): string {
  return `${cell.cellId}#${cell.repeat}`;
}

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 480;
/** Colours that stay distinguishable for up to 20 variants (Vega's tableau20). */
const COLOR_SCHEME = 'tableau20';

/** What identifies a row in every chart: its varying columns, its model variant and its power/clocks setting. */
interface RowIdentity {
  scenario: string;
  label: string;
  variant: string;
  config: string;
}

/**
 * A row's label on a chart axis: what varies among model, power mode and clocks, e.g. "Qwen3-8B-FP8 · MAXN ·
 * clocks locked" (the table's columns spell the same out in full).
 */
export function chartLabel(dims: ReportModel['dims'], group: RowGroup): string {
  const parts: string[] = [];
  if (dims.model || (!dims.power && !dims.clocks)) parts.push(group.modelName);
  if (dims.power) parts.push(group.powerLabel);
  if (dims.clocks) parts.push(`clocks ${group.clocks}`);
  return parts.join(' · ');
}

function identity(model: ReportModel, group: RowGroup): RowIdentity {
  return {
    scenario: group.scenario,
    label: chartLabel(model.dims, group),
    variant: `${group.modelName} (${group.quantLabel})`,
    config: `${group.powerLabel} · jetson_clocks ${yesNo(group.clocks === 'locked')}`,
  };
}

function allRows(model: ReportModel): RowGroup[] {
  return model.sections.flatMap((s) => s.rows);
}

function scenarioOrder(model: ReportModel): string[] {
  return model.sections.map((s) => s.scenario);
}

function labelOrder(model: ReportModel): string[] {
  return [...new Set(allRows(model).map((g) => identity(model, g).label))];
}

function variantOrder(model: ReportModel): string[] {
  return [...new Set(allRows(model).map((g) => identity(model, g).variant))];
}

/** Facet columns by `field`, each headed by its value in bold, in `sort` order when given. */
export function columnFacet(field: string, sort?: readonly string[]) {
  return {
    field,
    type: 'nominal',
    ...(sort ? { sort } : {}),
    title: null,
    header: { labelFontWeight: 'bold', labelFontSize: 12 },
  } as const;
}

/** Facet rows titled above their panel, left-aligned, like a sub-heading. */
const ROW_HEADER = {
  labelOrient: 'top' as const,
  labelAngle: 0,
  labelAlign: 'left' as const,
  labelAnchor: 'start' as const,
  labelFontWeight: 'bold' as const,
  labelFontSize: 12,
  labelPadding: 6,
};

const scenarioRow = (model: ReportModel) => ({
  field: 'scenario',
  type: 'nominal' as const,
  sort: scenarioOrder(model),
  title: null,
  header: ROW_HEADER,
});

const variantColor = (model: ReportModel) => ({
  field: 'variant',
  type: 'nominal' as const,
  sort: variantOrder(model),
  scale: { scheme: COLOR_SCHEME, domain: variantOrder(model) },
  title: 'Model (quantization)',
});

/** A datum of the bar charts: one statistic of one row, with its spread over repeats. */
export interface BarDatum extends RowIdentity {
  stat: string;
  value: number | null;
  /** 95 % confidence interval of the mean over repeats; equal to value for a single run. */
  lo: number | null;
  hi: number | null;
  runs: number;
  /** Why a row has no value (failed, skipped, pending). */
  note: string | null;
}

function barDatum(model: ReportModel, group: RowGroup, stat: string, s: Stat | null): BarDatum {
  // The error bar is the 95 % confidence interval of the mean the tables print as "mean ± half-width".
  const half = s?.ci95HalfWidth ?? null;
  return {
    ...identity(model, group),
    stat,
    value: s?.mean ?? null,
    lo: s === null ? null : half === null ? s.mean : s.mean - half,
    hi: s === null ? null : half === null ? s.mean : s.mean + half,
    runs: s?.n ?? 0,
    // A row that succeeded but lacks this metric (e.g. no power rail was read) says so, not "succeeded".
    note: s !== null ? null : group.succeeded.length > 0 ? 'not measured' : outcomeText(group.cells.at(-1)),
  };
}

export function barData(model: ReportModel, stats: ReadonlyArray<[string, keyof BenchmarkMetrics]>): BarDatum[] {
  const data: BarDatum[] = [];
  for (const group of allRows(model)) {
    const values = stats.map(([name, key]) => barDatum(model, group, name, metricStat(group, key)));
    // A row that measured none of the stats shows its outcome once.
    if (values.every((v) => v.value === null)) data.push(values[0]!);
    else data.push(...values.filter((v) => v.value !== null));
  }
  return data;
}

/**
 * Horizontal bars per row, one panel per scenario, with the 95 % confidence interval over repeats as an error bar
 * and the outcome written where a row has no value. Several statistics (mean, p99) sit side by side, told apart by
 * opacity.
 */
function barChart(
  model: ReportModel,
  opts: {
    id: string;
    title: string;
    description: string;
    axis: string;
    stats: ReadonlyArray<[string, keyof BenchmarkMetrics]>;
    digits: number;
  },
): ChartSpec | null {
  const data = barData(model, opts.stats);
  if (!data.some((d) => d.value !== null)) return null;
  const multi = opts.stats.length > 1;
  const y = {
    field: 'label',
    type: 'nominal' as const,
    sort: labelOrder(model),
    title: null,
    axis: { labelLimit: 320 },
  };
  const yOffset = multi
    ? { yOffset: { field: 'stat', type: 'nominal' as const, sort: opts.stats.map(([s]) => s) } }
    : {};
  const spec = {
    $schema: SCHEMA,
    title: { text: opts.title, subtitle: opts.description, anchor: 'start' },
    description: opts.description,
    data: { values: data },
    facet: { row: scenarioRow(model) },
    spec: {
      width: WIDTH,
      height: { step: multi ? 22 : 16 },
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          transform: [{ filter: 'datum.value !== null' }],
          encoding: {
            y,
            ...yOffset,
            x: { field: 'value', type: 'quantitative', title: opts.axis },
            color: variantColor(model),
            ...(multi
              ? {
                  opacity: {
                    field: 'stat',
                    type: 'nominal',
                    sort: opts.stats.map(([s]) => s),
                    scale: { range: [1, 0.45] },
                    title: 'Statistic',
                  },
                }
              : {}),
          },
        },
        {
          mark: { type: 'rule', color: '#24292f', strokeWidth: 1.5 },
          transform: [{ filter: 'datum.runs > 1' }],
          encoding: { y, ...yOffset, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } },
        },
        {
          mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, fontSize: 10 },
          transform: [{ filter: 'datum.value !== null' }],
          encoding: {
            y,
            ...yOffset,
            x: { field: 'hi', type: 'quantitative' },
            text: { field: 'value', type: 'quantitative', format: `.${opts.digits}f` },
          },
        },
        {
          mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, color: '#cf222e', fontSize: 11 },
          transform: [{ filter: 'datum.value === null' }, { calculate: '0', as: 'zero' }],
          encoding: { y, x: { field: 'zero', type: 'quantitative' }, text: { field: 'note' } },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
  return { id: opts.id, title: opts.title, description: opts.description, spec: spec as TopLevelSpec };
}

const spreadNote = (model: ReportModel) =>
  model.dims.repeats ? ' Error bars: 95 % confidence interval of the mean over repeats.' : '';

export function throughputChart(model: ReportModel): ChartSpec | null {
  return barChart(model, {
    id: 'throughput',
    title: 'Output token throughput',
    description: `Output tokens per second per row and scenario; higher is better.${spreadNote(model)}`,
    axis: 'Output token throughput (tok/s)',
    stats: [['mean', 'output_throughput']],
    digits: 2,
  });
}

export function latencyChart(model: ReportModel, metric: 'ttft' | 'tpot'): ChartSpec | null {
  const name = metric.toUpperCase();
  return barChart(model, {
    id: metric,
    title: `${name}: mean and p99`,
    description:
      `${metric === 'ttft' ? 'Time to first token' : 'Time per output token (excluding the first)'}, ` +
      `mean and 99th percentile, in ms; lower is better.${spreadNote(model)}`,
    axis: `${name} (ms)`,
    stats: [
      ['mean', `mean_${metric}_ms`],
      ['p99', `p99_${metric}_ms`],
    ],
    digits: 2,
  });
}

export function energyChart(model: ReportModel): ChartSpec | null {
  return barChart(model, {
    id: 'energy',
    title: 'Energy per output token',
    description:
      "Joules per output token from the board's input rail over the benchmark window; lower is better." +
      spreadNote(model),
    axis: 'Energy (J/token)',
    stats: [['mean', 'energy_per_output_token_j']],
    digits: 3,
  });
}

// The pieces of a chart of relative changes (power mode × clocks here, two sweeps in report/compare.ts).

/** The x axis: the change in percent; `padding` leaves room for the labels beside the bars. */
export function changeAxis(padding: number) {
  return { field: 'change', type: 'quantitative', title: 'Change (%)', scale: { padding } } as const;
}

/** Green for a change for the better, red for the worse, from a `better` field holding one of the two names. */
export function betterWorseColor(better: string, worse: string) {
  return {
    field: 'better',
    type: 'nominal',
    scale: { domain: [better, worse], range: ['#1a7f37', '#cf222e'] },
    title: null,
  } as const;
}

/** The line at no change. */
export const ZERO_RULE = { mark: { type: 'rule', color: '#57606a' }, encoding: { x: { datum: 0 } } } as const;

export function powerClocksChart(model: ReportModel): ChartSpec | null {
  const comparisons = powerClocksComparisons(model);
  if (comparisons.length === 0) return null;
  const data = comparisons.flatMap((c) =>
    c.changes
      .filter((ch) => ch.change !== null)
      .map((ch) => ({
        panel: model.dims.model ? `${c.scenario} · ${c.variant}` : c.scenario,
        comparison: c.label,
        metric: ch.metric,
        change: (ch.change ?? 0) * 100,
        text: `${fmtChange(ch.change)} ${ch.short}`,
        better: ch.better ? 'better' : 'worse',
      })),
  );
  if (data.length === 0) return null;
  const metrics = [...new Set(data.map((d) => d.metric))];
  const y = {
    field: 'comparison',
    type: 'nominal',
    sort: [...new Set(data.map((d) => d.comparison))],
    title: null,
    axis: { labelLimit: 300 },
  };
  const yOffset = { field: 'metric', type: 'nominal', sort: metrics };
  const spec = {
    $schema: SCHEMA,
    title: {
      text: 'Power mode × jetson_clocks: relative change',
      subtitle:
        'Change of output throughput, mean TTFT and mean TPOT from the first setting to the second; green is better.',
      anchor: 'start',
    },
    description: 'Relative change of output throughput, mean TTFT and mean TPOT between power-mode and clock settings.',
    data: { values: data },
    facet: {
      row: {
        field: 'panel',
        type: 'nominal',
        title: null,
        sort: [...new Set(data.map((d) => d.panel))],
        header: ROW_HEADER,
      },
    },
    spec: {
      width: WIDTH - 60,
      height: { step: 20 },
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            y,
            yOffset,
            x: changeAxis(110),
            color: betterWorseColor('better', 'worse'),
            opacity: {
              field: 'metric',
              type: 'nominal',
              sort: metrics,
              scale: { range: [1, 0.7, 0.45] },
              legend: null,
            },
          },
        },
        {
          // The value beside the end of its bar, outside it: right of a gain, left of a loss.
          mark: {
            type: 'text',
            baseline: 'middle',
            fontSize: 10,
            align: { expr: "datum.change >= 0 ? 'left' : 'right'" },
            dx: { expr: 'datum.change >= 0 ? 4 : -4' },
          },
          encoding: {
            y,
            yOffset,
            x: { field: 'change', type: 'quantitative' },
            text: { field: 'text' },
            detail: { field: 'metric' },
          },
        },
        ZERO_RULE,
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
  return {
    id: 'power-clocks',
    title: 'Power mode × jetson_clocks',
    description: spec.description,
    spec: spec as TopLevelSpec,
  };
}

export interface TradeoffPoint {
  scenario: string;
  latencyMetric: string;
  latency: number;
  throughput: number;
  cellId: string;
  variant: string;
  config: string;
  pareto: boolean;
}

/**
 * The Pareto front of (latency, throughput) points: those no other point beats on both (at most the latency and at
 * least the throughput, better in one). Returns the indices of the front, by increasing latency.
 */
export function paretoFront(points: ReadonlyArray<{ latency: number; throughput: number }>): number[] {
  const order = points
    .map((_, i) => i)
    .sort((a, b) => points[a]!.latency - points[b]!.latency || points[b]!.throughput - points[a]!.throughput);
  const front: number[] = [];
  let best = -Infinity;
  for (const i of order) {
    if (points[i]!.throughput > best) {
      front.push(i);
      best = points[i]!.throughput;
    }
  }
  return front;
}

export function tradeoffData(model: ReportModel): TradeoffPoint[] {
  const metrics: Array<[string, keyof BenchmarkMetrics]> = [
    ['Mean TTFT (ms)', 'mean_ttft_ms'],
    ['Mean TPOT (ms)', 'mean_tpot_ms'],
  ];
  const data: TradeoffPoint[] = [];
  for (const section of model.sections) {
    for (const [latencyMetric, key] of metrics) {
      const points: TradeoffPoint[] = [];
      for (const group of section.rows) {
        const id = identity(model, group);
        for (const cell of group.succeeded) {
          const latency = cell.metrics?.[key];
          const throughput = cell.metrics?.output_throughput;
          if (typeof latency !== 'number' || typeof throughput !== 'number') continue;
          points.push({
            scenario: section.scenario,
            latencyMetric,
            latency,
            throughput,
            cellId: cell.cellId,
            variant: id.variant,
            config: id.config,
            pareto: false,
          });
        }
      }
      for (const i of paretoFront(points)) points[i]!.pareto = true;
      data.push(...points);
    }
  }
  return data;
}

export function tradeoffChart(model: ReportModel): ChartSpec | null {
  const data = tradeoffData(model);
  if (data.length === 0) return null;
  const configs = [...new Set(data.map((d) => d.config))];
  const x = { field: 'latency', type: 'quantitative', title: 'Latency (ms)', scale: { type: 'log' } };
  const yEnc = { field: 'throughput', type: 'quantitative', title: 'Output tok/s', scale: { zero: false } };
  const spec = {
    $schema: SCHEMA,
    title: {
      text: 'Throughput against latency',
      subtitle:
        'One point per cell; ringed and joined by the dashed line: the Pareto front ' +
        '(no other cell has more throughput at less latency).',
      anchor: 'start',
    },
    description: 'Output token throughput against mean TTFT and mean TPOT, one point per cell, with the Pareto front.',
    data: { values: data },
    facet: {
      row: scenarioRow(model),
      column: columnFacet('latencyMetric'),
    },
    spec: {
      width: 300,
      height: 220,
      layer: [
        {
          mark: { type: 'line', strokeDash: [5, 4], color: '#57606a' },
          transform: [{ filter: 'datum.pareto' }],
          encoding: { x, y: yEnc, order: { field: 'latency', type: 'quantitative' } },
        },
        {
          mark: { type: 'point', shape: 'circle', filled: false, size: 300, color: '#24292f', strokeWidth: 1.5 },
          transform: [{ filter: 'datum.pareto' }],
          encoding: { x, y: yEnc },
        },
        {
          mark: { type: 'point', filled: true, size: 80, opacity: 0.9, tooltip: true },
          encoding: {
            x,
            y: yEnc,
            color: variantColor(model),
            shape: { field: 'config', type: 'nominal', sort: configs, title: 'Power mode · clocks' },
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
  return {
    id: 'tradeoff',
    title: 'Throughput against latency',
    description: spec.description,
    spec: spec as TopLevelSpec,
  };
}

/** Linear-interpolated quantile of sorted values (numpy's default, as vLLM's percentiles). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

/** Fractions at which a CDF is drawn from samples: every percent, plus the tail at 99.5 and 99.9. */
const CDF_LEVELS = [...Array.from({ length: 101 }, (_, i) => i / 100), 0.995, 0.999].sort((a, b) => a - b);

/** The latency axis starts here (log scale); smaller values are drawn at it. */
export const CDF_FLOOR_MS = 0.1;

export interface CdfDatum {
  scenario: string;
  metric: 'TTFT' | 'ITL';
  label: string;
  variant: string;
  ms: number;
  /** Fraction of requests (TTFT) or gaps (ITL) at or below `ms`. */
  fraction: number;
  source: 'requests' | 'percentiles';
}

/** The percentiles a record's metrics carry for a latency metric: median as 0.5 and every `p<P>_…` key. */
function metricPercentiles(metrics: BenchmarkMetrics, metric: 'ttft' | 'itl'): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const record = metrics as unknown as Record<string, unknown>;
  const median = record[`median_${metric}_ms`];
  if (typeof median === 'number') out.push([0.5, median]);
  for (const [key, value] of Object.entries(record)) {
    const m = /^p(\d+(?:\.\d+)?)_(ttft|itl)_ms$/.exec(key);
    if (m && m[2] === metric && typeof value === 'number' && Number(m[1]) !== 50) out.push([Number(m[1]) / 100, value]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * CDF points per row: from the per-request samples of its first succeeded repeat when the artifact was read,
 * else from the percentiles its record carries (median, p90, p99, ...).
 */
export function latencyCdfData(model: ReportModel, samples?: SamplesByCell): CdfDatum[] {
  const data: CdfDatum[] = [];
  for (const group of allRows(model)) {
    const cell = group.succeeded[0];
    if (!cell?.metrics) continue;
    const id = identity(model, group);
    const s = samples?.get(cellSampleKey(cell));
    for (const metric of ['ttft', 'itl'] as const) {
      const values = s ? (metric === 'ttft' ? s.ttftsMs : s.itlsMs).filter((v) => Number.isFinite(v)) : [];
      const name = metric === 'ttft' ? 'TTFT' : 'ITL';
      if (values.length > 0) {
        const sorted = [...values].sort((a, b) => a - b);
        for (const q of CDF_LEVELS)
          data.push({
            scenario: id.scenario,
            metric: name,
            label: id.label,
            variant: id.variant,
            ms: quantileSorted(sorted, q),
            fraction: q,
            source: 'requests',
          });
      } else {
        for (const [q, ms] of metricPercentiles(cell.metrics, metric))
          data.push({
            scenario: id.scenario,
            metric: name,
            label: id.label,
            variant: id.variant,
            ms,
            fraction: q,
            source: 'percentiles',
          });
      }
    }
  }
  // A log axis cannot show zero: gaps under 0.1 ms (tokens that arrived in one read) are drawn at 0.1 ms.
  return data.map((d) => (d.ms >= CDF_FLOOR_MS ? d : { ...d, ms: CDF_FLOOR_MS }));
}

export function latencyCdfChart(model: ReportModel, samples?: SamplesByCell): ChartSpec | null {
  const data = latencyCdfData(model, samples);
  if (data.length === 0) return null;
  const fromRequests = data.some((d) => d.source === 'requests');
  const labels = labelOrder(model);
  const description = fromRequests
    ? 'Cumulative distribution of TTFT and of inter-token latency over every request of a cell (its first repeat); ' +
      'gaps under 0.1 ms at 0.1 ms.'
    : 'TTFT and inter-token latency percentiles the records carry (median, p99, ...): ' +
      'a coarse cumulative distribution.';
  const spec = {
    $schema: SCHEMA,
    title: { text: 'Latency distributions', subtitle: description, anchor: 'start' },
    description,
    data: { values: data },
    facet: {
      row: scenarioRow(model),
      column: columnFacet('metric', ['TTFT', 'ITL']),
    },
    spec: {
      width: 300,
      height: 200,
      mark: { type: 'line', point: !fromRequests, interpolate: 'monotone', tooltip: true },
      encoding: {
        x: { field: 'ms', type: 'quantitative', title: 'Latency (ms)', scale: { type: 'log' } },
        y: {
          field: 'fraction',
          type: 'quantitative',
          title: 'Fraction at or below',
          axis: { format: '.0%' },
          scale: { domain: [0, 1] },
        },
        color: {
          field: 'label',
          type: 'nominal',
          sort: labels,
          scale: { scheme: COLOR_SCHEME, domain: labels },
          title: 'Row',
        },
        order: { field: 'fraction', type: 'quantitative' },
      },
    },
    resolve: { scale: { x: 'independent' } },
  };
  return { id: 'latency-distributions', title: 'Latency distributions', description, spec: spec as TopLevelSpec };
}

export interface GanttDatum {
  lane: string;
  cellId: string;
  device: string;
  step: string;
  start: string;
  end: string;
  seconds: number;
  result: string;
}

/**
 * A lane per cell up to this many cells; past it, a lane per device with a bar per cell. A thousand lanes would draw
 * a chart 18,000 px tall, and Vega-Lite turns a sort order of about a thousand values into an expression too deeply
 * nested to parse.
 */
export const TIMELINE_CELL_LANES = 150;

/** What a timeline lane holds: a cell's steps, or (large sweeps) a device's cells. */
export type TimelineLanes = 'cells' | 'devices';

export function timelineLanes(model: ReportModel): TimelineLanes {
  return model.cells.length > TIMELINE_CELL_LANES ? 'devices' : 'cells';
}

/**
 * Lanes of cells: one bar per recorded step of every cell; a cell without step timings gets one bar for its whole
 * run. Lanes of devices: one bar per cell, from its first step's start to its last step's end, its result the cell's
 * status.
 */
export function timelineData(model: ReportModel, lanes: TimelineLanes = timelineLanes(model)): GanttDatum[] {
  const multiDevice = new Set(model.cells.map((c) => c.device?.deviceId ?? '')).size > 1;
  const data: GanttDatum[] = [];
  for (const c of model.cells) {
    const device = c.device?.deviceId ?? '—';
    const lane = lanes === 'devices' ? device : multiDevice ? `${device} · ${c.cellId}` : c.cellId;
    const steps = c.steps.filter((s) => Number.isFinite(Date.parse(s.startedAt)) && Number.isFinite(s.durationMs));
    if (lanes === 'devices' && steps.length > 0) {
      const start = Math.min(...steps.map((s) => Date.parse(s.startedAt)));
      const end = Math.max(...steps.map((s) => Date.parse(s.startedAt) + Math.max(s.durationMs, 1)));
      data.push({
        lane,
        cellId: c.cellId,
        device,
        step: 'cell',
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
        seconds: (end - start) / 1000,
        result: c.status,
      });
      continue;
    }
    if (steps.length === 0) {
      const a = Date.parse(c.startedAt);
      const b = Date.parse(c.finishedAt);
      if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
      data.push({
        lane,
        cellId: c.cellId,
        device,
        step: 'cell',
        start: c.startedAt,
        end: c.finishedAt,
        seconds: (b - a) / 1000,
        result: c.status,
      });
      continue;
    }
    for (const s of steps) {
      const start = Date.parse(s.startedAt);
      // A zero-length step (a no-op "ensure") still gets a sliver so it can be seen.
      const end = start + Math.max(s.durationMs, 1);
      data.push({
        lane,
        cellId: c.cellId,
        device,
        step: s.step,
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
        seconds: s.durationMs / 1000,
        result: stepResultLabel(s.result),
      });
    }
  }
  return data;
}

export function timelineChart(model: ReportModel): ChartSpec | null {
  const byDevice = timelineLanes(model) === 'devices';
  const data = timelineData(model, byDevice ? 'devices' : 'cells');
  if (data.length === 0) return null;
  const firstStart = new Map<string, number>();
  for (const d of data) firstStart.set(d.lane, Math.min(firstStart.get(d.lane) ?? Infinity, Date.parse(d.start)));
  // Lanes in the order they started, through a field: a sort array becomes one nested expression per lane.
  const laneOrder = new Map([...firstStart.entries()].sort((a, b) => a[1] - b[1]).map(([lane], i) => [lane, i]));
  const sort = { field: 'laneOrder', op: 'min' } as const;
  const steps = [...new Set(data.map((d) => d.step))];
  const description = byDevice
    ? `Every cell on the wall clock, one lane per device (${model.cells.length} cells: a lane per cell stops at ${TIMELINE_CELL_LANES}).`
    : 'Every step of every cell on the wall clock, one lane per cell in the order they started.';
  const color = byDevice
    ? { field: 'result', type: 'nominal', scale: { scheme: COLOR_SCHEME }, title: 'Cell' }
    : { field: 'step', type: 'nominal', sort: steps, scale: { scheme: COLOR_SCHEME }, title: 'Step' };
  const spec = {
    $schema: SCHEMA,
    title: { text: 'Sweep timeline', subtitle: description, anchor: 'start' },
    description,
    data: { values: data.map((d) => ({ ...d, laneOrder: laneOrder.get(d.lane) })) },
    width: WIDTH + 80,
    height: { step: 18 },
    layer: [
      {
        mark: { type: 'bar', tooltip: true, cornerRadius: 1 },
        encoding: {
          y: { field: 'lane', type: 'nominal', sort, title: null, axis: { labelLimit: 320, labelFontSize: 10 } },
          x: { field: 'start', type: 'temporal', title: 'Time (UTC)', axis: { format: '%H:%M:%S', labelAngle: 0 } },
          x2: { field: 'end' },
          color,
        },
      },
      {
        mark: { type: 'point', shape: 'cross', color: '#cf222e', size: 60, filled: true },
        transform: [{ filter: "indexof(datum.result, 'failed') === 0" }],
        encoding: { y: { field: 'lane', type: 'nominal', sort }, x: { field: 'end', type: 'temporal' } },
      },
    ],
  };
  return { id: 'timeline', title: 'Sweep timeline', description, spec: spec as TopLevelSpec };
}

/** One probe of a capacity search against one of its SLOs. */
export interface CapacityProbeDatum {
  scenario: string;
  config: string;
  /** The SLO key, e.g. p99_ttft_ms. */
  metric: string;
  load: number;
  /** The value judged against the SLO (the repeats' upper 95 % bound when there are several). */
  value: number;
  limit: number;
  outcome: 'meets' | 'misses';
  /** 1-based position in the search. */
  probe: number;
}

export function capacityProbeData(model: ReportModel): CapacityProbeDatum[] {
  return model.capacities.flatMap((c) =>
    c.probeDetails.flatMap((p, i) =>
      Object.entries(c.slo).flatMap(([metric, limit]) => {
        const value = p.judged[metric];
        if (typeof value !== 'number') return [];
        const outcome = p.pass ? ('meets' as const) : ('misses' as const);
        return [{ scenario: c.scenario, config: c.config, metric, load: p.value, value, limit, outcome, probe: i + 1 }];
      }),
    ),
  );
}

/** The probes of each capacity search: the SLO metric at each load probed, the SLO as a line, met or missed. */
export function capacityChart(model: ReportModel): ChartSpec | null {
  const data = capacityProbeData(model);
  if (data.length === 0) return null;
  const vary = model.capacities[0]!.vary === 'requestRate' ? 'Request rate (req/s)' : 'Max concurrency';
  const x = { field: 'load', type: 'quantitative', title: vary, scale: { type: 'log' } };
  const y = { field: 'value', type: 'quantitative', title: 'ms' };
  const description =
    'Capacity search probes: each SLO metric at every load probed, per configuration, with the SLO as a red line.';
  const spec = {
    $schema: SCHEMA,
    title: {
      text: 'Capacity search probes',
      subtitle: 'Filled: the probe met every SLO; hollow: it missed one. Red line: the SLO. Numbers: probe order.',
      anchor: 'start',
    },
    description,
    data: { values: data },
    facet: {
      row: { field: 'scenario', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } },
      column: { field: 'metric', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } },
    },
    spec: {
      width: 300,
      height: 220,
      layer: [
        {
          mark: { type: 'rule', color: '#cf222e', strokeDash: [4, 3] },
          encoding: { y: { field: 'limit', type: 'quantitative' } },
        },
        {
          mark: { type: 'point', size: 90, strokeWidth: 2, tooltip: true },
          encoding: {
            x,
            y,
            color: { field: 'config', type: 'nominal', title: 'Configuration', scale: { scheme: COLOR_SCHEME } },
            fill: {
              condition: { test: "datum.outcome === 'meets'", field: 'config', type: 'nominal' },
              value: 'white',
            },
          },
        },
        {
          mark: { type: 'text', dy: -11, fontSize: 9, color: '#57606a' },
          encoding: { x, y, text: { field: 'probe', type: 'quantitative' } },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
  return { id: 'capacity', title: 'Capacity search probes', description, spec: spec as TopLevelSpec };
}

/** Every chart the report has data for, in the order the report shows them. */
export function reportCharts(model: ReportModel, samples?: SamplesByCell): ChartSpec[] {
  return [
    throughputChart(model),
    latencyChart(model, 'ttft'),
    latencyChart(model, 'tpot'),
    powerClocksChart(model),
    capacityChart(model),
    tradeoffChart(model),
    energyChart(model),
    latencyCdfChart(model, samples),
    timelineChart(model),
  ].filter((c): c is ChartSpec => c !== null);
}
