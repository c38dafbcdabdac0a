/**
 * How a regression comparison (report/regression.ts) is shown besides its report section (regressionBlocks there):
 * the exact JSON of `thorbench schedule trigger --json` and the one-line verdict. Pure.
 */
import type { MetricChange, RegressionComparison } from './regression.js';

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

/** One line: the verdict, for the terminal. */
export function regressionHeadline(c: RegressionComparison): string {
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  const verdict = c.regressions.length > 0 ? `REGRESSION: ${n(c.regressions.length, 'metric')} worse` : 'no regression';
  return (
    `${verdict}, ${n(c.improvements.length, 'improvement')} against baseline ${c.baseline} ` +
    `(${n(c.compared.length, 'cell')} compared)` +
    (c.imageBump ? `; engine image changed: ${c.imageBump.from} → ${c.imageBump.to}` : '')
  );
}
