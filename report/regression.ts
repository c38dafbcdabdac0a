/**
 * Regression comparison of a sweep against a baseline sweep (what a scheduled regression watch reports): for each
 * configuration measured in both (matched by cell id without `.r<N>`, repeats folded into means as in
 * report/configurations.ts), every metric whose change is beyond noise is a regression when it moved in its bad
 * direction (throughput down; latency or energy per token up) and an improvement otherwise.
 *
 * Beyond noise:
 * - when both sides have two or more repeats with the metric: their 95 % confidence intervals of the mean
 *   (Student's t, metrics/repeats.ts) do not overlap. This is the conservative test — non-overlapping 95 % CIs
 *   imply a difference significant at well below 5 % — and needs no assumption about equal variances;
 * - otherwise (a single run on either side): the relative change exceeds a threshold, 5 % unless given.
 *
 * `change` is relative: (value − baseline) / baseline, e.g. −0.12 for a throughput 12 % below the baseline; a
 * metric whose baseline is 0 has no relative change and is not compared. Configurations whose results are invalid on
 * either side (their verdict) are not compared but listed, as are those measured on one side only. When the
 * experiments' `engine.image` differs, the comparison names the image bump. Pure.
 */
import { type Configuration, experimentImage, foldConfigurations, metricDirection } from './configurations.js';
import { type Block, heading, type Inline, paragraph, table, toMarkdown } from './document.js';
import { fmt2 } from './format.js';
import type { ReportInput } from './model.js';

/** The relative change flagged when there are no repeats to judge noise by. */
export const DEFAULT_REGRESSION_THRESHOLD = 0.05;

/** One flagged metric of one cell; `change` = (value − baseline) / baseline. */
export interface MetricChange {
  cell: string;
  metric: string;
  baseline: number;
  value: number;
  change: number;
}

export interface RegressionComparison {
  sweepId: string;
  baseline: string;
  regressions: MetricChange[];
  improvements: MetricChange[];
  /** The engine image changed between the baseline and the sweep; null when it did not (or is unknown). */
  imageBump: { from: string; to: string } | null;
  /** How noise was judged: the threshold used without repeats. */
  threshold: number;
  /** Cells compared (ids without `.r<N>`). */
  compared: string[];
  /** Cells not compared, and why. */
  notCompared: { onlyInBaseline: string[]; onlyInSweep: string[]; invalid: string[]; notSucceeded: string[] };
}

export interface RegressionOptions {
  /** Relative change flagged without repeats (default 0.05). */
  threshold?: number;
  /** Metrics to compare (default: every metric with a good direction, see comparedMetric). */
  metrics?: readonly string[];
}

/**
 * The metrics compared by default: those with a good direction (throughputs, goodput, mean/median/percentile
 * latencies, energy per token, tokens per joule), except the one-second peak `max_output_tokens_per_s`, an extreme
 * rather than a level.
 */
export function comparedMetric(key: string): boolean {
  return metricDirection(key) !== null && key !== 'max_output_tokens_per_s';
}

/** The image a sweep ran: its experiment's `engine.image`, else the one image its records name. */
function sweepImage(input: ReportInput, configs: readonly Configuration[]): string | null {
  const fromExperiment = experimentImage(input.sweep.experimentJson);
  if (fromExperiment !== null) return fromExperiment;
  const images = new Set(configs.flatMap((c) => (c.engineImage ? [c.engineImage] : [])));
  return images.size === 1 ? [...images][0]! : null;
}

