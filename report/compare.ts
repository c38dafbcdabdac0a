/**
 * Comparison of two sweeps cell by cell (matched by cell id): the ratio b/a of output throughput, mean TTFT and
 * mean TPOT, e.g. the same experiment before and after a JetPack upgrade, or a simulated run against a real one.
 * Pure.
 */
import type { CellRecord } from '../schema/outcome.js';
import { fmt2, mdInline } from './format.js';
import { markdownTable } from './markdown.js';
import { byPlanOrder, type ReportInput } from './model.js';

const METRICS = [
  ['Output tok/s', 'output_throughput'],
  ['Mean TTFT (ms)', 'mean_ttft_ms'],
  ['Mean TPOT (ms)', 'mean_tpot_ms'],
] as const;

function ratio(a: number | undefined, b: number | undefined): string {
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b) || a === 0) return '—';
  return `${(b / a).toFixed(2)}×`;
}

export function compareSweeps(a: ReportInput, b: ReportInput): string {
  const okA = new Map(a.cells.filter((c) => c.status === 'succeeded' && c.metrics).map((c) => [c.cellId, c]));
  const okB = new Map(b.cells.filter((c) => c.status === 'succeeded' && c.metrics).map((c) => [c.cellId, c]));
  const idsA = new Set(a.cells.map((c) => c.cellId));
  const idsB = new Set(b.cells.map((c) => c.cellId));
  const both: Array<[CellRecord, CellRecord]> = [...okA.values()]
    .sort(byPlanOrder)
    .flatMap((ca) => {
      const cb = okB.get(ca.cellId);
      return cb ? [[ca, cb] as [CellRecord, CellRecord]] : [];
    });

  const out: string[] = [
    `## Comparison: ${mdInline(b.sweep.sweepId)} (b) against ${mdInline(a.sweep.sweepId)} (a)`,
    '',
    `a: ${mdInline(a.sweep.experimentName)}${a.sweep.simulated ? ' (simulated)' : ''}, b: ${mdInline(b.sweep.experimentName)}${b.sweep.simulated ? ' (simulated)' : ''}. ` +
      'Ratios are b/a: above 1 means b has more throughput, or more latency.',
    '',
  ];
  if (both.length === 0) out.push('No cell succeeded in both sweeps, so there is nothing to compare.');
  else {
    const headers = ['Cell', ...METRICS.flatMap(([label]) => [`${label} a`, `${label} b`, 'b/a'])];
    const rows = both.map(([ca, cb]) => [
      ca.cellId,
      ...METRICS.flatMap(([, key]) => [fmt2(ca.metrics?.[key]), fmt2(cb.metrics?.[key]), ratio(ca.metrics?.[key], cb.metrics?.[key])]),
    ]);
    out.push(markdownTable({ headers, rows, bestRow: null }));
  }
  const onlyA = [...idsA].filter((id) => !idsB.has(id)).length;
  const onlyB = [...idsB].filter((id) => !idsA.has(id)).length;
  const notBoth = [...idsA].filter((id) => idsB.has(id) && !(okA.has(id) && okB.has(id))).length;
  if (onlyA + onlyB + notBoth > 0) {
    out.push('', `Not compared: ${onlyA} cell(s) only in a, ${onlyB} only in b, ${notBoth} in both but not succeeded in both.`);
  }
  return `${out.join('\n')}\n`;
}
