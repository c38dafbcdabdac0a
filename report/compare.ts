/**
 * Comparison of two sweeps cell by cell (matched by cell id and repeat): each headline metric of a and b side by
 * side with the absolute delta b − a and the relative delta (b − a)/a, e.g. the same experiment before and after a
 * JetPack upgrade, or a simulated run against a real one. One comparison model, rendered as Markdown, CSV, JSON and
 * (in report/compare-html.ts) HTML. Pure.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import type { CellRecord } from '../schema/outcome.js';
import { betterWorseColor, changeAxis, type ChartSpec, columnFacet, SCHEMA, ZERO_RULE } from './charts.js';
import { csvField, fmtFixed, mdInline } from './format.js';
import { markdownTable } from './document.js';
import { byPlanOrder, type ReportInput } from './model.js';
import { fmtChange } from './power-clocks.js';

export const COMPARED_METRICS: ReadonlyArray<{
  key: keyof BenchmarkMetrics;
  label: string;
  digits: number;
  higherIsBetter: boolean;
}> = [
  { key: 'request_throughput', label: 'Request throughput (req/s)', digits: 2, higherIsBetter: true },
  { key: 'output_throughput', label: 'Output tok/s', digits: 2, higherIsBetter: true },
  { key: 'mean_ttft_ms', label: 'Mean TTFT (ms)', digits: 2, higherIsBetter: false },
  { key: 'p99_ttft_ms', label: 'P99 TTFT (ms)', digits: 2, higherIsBetter: false },
  { key: 'mean_tpot_ms', label: 'Mean TPOT (ms)', digits: 2, higherIsBetter: false },
  { key: 'p99_tpot_ms', label: 'P99 TPOT (ms)', digits: 2, higherIsBetter: false },
  { key: 'mean_itl_ms', label: 'Mean ITL (ms)', digits: 2, higherIsBetter: false },
  { key: 'energy_per_output_token_j', label: 'Energy (J/token)', digits: 3, higherIsBetter: false },
];

export interface ComparedMetric {
  key: string;
  a: number | null;
  b: number | null;
  /** b − a. */
  delta: number | null;
  /** (b − a) / a. */
  relative: number | null;
}

export interface ComparedCell {
  cellId: string;
  repeat: number;
  metrics: ComparedMetric[];
}

export interface SweepRef {
  sweepId: string;
  experiment: string;
  simulated: boolean;
}