export function compareToBaseline(
  sweep: ReportInput,
  baseline: ReportInput,
  opts: RegressionOptions = {},
): RegressionComparison {
  const threshold = opts.threshold ?? DEFAULT_REGRESSION_THRESHOLD;
  if (!(threshold >= 0) || !Number.isFinite(threshold))
    throw new Error(`threshold must be a number ≥ 0 (got ${threshold})`);
  const mine = foldConfigurations([sweep]);
  const base = foldConfigurations([baseline]);
  const baseById = new Map(base.map((c) => [c.cellId, c]));
  const mineIds = new Set(mine.map((c) => c.cellId));

  const regressions: MetricChange[] = [];
  const improvements: MetricChange[] = [];
  const compared: string[] = [];
  const notCompared: RegressionComparison['notCompared'] = {
    onlyInBaseline: base.filter((c) => !mineIds.has(c.cellId)).map((c) => c.cellId),
    onlyInSweep: [],
    invalid: [],
    notSucceeded: [],
  };
  for (const now of mine) {
    const then = baseById.get(now.cellId);
    if (then === undefined) {
      notCompared.onlyInSweep.push(now.cellId);
      continue;
    }
    if (now.repeats === 0 || then.repeats === 0) {
      notCompared.notSucceeded.push(now.cellId);
      continue;
    }
    if (!now.valid || !then.valid) {
      notCompared.invalid.push(now.cellId);
      continue;
    }
    compared.push(now.cellId);
    const keys = opts.metrics ?? Object.keys(then.values).filter(comparedMetric);
    for (const metric of keys) {
      const direction = metricDirection(metric);
      const b = then.values[metric];
      const v = now.values[metric];
      if (direction === null || b === undefined || v === undefined || b === 0) continue;
      const change = (v - b) / b;
      const ciNow = now.ci95[metric];
      const ciThen = then.ci95[metric];
      const beyondNoise =
        ciNow !== undefined && ciThen !== undefined
          ? ciNow[0] > ciThen[1] || ciThen[0] > ciNow[1]
          : Math.abs(change) > threshold;
      if (!beyondNoise || change === 0) continue;
      const entry = { cell: now.cellId, metric, baseline: b, value: v, change };
      if ((direction === 'higher') === change > 0) improvements.push(entry);
      else regressions.push(entry);
    }
  }
  const from = sweepImage(baseline, base);
  const to = sweepImage(sweep, mine);
  return {
    sweepId: sweep.sweep.sweepId,
    baseline: baseline.sweep.sweepId,
    regressions,
    improvements,
    imageBump: from !== null && to !== null && from !== to ? { from, to } : null,
    threshold,
    compared,
    notCompared,
  };
}

/** "−12.0 %", "+3.4 %". */
function signedPercent(change: number): string {
  return `${change > 0 ? '+' : change < 0 ? '−' : '±'}${Math.abs(change * 100).toFixed(1)} %`;
}

/** The comparison as a report section (both reports): the verdict, the image bump, and each flagged metric. */
export function regressionBlocks(cmp: RegressionComparison): Block[] {
  const out = [heading(2, `Regression check: ${cmp.sweepId} against ${cmp.baseline}`)];
  const verdict: Inline[] =
    cmp.regressions.length > 0
      ? [{ strong: `${cmp.regressions.length} regression(s)` }, ` and ${cmp.improvements.length} improvement(s)`]
      : [`No regression; ${cmp.improvements.length} improvement(s)`];
  out.push(
    paragraph([
      ...verdict,
      ` over ${cmp.compared.length} cell(s). A change counts when the 95 % confidence intervals of the ` +
        `repeats do not overlap, or, without repeats on both sides, when it exceeds ${cmp.threshold * 100} %.`,
    ]),
  );
  if (cmp.imageBump) {
    const { from, to } = cmp.imageBump;
    out.push(paragraph(['Engine image changed: ', { code: from }, ' → ', { code: to }, '.']));
  }
  for (const [title, changes] of [
    ['Regressions', cmp.regressions],
    ['Improvements', cmp.improvements],
  ] as const) {
    if (changes.length === 0) continue;
    const rows = changes.map((c) => [c.cell, c.metric, fmt2(c.baseline), fmt2(c.value), signedPercent(c.change)]);
    out.push(
      heading(3, title),
      table({ headers: ['Cell', 'Metric', 'Baseline', 'Now', 'Change'], rows, bestRow: null }),
    );
  }
  const skipped = cmp.notCompared;
  const notes = [
    [skipped.onlyInBaseline, 'only in the baseline'],
    [skipped.onlyInSweep, 'only in this sweep'],
    [skipped.invalid, 'with invalid results'],
    [skipped.notSucceeded, 'without a result on one side'],
  ] as const;
  const said = notes.filter(([ids]) => ids.length > 0).map(([ids, why]) => `${ids.length} ${why}`);
  if (said.length > 0) out.push(paragraph(`Not compared: ${said.join(', ')}.`));
  return out;
}

/** The comparison as a Markdown section (`thorbench schedule trigger --wait`). */
export function renderRegressionMarkdown(cmp: RegressionComparison): string {
  return toMarkdown(regressionBlocks(cmp));
}
