/**
 * How a regression comparison (report/regression.ts) is shown besides its Markdown section (renderRegressionMarkdown
 * there): the exact JSON of `thorbench schedule trigger --json`, the one-line verdict, and the parts of the HTML
 * report's section. Pure.
 */
import type { MetricChange, RegressionComparison } from './regression.js';
import type { Table } from './tables.js';

/** `thorbench schedule trigger <id> --wait --json`: exactly these keys. */
export interface RegressionJson {
  sweepId: string;
  baseline: string;
  regressions: MetricChange[];
  improvements: MetricChange[];
}

export function regressionJson(c: RegressionComparison): RegressionJson {
  const entry = (m: MetricChange): MetricChange => ({
    cell: m.cell,
    metric: m.metric,
    baseline: m.baseline,
    value: m.value,
    change: m.change,
  });
  return {
    sweepId: c.sweepId,
    baseline: c.baseline,
    regressions: c.regressions.map(entry),
    improvements: c.improvements.map(entry),
  };
}

const signedPercent = (change: number): string => `${change > 0 ? '+' : ''}${(change * 100).toFixed(1)} %`;
const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));

/** The flagged metrics as a report table (Markdown and HTML draw it alike). */
export function changeTable(changes: readonly MetricChange[]): Table {
  return {
    headers: ['cell', 'metric', 'baseline', 'now', 'change'],
    rows: changes.map((m) => [m.cell, m.metric, num(m.baseline), num(m.value), signedPercent(m.change)]),
    bestRow: null,
  };
}

/** One line: the verdict, for the terminal and the report. */
export function regressionHeadline(c: RegressionComparison): string {
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  const verdict = c.regressions.length > 0 ? `REGRESSION: ${n(c.regressions.length, 'metric')} worse` : 'no regression';
  return (
    `${verdict}, ${n(c.improvements.length, 'improvement')} against baseline ${c.baseline} ` +
    `(${n(c.compared.length, 'cell')} compared)` +
    (c.imageBump ? `; engine image changed: ${c.imageBump.from} → ${c.imageBump.to}` : '')
  );
}

/** How noise was judged, in one sentence. */
export function noiseNote(c: RegressionComparison): string {
  return (
    'A change counts when it is beyond noise: the 95 % confidence intervals of the two means do not overlap where ' +
    `both sweeps have repeats, otherwise it exceeds ${(c.threshold * 100).toFixed(1)} % of the baseline.`
  );
}

/** Cells that were not compared, one line per reason. */
export function notComparedLines(c: RegressionComparison): string[] {
  const skipped: [string, string[]][] = [
    ['only in the baseline', c.notCompared.onlyInBaseline],
    ['only in this sweep', c.notCompared.onlyInSweep],
    ['invalid on either side', c.notCompared.invalid],
    ['not succeeded on either side', c.notCompared.notSucceeded],
  ];
  return skipped
    .filter(([, cells]) => cells.length > 0)
    .map(([why, cells]) => `Not compared, ${why}: ${cells.join(', ')}`);
}