export interface SweepComparison {
  a: SweepRef;
  b: SweepRef;
  /** The metrics compared: those at least one compared cell has on both sides. */
  metricKeys: string[];
  cells: ComparedCell[];
  /** Cell keys (`<cell id>#<repeat>`) recorded only in a, only in b, or in both but not succeeded in both. */
  onlyA: string[];
  onlyB: string[];
  notBoth: string[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const keyOf = (c: CellRecord) => `${c.cellId}#${c.repeat}`;

function ref(input: ReportInput): SweepRef {
  return { sweepId: input.sweep.sweepId, experiment: input.sweep.experimentName, simulated: input.sweep.simulated };
}

export function buildComparison(a: ReportInput, b: ReportInput): SweepComparison {
  const ok = (cells: readonly CellRecord[]) =>
    new Map(cells.filter((c) => c.status === 'succeeded' && c.metrics).map((c) => [keyOf(c), c]));
  const okA = ok(a.cells);
  const okB = ok(b.cells);
  const keysA = new Set(a.cells.map(keyOf));
  const keysB = new Set(b.cells.map(keyOf));
  const pairs = [...okA.values()].sort(byPlanOrder).flatMap((ca) => {
    const cb = okB.get(keyOf(ca));
    return cb ? [[ca, cb] as const] : [];
  });
  const cells: ComparedCell[] = pairs.map(([ca, cb]) => ({
    cellId: ca.cellId,
    repeat: ca.repeat,
    metrics: COMPARED_METRICS.map(({ key }) => {
      const va = num(ca.metrics?.[key]);
      const vb = num(cb.metrics?.[key]);
      const delta = va !== null && vb !== null ? vb - va : null;
      return { key, a: va, b: vb, delta, relative: delta !== null && va !== 0 ? delta / va! : null };
    }),
  }));
  const metricKeys: string[] = COMPARED_METRICS.map((m) => m.key as string).filter((k) =>
    cells.some((c) => c.metrics.some((m) => m.key === k && m.delta !== null)),
  );
  for (const c of cells) c.metrics = c.metrics.filter((m) => metricKeys.includes(m.key));
  return {
    a: ref(a),
    b: ref(b),
    metricKeys,
    cells,
    onlyA: [...keysA].filter((k) => !keysB.has(k)),
    onlyB: [...keysB].filter((k) => !keysA.has(k)),
    notBoth: [...keysA].filter((k) => keysB.has(k) && !(okA.has(k) && okB.has(k))),
  };
}

function metricInfo(key: string) {
  return COMPARED_METRICS.find((m) => m.key === key)!;
}

/** "+12.30" / "−3.10": an absolute delta with its sign. */
function fmtDelta(delta: number | null, digits: number): string {
  if (delta === null) return '—';
  const text = fmtFixed(Math.abs(delta), digits);
  return Number(text) === 0 ? `±${text}` : `${delta > 0 ? '+' : '−'}${text}`;
}

const cellName = (c: ComparedCell, cmp: SweepComparison) =>
  cmp.cells.some((x) => x.repeat > 1) ? `${c.cellId} (repeat ${c.repeat})` : c.cellId;

function notComparedLine(c: SweepComparison): string | null {
  if (c.onlyA.length + c.onlyB.length + c.notBoth.length === 0) return null;
  return (
    `Not compared: ${c.onlyA.length} cell(s) only in a, ${c.onlyB.length} only in b, ` +
    `${c.notBoth.length} in both but not succeeded in both.`
  );
}

/** The comparison's heading and explanation, shared by Markdown and HTML. */
export function comparisonIntro(c: SweepComparison): { title: string; text: string } {
  const sim = (r: SweepRef) => (r.simulated ? ' (simulated)' : '');
  return {
    title: `Comparison: ${c.b.sweepId} (b) against ${c.a.sweepId} (a)`,
    text:
      `a: ${c.a.experiment}${sim(c.a)}, b: ${c.b.experiment}${sim(c.b)}. ` +
      'Each metric reads a → b, then the absolute change b − a ' +
      'and the relative change (b − a)/a.',
  };
}

/** Table of the comparison: per cell and metric "a → b (delta, relative)". */
export function comparisonTable(c: SweepComparison): { headers: string[]; rows: string[][] } {
  return {
    headers: ['Cell', ...c.metricKeys.map((k) => metricInfo(k).label)],
    rows: c.cells.map((cell) => [
      cellName(cell, c),
      ...cell.metrics.map((m) => {
        const d = metricInfo(m.key).digits;
        return m.a === null || m.b === null
          ? '—'
          : `${fmtFixed(m.a, d)} → ${fmtFixed(m.b, d)} (${fmtDelta(m.delta, d)}, ${fmtChange(m.relative)})`;
      }),
    ]),
  };
}

export function comparisonMarkdown(c: SweepComparison, opts: { chartFile?: string } = {}): string {
  const intro = comparisonIntro(c);
  const out: string[] = [`## ${mdInline(intro.title)}`, '', mdInline(intro.text), ''];
  if (c.cells.length === 0) out.push('No cell succeeded in both sweeps, so there is nothing to compare.');
  else {
    out.push(markdownTable({ ...comparisonTable(c), bestRow: null }));
    if (opts.chartFile) out.push('', `![Relative change b against a](${encodeURI(opts.chartFile)})`);
  }
  const not = notComparedLine(c);
  if (not) out.push('', not);
  return `${out.join('\n')}\n`;
}

/** The Markdown comparison of two sweeps (what `thorbench report a --compare b` prints). */
export function compareSweeps(a: ReportInput, b: ReportInput): string {
  return comparisonMarkdown(buildComparison(a, b));
}

/**
 * One row per compared cell: for every metric `<key>_a`, `<key>_b`, `<key>_delta`, `<key>_relative`; full
 * precision.
 */
export function comparisonCsv(c: SweepComparison): string {
  const headers = [
    'sweep_a',
    'sweep_b',
    'cell_id',
    'repeat',
    ...c.metricKeys.flatMap((k) => [`${k}_a`, `${k}_b`, `${k}_delta`, `${k}_relative`]),
  ];
  const rows = c.cells.map((cell) => [
    c.a.sweepId,
    c.b.sweepId,
    cell.cellId,
    cell.repeat,
    ...cell.metrics.flatMap((m) => [m.a, m.b, m.delta, m.relative]),
  ]);
  return `${[headers, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/**
 * The comparison as plain JSON:
 * `{ a, b, metrics, cells: [{ cell, repeat, metrics: { key: { a, b, delta, relative } } }], onlyA, onlyB, notBoth }`.
 */
export function comparisonJson(c: SweepComparison): object {
  return {
    a: c.a,
    b: c.b,
    metrics: c.metricKeys,
    cells: c.cells.map((cell) => ({
      cell: cell.cellId,
      repeat: cell.repeat,
      metrics: Object.fromEntries(
        cell.metrics.map((m) => [m.key, { a: m.a, b: m.b, delta: m.delta, relative: m.relative }]),
      ),
    })),
    onlyA: c.onlyA,
    onlyB: c.onlyB,
    notBoth: c.notBoth,
  };
}

/** Relative change per cell of output throughput, mean TTFT and mean TPOT, green where b is better. */
export function comparisonChart(c: SweepComparison): ChartSpec | null {
  const shown = ['output_throughput', 'mean_ttft_ms', 'mean_tpot_ms'].filter((k) => c.metricKeys.includes(k));
  const data = c.cells.flatMap((cell) =>
    cell.metrics
      .filter((m) => shown.includes(m.key) && m.relative !== null)
      .map((m) => {
        const info = metricInfo(m.key);
        const better = info.higherIsBetter ? m.relative! > 0 : m.relative! < 0;
        return {
          cell: cellName(cell, c),
          metric: info.label,
          change: m.relative! * 100,
          text: fmtChange(m.relative),
          better: better ? 'b better' : 'b worse',
        };
      }),
  );
  if (data.length === 0) return null;
  const description = `Relative change (b − a)/a per cell; b = ${c.b.sweepId}, a = ${c.a.sweepId}.`;
  const spec = {
    $schema: SCHEMA,
    title: { text: 'Relative change, b against a', subtitle: description, anchor: 'start' },
    description,
    data: { values: data },
    facet: {
      column: columnFacet(
        'metric',
        shown.map((k) => metricInfo(k).label),
      ),
    },
    spec: {
      width: 220,
      height: { step: 16 },
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            y: {
              field: 'cell',
              type: 'nominal',
              sort: [...new Set(data.map((d) => d.cell))],
              title: null,
              axis: { labelLimit: 320 },
            },
            x: changeAxis(36),
            color: betterWorseColor('b better', 'b worse'),
          },
        },
        ZERO_RULE,
      ],
    },
  };
  return { id: 'compare', title: 'Relative change, b against a', description, spec: spec as TopLevelSpec };
}

export { notComparedLine };
