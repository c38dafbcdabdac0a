/**
 * Configurations measured across one or more sweeps, as the recommendation and the regression comparison see them:
 * one per cell id without its `.r<N>` suffix (a matrix point of power mode × clocks × model × scenario, or an
 * imported result), with each metric folded over the repeats.
 *
 * How repeats fold: a configuration's value of a metric is the arithmetic mean over its succeeded repeats that
 * have a finite value for it; with two or more such values it also carries the Student-t 95 % confidence interval
 * of that mean (metrics/repeats.ts summarizeValues, the same figures as report JSON `summaries`). Repeats that
 * failed add nothing to the means, but their verdict still counts (below).
 *
 * Validity: a configuration is valid when every recorded repeat of it (failed ones included) has a valid verdict;
 * otherwise it carries every reason, prefixed with the repeat's cell id when there are several repeats.
 *
 * Also: the good direction of each metric (throughput up, latency and energy per token down), shared by the
 * recommendation and the regression comparison. Pure.
 */
import { baseCellId, summarizeValues } from '../metrics/repeats.js';
import { PERCENTILE_KEY_RE } from '../schema/metrics.js';
import type { CellRecord } from '../schema/outcome.js';
import { quantizationLabel, readExperimentView, type ReportInput } from './model.js';

export interface Configuration {
  /**
   * The cell id without `.r<N>`; `<sweep id>/<cell id>` when the same cell id was measured in more than one of the
   * sweeps given, so every configuration has one id.
   */
  id: string;
  sweepId: string;
  /** The cell id without `.r<N>`. */
  cellId: string;
  scenario: string;
  power: string;
  /** What nvpmodel reported (MAXN, 120W), else the experiment's name for the mode. */
  powerLabel: string;
  clocks: 'locked' | 'default';
  modelId: string;
  quantization: string;
  /** The guide's spelling: FP8, AWQ(Int4), GPTQ(Int4). */
  quantLabel: string;
  /** Harness kinds of the repeats, e.g. ["builtin"], ["vllm-bench"], ["import"] for `thorbench import`. */
  harnessKinds: string[];
  /** Records of this configuration, in plan order (cell ids with `.r<N>` when repeated). */
  records: string[];
  /** Succeeded repeats with metrics. */
  repeats: number;
  /** Mean over the succeeded repeats of every metric at least one of them has as a finite number. */
  values: Record<string, number>;
  /** 95 % confidence interval of each mean that has two or more values. */
  ci95: Record<string, [number, number]>;
  valid: boolean;
  /** Why the configuration is not valid (empty when it is). */
  reasons: string[];
  /** The engine image the configuration ran with (the records' engine, else the experiment's), when known. */
  engineImage: string | null;
}

/** Whether a bigger value of a metric is better ("higher"), worse ("lower"), or neither (counts, durations). */
export function metricDirection(key: string): 'higher' | 'lower' | null {
  if (/_throughput$|^request_goodput$|_per_w$|^max_output_tokens_per_s$/.test(key)) return 'higher';
  if (key === 'energy_per_output_token_j') return 'lower';
  const m = PERCENTILE_KEY_RE.exec(key);
  if (m !== null || /^(mean|median)_(ttft|tpot|itl|e2el)_ms$/.test(key)) return 'lower';
  return null;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `engine.image` of the experiment a sweep ran, when its stored experiment names one. */
export function experimentImage(experimentJson: string): string | null {
  try {
    const exp: unknown = JSON.parse(experimentJson);
    const image = isObj(exp) && isObj(exp.engine) ? exp.engine.image : undefined;
    return typeof image === 'string' ? image : null;
  } catch {
    return null;
  }
}

function byPosition(a: CellRecord, b: CellRecord): number {
  return a.position - b.position || a.repeat - b.repeat || (a.cellId < b.cellId ? -1 : a.cellId > b.cellId ? 1 : 0);
}

/** Every configuration of the sweeps given, in the order of the sweeps and then of their plans. */
export function foldConfigurations(inputs: readonly ReportInput[]): Configuration[] {
  const sweepsOf = new Map<string, Set<string>>();
  for (const input of inputs) {
    for (const c of input.cells) {
      const set = sweepsOf.get(baseCellId(c.cellId)) ?? new Set<string>();
      set.add(input.sweep.sweepId);
      sweepsOf.set(baseCellId(c.cellId), set);
    }
  }
  const out: Configuration[] = [];
  for (const input of inputs) {
    const view = readExperimentView(input.sweep.experimentJson);
    const image = experimentImage(input.sweep.experimentJson);
    const groups = new Map<string, CellRecord[]>();
    for (const c of [...input.cells].sort(byPosition)) {
      const key = baseCellId(c.cellId);
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const [cellId, records] of groups) {
      const first = records[0]!;
      const succeeded = records.filter((r) => r.status === 'succeeded' && r.metrics !== null);
      const values: Record<string, number> = {};
      const ci95: Record<string, [number, number]> = {};
      const keys = new Set(succeeded.flatMap((r) => Object.keys(r.metrics!)));
      for (const key of keys) {
        const xs = succeeded
          .map((r) => (r.metrics as Record<string, unknown>)[key])
          .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        if (xs.length === 0) continue;
        const summary = summarizeValues(xs);
        values[key] = summary?.mean ?? xs[0]!;
        if (summary !== null) ci95[key] = summary.ci95;
      }
      const reasons = records.flatMap((r) =>
        r.verdict.valid ? [] : r.verdict.reasons.map((why) => (records.length > 1 ? `${r.cellId}: ${why}` : why)),
      );
      const invalid = records.some((r) => !r.verdict.valid);
      const device = records.find((r) => r.device?.powerModeName)?.device;
      const modelPath = view.models.get(first.modelId)?.path ?? null;
      out.push({
        id: (sweepsOf.get(cellId)?.size ?? 1) > 1 ? `${input.sweep.sweepId}/${cellId}` : cellId,
        sweepId: input.sweep.sweepId,
        cellId,
        scenario: first.scenario,
        power: first.power,
        powerLabel: device?.powerModeName ?? view.powerLabels.get(first.power) ?? first.power.toUpperCase(),
        clocks: first.clocks,
        modelId: first.modelId,
        quantization: first.quantization,
        quantLabel: quantizationLabel(first.quantization, modelPath),
        harnessKinds: [...new Set(records.flatMap((r) => (r.harness ? [r.harness.kind] : [])))],
        records: records.map((r) => r.cellId),
        repeats: succeeded.length,
        values,
        ci95,
        valid: !invalid,
        reasons: invalid && reasons.length === 0 ? ['the record is marked invalid'] : reasons,
        engineImage: records.find((r) => r.engine?.image)?.engine?.image ?? image,
      });
    }
  }
  return out;
}
