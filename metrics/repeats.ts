/**
 * Statistics over the repeats of a cell (`repeats: N` in the experiment): for every numeric metric, the mean of the
 * N repeats, a 95 % confidence interval for the true mean from Student's t with N − 1 degrees of freedom, and the
 * coefficient of variation.
 *
 * - mean = Σx / N;
 * - s = sample standard deviation, √(Σ(x − mean)² / (N − 1));
 * - ci95 = mean ∓ t(0.975, N − 1) · s / √N (the half-width is what reports print after "±");
 * - cv = s / mean (null when the mean is 0).
 *
 * Repeats are the cells whose ids differ only in their `.r<N>` suffix; only succeeded repeats count, and a metric is
 * summarised only when every one of them has a finite value for it.
 *
 * Deterministic: no Node.js APIs.
 */
import { mean as numpyMean, sum } from './stats.js';
import { studentTQuantile } from './student-t.js';

export interface MetricSummary {
  mean: number;
  ci95: [number, number];
  cv: number | null;
}

export interface RepeatSummary {
  /** The cell id without its `.r<N>` suffix. */
  cell: string;
  /** Succeeded repeats summarised (≥ 2). */
  repeats: number;
  metrics: Record<string, MetricSummary>;
}

/** What a summary needs from a cell record. */
export interface RepeatedCell {
  cellId: string;
  status: string;
  metrics: object | null;
}

/** `maxn.locked.qwen3-8b-fp8.high-load.r2` → `maxn.locked.qwen3-8b-fp8.high-load`. */
export function baseCellId(cellId: string): string {
  return cellId.replace(/\.r\d+$/, '');
}

/** Mean, 95 % CI and CV of N ≥ 2 values; null for fewer. */
export function summarizeValues(values: readonly number[]): MetricSummary | null {
  const n = values.length;
  if (n < 2) return null;
  const m = numpyMean(values)!;
  const sd = Math.sqrt(sum(values.map((x) => (x - m) * (x - m))) / (n - 1));
  const half = studentTQuantile(0.975, n - 1) * (sd / Math.sqrt(n));
  return { mean: m, ci95: [m - half, m + half], cv: m === 0 ? null : sd / m };
}

/** Half-width of the 95 % confidence interval of the mean (0 for identical values); null for fewer than 2 values. */
export function ci95HalfWidth(values: readonly number[]): number | null {
  const s = summarizeValues(values);
  return s === null ? null : (s.ci95[1] - s.ci95[0]) / 2;
}

/** One summary per cell id (without `.r<N>`) that has at least two succeeded repeats, in the order cells are given. */
export function summarizeRepeats(cells: readonly RepeatedCell[]): RepeatSummary[] {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const c of cells) {
    if (c.status !== 'succeeded' || c.metrics === null) continue;
    const key = baseCellId(c.cellId);
    const list = groups.get(key) ?? [];
    list.push(c.metrics as Record<string, unknown>);
    groups.set(key, list);
  }
  const out: RepeatSummary[] = [];
  for (const [cell, runs] of groups) {
    if (runs.length < 2) continue;
    const keys: string[] = [];
    for (const r of runs) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
    const metrics: Record<string, MetricSummary> = {};
    for (const key of keys) {
      const values = runs.map((r) => r[key]);
      if (!values.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) continue;
      metrics[key] = summarizeValues(values)!;
    }
    out.push({ cell, repeats: runs.length, metrics });
  }
  return out;
}
