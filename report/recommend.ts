/**
 * A recommendation per workload (`thorbench recommend`): for each scenario, the Pareto front of the configurations
 * measured (report/configurations.ts: one per cell id without `.r<N>`, repeats folded into means) and the one to
 * deploy for an objective under latency SLOs, with its margins and a reason in words. Pure.
 *
 * The Pareto front. Axes, each with its good direction:
 * - throughput: `output_throughput` (tok/s), higher is better;
 * - latency: every latency metric (`…_ms`) an SLO names, lower is better; without such an SLO, `p99_ttft_ms` and
 *   `mean_tpot_ms` (tail time to first token and mean time per output token, what a chat user feels);
 * - energy: `energy_per_output_token_j` (J/token), lower is better;
 * - the objective, when it is none of these (`output_throughput_per_w`, higher is better).
 * A configuration dominates another when it is at least as good on every axis and better on one. The front
 * (`pareto`) is the valid configurations that meet every SLO and that no other such configuration dominates: a
 * configuration that misses an SLO is not one the reader can deploy, so it cannot push one they can off the front.
 * Without SLOs that is every valid configuration. The front ignoring the SLOs (`paretoWithoutSlos`) is kept for
 * the chart and the reason, which name the configurations that would dominate the answer but miss an SLO. Invalid
 * configurations are reported, never on either front. A value a configuration lacks (energy not measured, an
 * imported result without a percentile) counts as the worst on that axis: it can never beat a measured one, and
 * two missing values are equal. Values are the means over repeats.
 *
 * The SLOs (`--slo p99_ttft_ms<=600,mean_tpot_ms<=50`): a configuration meets `metric<=limit` when its value is at
 * most the limit; with repeats, the whole 95 % confidence interval must be (its upper bound is checked), as a probe
 * of a capacity search must. `>=` likewise with the lower bound. A configuration without the metric misses it.
 *
 * The recommendation: among the valid configurations that meet every SLO and have the objective measured, the best
 * on the objective (`output_throughput` and `output_throughput_per_w` highest, `energy_per_output_token_j` lowest);
 * equal objective values are broken by throughput, then energy, then the latency axes, then the id, and reported as
 * ties. It is always on the front: a configuration dominating it would meet the SLOs, have the objective measured
 * and come first in that order, since every axis is in it and the objective is an axis. Configurations whose 95 % confidence interval of the objective overlaps
 * the winner's (a configuration without repeats counts as its single value) are reported as within noise of it.
 * When none qualifies, `recommended` is null and the reason says so and names the closest configuration: the valid
 * one whose worst SLO miss, relative to the limit, is smallest.
 */
import { METRIC_KEYS, PERCENTILE_KEY_RE } from '../schema/metrics.js';
import { type Configuration, foldConfigurations, metricDirection } from './configurations.js';
import { mdInline } from './format.js';
import { markdownTable } from './document.js';
import type { ReportInput } from './model.js';
import { splitList } from '../parsers/parse-error.js';

export const OBJECTIVES = ['output_throughput', 'energy_per_output_token_j', 'output_throughput_per_w'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export const THROUGHPUT_AXIS = 'output_throughput';
export const ENERGY_AXIS = 'energy_per_output_token_j';
/** The latency axes when no SLO names a latency metric. */
export const DEFAULT_LATENCY_AXES: readonly string[] = ['p99_ttft_ms', 'mean_tpot_ms'];

export interface Slo {
  metric: string;
  op: '<=' | '>=';
  limit: number;
}

/** A `--slo` or `--objective` the user must fix; the CLI turns it into exit 2. */
export class RecommendInputError extends Error {}

const KNOWN_METRICS: ReadonlySet<string> = new Set(METRIC_KEYS);

/** `p99_ttft_ms<=600,mean_tpot_ms<=50` → SLOs; a bad part is refused with what to write instead. */
export function parseSlos(text: string): Slo[] {
  const slos: Slo[] = [];
  for (const part of splitList(text)) {
    const m = /^([A-Za-z0-9_.]+)\s*(<=|>=)\s*(\S+)$/.exec(part);
    if (m === null) {
      throw new RecommendInputError(
        `--slo "${part}": write metric<=limit or metric>=limit, e.g. p99_ttft_ms<=600,mean_tpot_ms<=50`,
      );
    }
    const [, metric, op, limitText] = m as unknown as [string, string, '<=' | '>=', string];
    if (!KNOWN_METRICS.has(metric) && !PERCENTILE_KEY_RE.test(metric)) {
      throw new RecommendInputError(
        `--slo "${part}": "${metric}" is not a metric; use vLLM's names, e.g. p99_ttft_ms, mean_tpot_ms, ` +
          'p99.9_itl_ms, output_throughput, energy_per_output_token_j',
      );
    }
    const limit = Number(limitText);
    if (!Number.isFinite(limit) || limit < 0 || limitText === '') {
      throw new RecommendInputError(`--slo "${part}": the limit must be a number ≥ 0 (got "${limitText}")`);
    }
    if (slos.some((s) => s.metric === metric && s.op === op)) {
      throw new RecommendInputError(`--slo: ${metric}${op} is given twice`);
    }
    slos.push({ metric, op, limit });
  }
  return slos;
}

export function parseObjective(value: string | undefined): Objective {
  const v = value ?? 'output_throughput';
  if ((OBJECTIVES as readonly string[]).includes(v)) return v as Objective;
  throw new RecommendInputError(`--objective must be one of ${OBJECTIVES.join(', ')} (got "${v}")`);
}

export interface Axis {
  key: string;
  better: 'higher' | 'lower';
}

/**
 * The front's axes for these SLOs and objective: throughput, the latency axes, energy per token, and the objective
 * when it is none of them (see the module comment).
 */
export function paretoAxes(slos: readonly Slo[], objective: Objective = THROUGHPUT_AXIS): Axis[] {
  const named = [...new Set(slos.map((s) => s.metric).filter(isLatencyKey))];
  const latency = named.length > 0 ? named : DEFAULT_LATENCY_AXES;
  const axes: Axis[] = [
    { key: THROUGHPUT_AXIS, better: 'higher' },
    ...latency.map((key): Axis => ({ key, better: 'lower' })),
    { key: ENERGY_AXIS, better: 'lower' },
  ];
  if (!axes.some((a) => a.key === objective)) axes.push({ key: objective, better: better(objective) });
  return axes;
}

/** A latency metric (`p99_ttft_ms`, `mean_tpot_ms`): the latency axes of the front and of its chart. */
export function isLatencyKey(key: string): boolean {
  return key.endsWith('_ms');
}

/** How good a value is on an axis: bigger is better; a missing value is the worst (−∞). */
function goodness(c: Configuration, key: string, better: 'higher' | 'lower'): number {
  const v = c.values[key];
  if (v === undefined) return -Infinity;
  return better === 'higher' ? v : -v;
}

export function dominates(a: Configuration, b: Configuration, axes: readonly Axis[]): boolean {
  let strictly = false;
  for (const axis of axes) {
    const ga = goodness(a, axis.key, axis.better);
    const gb = goodness(b, axis.key, axis.better);
    if (ga < gb) return false;
    if (ga > gb) strictly = true;
  }
  return strictly;
}

/** The configurations no other one dominates, in the order given. */
export function paretoFront(configs: readonly Configuration[], axes: readonly Axis[]): Configuration[] {
  return configs.filter((c) => !configs.some((o) => o !== c && dominates(o, c, axes)));
}

export interface SloCheck {
  metric: string;
  op: '<=' | '>=';
  limit: number;
  /** The configuration's value (mean over repeats); null when it was not measured. */
  value: number | null;
  /** What was compared with the limit: the CI bound on the bad side with repeats, else the value. */
  checked: number | null;
  meets: boolean;
  /** How far the checked value is inside the limit (negative: beyond it), in the metric's unit. */
  margin: number | null;
  /** margin / limit (null for a limit of 0). */
  relative: number | null;
}

export function checkSlo(c: Configuration, slo: Slo): SloCheck {
  const value = c.values[slo.metric] ?? null;
  const ci = c.ci95[slo.metric];
  const checked = value === null ? null : ci ? (slo.op === '<=' ? ci[1] : ci[0]) : value;
  if (checked === null) return { ...slo, value, checked, meets: false, margin: null, relative: null };
  const margin = slo.op === '<=' ? slo.limit - checked : checked - slo.limit;
  return { ...slo, value, checked, meets: margin >= 0, margin, relative: slo.limit === 0 ? null : margin / slo.limit };
}

/** One configuration as a recommendation reports it. */
export interface RatedConfiguration {
  id: string;
  label: string;
  sweepId: string;
  harnessKinds: string[];
  repeats: number;
  /** The axes' and the objective's values (null: not measured). */
  values: Record<string, number | null>;
  ci95: Record<string, [number, number]>;
  valid: boolean;
  reasons: string[];
  /** On the front of the configurations that meet the SLOs (`pareto`). */
  onFront: boolean;
  /** On the front ignoring the SLOs (`paretoWithoutSlos`). */
  onFrontWithoutSlos: boolean;
  meetsSlos: boolean;
  slos: SloCheck[];
}

export interface ScenarioRecommendation {
  scenario: string;
  /** The configuration to deploy, or null when none is valid, meets the SLOs and has the objective measured. */
  recommended: string | null;
  /**
   * Ids of the configurations on the Pareto front of the valid ones that meet every SLO; the recommended one is
   * always among them.
   */
  pareto: string[];
  /** The front of every valid configuration, ignoring the SLOs (the same as `pareto` without SLOs). */
  paretoWithoutSlos: string[];
  reason: string;
  objective: Objective;
  slos: Slo[];
  /** The front's axes (metric keys). */
  axes: string[];
  /** The recommended configuration's SLO margins (the closest one's when none is recommended). */
  margins: SloCheck[];
  /** When none is recommended: the valid configuration nearest to meeting the SLOs. */
  closest: string | null;
  /** Qualifying configurations with exactly the winner's objective value. */
  ties: string[];
  /** Qualifying configurations whose objective's 95 % CI overlaps the winner's. */
  withinNoise: string[];
  /** Configurations whose results are invalid, with why. */
  invalid: Array<{ id: string; reasons: string[] }>;
  configurations: RatedConfiguration[];
}

export interface Recommendations {
  recommendations: ScenarioRecommendation[];
}

export interface RecommendOptions {
  /** Only this scenario. */
  scenario?: string;
  slos?: readonly Slo[];
  objective?: Objective;
}

/** "FP8 at MAXN with jetson_clocks": what the guide calls a configuration. */
function baseLabel(c: Configuration): string {
  const power = c.power === 'unknown' ? 'an unrecorded power mode' : c.powerLabel;
  return `${c.quantLabel} at ${power}${c.clocks === 'locked' ? ' with jetson_clocks' : ''}`;
}

/** Labels unique within a scenario: the base label, with the model and then the id when it is not enough. */
function labels(configs: readonly Configuration[]): Map<string, string> {
  const count = (f: (c: Configuration) => string) => {
    const n = new Map<string, number>();
    for (const c of configs) n.set(f(c), (n.get(f(c)) ?? 0) + 1);
    return n;
  };
  const base = count(baseLabel);
  const withModel = (c: Configuration) => `${baseLabel(c)} (${c.modelId})`;
  const model = count(withModel);
  return new Map(
    configs.map((c) => [
      c.id,
      base.get(baseLabel(c)) === 1
        ? baseLabel(c)
        : model.get(withModel(c)) === 1
          ? withModel(c)
          : `${baseLabel(c)} (${c.id})`,
    ]),
  );
}

/** "398", "52.3", "0.274": enough digits to read, no more. */
function num(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return String(Number(v.toFixed(1)));
  if (a === 0) return '0';
  return String(Number(v.toPrecision(a >= 1 ? 3 : 2)));
}

/** "p99 TTFT", "mean TPOT", "throughput", "energy". */
export function metricLabel(key: string): string {
  const m = /^(mean|median|std|p[0-9.e-]+)_(ttft|tpot|itl|e2el)_ms$/.exec(key);
  if (m) return `${m[1]} ${m[2]!.toUpperCase()}`;
  const names: Record<string, string> = {
    output_throughput: 'throughput',
    energy_per_output_token_j: 'energy per token',
    output_throughput_per_w: 'tokens per joule',
    request_throughput: 'request throughput',
  };
  return names[key] ?? key;
}

/** A value with its unit: "398 tok/s", "520 ms", "0.27 J/token". */
export function metricValue(key: string, v: number): string {
  if (key.endsWith('_ms')) return `${num(v)} ms`;
  if (key === 'request_throughput' || key === 'request_goodput') return `${num(v)} req/s`;
  if (key.endsWith('_throughput') || key === 'max_output_tokens_per_s') return `${num(v)} tok/s`;
  if (key === 'energy_per_output_token_j') return `${num(v)} J/token`;
  if (key === 'output_throughput_per_w') return `${num(v)} tok/J`;
  if (key.endsWith('_w')) return `${num(v)} W`;
  if (key.endsWith('_j')) return `${num(v)} J`;
  return num(v);
}

/** "18 %", "4.2 %": whole percent from 10 % up. */
const pct = (fraction: number): string => {
  const p = Math.abs(fraction) * 100;
  return `${p >= 10 ? p.toFixed(0) : num(p)} %`;
};

function better(key: string): 'higher' | 'lower' {
  return metricDirection(key) === 'higher' ? 'higher' : 'lower';
}

/** a before b: the objective, then throughput, energy and the latency axes, then the id. */
function rank(objective: Objective, axes: readonly Axis[]) {
  const order: Axis[] = [
    { key: objective, better: better(objective) },
    ...axes.filter((a) => a.key === THROUGHPUT_AXIS || a.key === ENERGY_AXIS),
    ...axes.filter((a) => a.key !== THROUGHPUT_AXIS && a.key !== ENERGY_AXIS),
  ];
  return (a: Configuration, b: Configuration): number => {
    for (const axis of order) {
      const d = goodness(b, axis.key, axis.better) - goodness(a, axis.key, axis.better);
      if (d !== 0 && !Number.isNaN(d)) return d;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

function interval(c: Configuration, key: string): [number, number] | null {
  const v = c.values[key];
  if (v === undefined) return null;
  return c.ci95[key] ?? [v, v];
}

/** "misses the p99 TTFT SLO (812 ms, SLO 600 ms)"; "has no p99.9 TTFT measured" for a missing metric. */
function misses(checks: readonly SloCheck[]): string {
  const parts = checks
    .filter((s) => !s.meets)
    .map((s) =>
      s.value === null
        ? `has no ${metricLabel(s.metric)} measured`
        : `misses the ${metricLabel(s.metric)} SLO (${metricValue(s.metric, s.value)}` +
          `${s.checked !== s.value ? `, 95 % CI to ${metricValue(s.metric, s.checked!)}` : ''}` +
          `, SLO ${s.op === '<=' ? '≤' : '≥'} ${metricValue(s.metric, s.limit)})`,
    );
  return parts.join(' and ');
}

function sloText(slos: readonly Slo[]): string {
  return slos
    .map((s) => `${metricLabel(s.metric)} ${s.op === '<=' ? '≤' : '≥'} ${metricValue(s.metric, s.limit)}`)
    .join(', ');
}

/** "398 tok/s, p99 TTFT 520 ms (SLO 600), 0.27 J/token". */
function headline(c: Configuration, axes: readonly Axis[], slos: readonly Slo[], objective: Objective): string {
  const keys = [...axes.map((a) => a.key), ...(axes.some((a) => a.key === objective) ? [] : [objective])];
  return keys
    .map((key) => {
      const v = c.values[key];
      if (v === undefined) return key === ENERGY_AXIS ? 'energy not measured' : `${metricLabel(key)} not measured`;
      const slo = slos.find((s) => s.metric === key);
      const lead = key === THROUGHPUT_AXIS || key === ENERGY_AXIS ? '' : `${metricLabel(key)} `;
      return `${lead}${metricValue(key, v)}${slo ? ` (SLO ${num(slo.limit)})` : ''}`;
    })
    .join(', ');
}

/** Worst relative SLO miss of a configuration (0 when it meets them all; ∞ for a metric it lacks). */
function worstMiss(checks: readonly SloCheck[]): number {
  let worst = 0;
  for (const s of checks) {
    if (s.checked === null) return Infinity;
    const over = s.op === '<=' ? s.checked - s.limit : s.limit - s.checked;
    worst = Math.max(worst, s.limit === 0 ? (over > 0 ? Infinity : 0) : over / s.limit);
  }
  return worst;
}

function recommendScenario(
  scenario: string,
  configs: readonly Configuration[],
  slos: readonly Slo[],
  objective: Objective,
): ScenarioRecommendation {
  const axes = paretoAxes(slos, objective);
  const label = labels(configs);
  const name = (c: Configuration) => label.get(c.id)!;
  const valid = configs.filter((c) => c.valid);
  const checks = new Map(configs.map((c) => [c.id, slos.map((s) => checkSlo(c, s))]));
  const meets = (c: Configuration) => checks.get(c.id)!.every((s) => s.meets);
  const front = paretoFront(valid.filter(meets), axes);
  const onFront = new Set(front.map((c) => c.id));
  const frontWithoutSlos = paretoFront(valid, axes);
  const onFrontWithoutSlos = new Set(frontWithoutSlos.map((c) => c.id));
  const qualifying = valid.filter((c) => meets(c) && c.values[objective] !== undefined);
  const order = rank(objective, axes);
  const winner = [...qualifying].sort(order)[0] ?? null;

  const invalid = configs.filter((c) => !c.valid).map((c) => ({ id: c.id, reasons: c.reasons }));
  const ties = winner
    ? qualifying.filter((c) => c !== winner && c.values[objective] === winner.values[objective]).map((c) => c.id)
    : [];
  const winnerCi = winner ? interval(winner, objective) : null;
  const withinNoise = winner
    ? qualifying
        .filter((c) => {
          if (c === winner || winnerCi === null) return false;
          const ci = interval(c, objective);
          const repeated = c.ci95[objective] !== undefined || winner.ci95[objective] !== undefined;
          return ci !== null && repeated && ci[0] <= winnerCi[1] && winnerCi[0] <= ci[1];
        })
        .map((c) => c.id)
    : [];

  const parts: string[] = [];
  let closest: Configuration | null = null;
  const objectiveLabel = metricLabel(objective);
  if (winner) {
    const counted = qualifying.length === 1 ? 'the only configuration' : `best of ${qualifying.length} configurations`;
    const how = slos.length > 0 ? ` meeting ${sloText(slos)}` : '';
    parts.push(
      `${name(winner)}: ${headline(winner, axes, slos, objective)} — ${counted}${how} on ${objectiveLabel}` +
        `${winner.repeats > 1 ? ` (mean of ${winner.repeats} repeats)` : ''}`,
    );
    // Only a configuration that misses an SLO can dominate the winner (see the module comment): say which.
    const by = frontWithoutSlos.filter((c) => dominates(c, winner, axes)).map(name);
    if (by.length > 0) {
      const verb = by.length === 1 ? 'would dominate it but misses' : 'would dominate it but miss';
      parts.push(`${by.join(', ')} ${verb} the SLOs, so the Pareto front is that of the configurations meeting them`);
    }
    // What the others would give: the most energy-frugal and the fastest, and why they are not chosen.
    const alternatives: Array<[Configuration | undefined, string, 'higher' | 'lower', string]> = [
      [[...valid].sort(rank(ENERGY_AXIS, axes))[0], ENERGY_AXIS, 'lower', 'energy'],
      [[...valid].sort(rank(THROUGHPUT_AXIS, axes))[0], THROUGHPUT_AXIS, 'higher', 'throughput'],
    ];
    const mentioned = new Set<string>([winner.id]);
    for (const [alt, key, dir, word] of alternatives) {
      if (!alt || mentioned.has(alt.id)) continue;
      const a = alt.values[key];
      const w = winner.values[key];
      if (a === undefined || w === undefined || w === 0 || (dir === 'lower' ? a >= w : a <= w)) continue;
      mentioned.add(alt.id);
      const gain = dir === 'lower' ? `saves ${pct((w - a) / w)} ${word}` : `gives ${pct((a - w) / w)} more ${word}`;
      let but: string;
      if (!meets(alt)) but = misses(checks.get(alt.id)!);
      else if (alt.values[objective] === undefined) but = `has no ${objectiveLabel} measured`;
      else {
        const wo = winner.values[objective]!;
        const ao = alt.values[objective];
        const diff = wo === 0 ? 0 : (ao - wo) / wo;
        // An equal objective is a tie, reported below.
        if (diff === 0) continue;
        but = `has ${pct(diff)} ${diff < 0 ? 'less' : 'more'} ${objectiveLabel}`;
      }
      parts.push(`${name(alt)} ${gain} but ${but}`);
    }
    for (const id of ties) {
      const c = configs.find((x) => x.id === id)!;
      parts.push(
        `${name(c)} ties on ${objectiveLabel} and comes second on the tie-break (throughput, energy, latency, id)`,
      );
    }
    const noisy = withinNoise.filter((id) => !ties.includes(id));
    if (noisy.length > 0) {
      const names = noisy.map((id) => name(configs.find((x) => x.id === id)!));
      parts.push(
        `${names.join(', ')} ${noisy.length === 1 ? 'is' : 'are'} within noise of it ` +
          `(the 95 % confidence intervals of ${objectiveLabel} overlap)`,
      );
    }
    if (winner.values[ENERGY_AXIS] === undefined) parts.push(`energy was not measured for ${name(winner)}`);
  } else if (valid.length === 0) {
    parts.push(
      `No configuration of scenario ${scenario} has valid results (${configs.length} measured), so none is recommended`,
    );
  } else {
    const meeting = valid.filter(meets);
    if (slos.length > 0 && meeting.length === 0) {
      const missOf = (c: Configuration) => worstMiss(checks.get(c.id)!);
      // Infinite misses (a metric not measured) compare as equal, then by the objective.
      const byMiss = (a: Configuration, b: Configuration) =>
        missOf(a) < missOf(b) ? -1 : missOf(a) > missOf(b) ? 1 : order(a, b);
      closest = [...valid].sort(byMiss)[0]!;
      const miss = missOf(closest);
      const beyond = Number.isFinite(miss) ? `, ${pct(miss)} beyond the limit` : '';
      parts.push(
        `No configuration meets the SLOs (${sloText(slos)}): none of the ${valid.length} valid configurations of ` +
          `scenario ${scenario} does. Closest: ${name(closest)} (${closest.id}), ` +
          `which ${misses(checks.get(closest.id)!)}${beyond}`,
      );
    } else {
      parts.push(
        `No configuration can be recommended on ${objectiveLabel}: none of the ${meeting.length} valid ` +
          `configurations${slos.length > 0 ? ' that meet the SLOs' : ''} has it measured` +
          (objective === THROUGHPUT_AXIS
            ? ''
            : ' (energy needs tegrastats on the device; imported results carry none): ' +
              'choose --objective output_throughput'),
      );
    }
  }
  if (invalid.length > 0) {
    const list = invalid.map((i) => `${name(configs.find((c) => c.id === i.id)!)} (${i.reasons.join('; ')})`);
    parts.push(`not considered because their results are invalid: ${list.join(', ')}`);
  }
  const reason = `${parts.join('; ')}.`;

  const ratedKeys = [...axes.map((a) => a.key), ...(axes.some((a) => a.key === objective) ? [] : [objective])];
  return {
    scenario,
    recommended: winner?.id ?? null,
    pareto: front.map((c) => c.id),
    paretoWithoutSlos: frontWithoutSlos.map((c) => c.id),
    reason,
    objective,
    slos: [...slos],
    axes: axes.map((a) => a.key),
    margins: checks.get((winner ?? closest)?.id ?? '') ?? [],
    closest: closest?.id ?? null,
    ties,
    withinNoise,
    invalid,
    configurations: configs.map((c) => ({
      id: c.id,
      label: name(c),
      sweepId: c.sweepId,
      harnessKinds: c.harnessKinds,
      repeats: c.repeats,
      values: Object.fromEntries(ratedKeys.map((k) => [k, c.values[k] ?? null])),
      ci95: Object.fromEntries(ratedKeys.flatMap((k) => (c.ci95[k] ? [[k, c.ci95[k]]] : []))),
      valid: c.valid,
      reasons: c.reasons,
      onFront: onFront.has(c.id),
      onFrontWithoutSlos: onFrontWithoutSlos.has(c.id),
      meetsSlos: meets(c),
      slos: checks.get(c.id)!,
    })),
  };
}

/** Scenario names across the sweeps, in the order first measured. */
export function scenariosOf(configs: readonly Configuration[]): string[] {
  return [...new Set(configs.map((c) => c.scenario))];
}

/** One recommendation per scenario over every configuration the sweeps measured (see the module comment). */
export function recommendFromConfigurations(
  configs: readonly Configuration[],
  opts: RecommendOptions = {},
): Recommendations {
  const scenarios = scenariosOf(configs);
  if (opts.scenario !== undefined && !scenarios.includes(opts.scenario)) {
    throw new RecommendInputError(
      `no scenario "${opts.scenario}" in these sweeps; scenarios measured: ${scenarios.join(', ') || 'none'}`,
    );
  }
  const slos = opts.slos ?? [];
  const objective = opts.objective ?? 'output_throughput';
  return {
    recommendations: scenarios
      .filter((s) => opts.scenario === undefined || s === opts.scenario)
      .map((s) =>
        recommendScenario(
          s,
          configs.filter((c) => c.scenario === s),
          slos,
          objective,
        ),
      ),
  };
}

/** One recommendation per scenario over every configuration the sweeps measured (imported results included). */
export function recommend(inputs: readonly ReportInput[], opts: RecommendOptions = {}): Recommendations {
  return recommendFromConfigurations(foldConfigurations(inputs), opts);
}

/**
 * What a Pareto chart needs: every configuration as a point on the axes, which are on the front (of those meeting
 * the SLOs, and ignoring them), and the recommended one. report/recommend-chart.ts turns it into the Vega-Lite chart
 * for the HTML report.
 */
export interface ParetoChartData {
  scenario: string;
  axes: string[];
  points: Array<{
    id: string;
    label: string;
    output_throughput: number | null;
    energy_per_output_token_j: number | null;
    /** The latency axes' values, by metric key. */
    latency: Record<string, number | null>;
    onFront: boolean;
    onFrontWithoutSlos: boolean;
    recommended: boolean;
    valid: boolean;
    meetsSlos: boolean;
  }>;
  front: string[];
  recommended: string | null;
}

export function paretoChartData(rec: ScenarioRecommendation): ParetoChartData {
  const latencyKeys = rec.axes.filter(isLatencyKey);
  return {
    scenario: rec.scenario,
    axes: rec.axes,
    points: rec.configurations.map((c) => ({
      id: c.id,
      label: c.label,
      output_throughput: c.values[THROUGHPUT_AXIS] ?? null,
      energy_per_output_token_j: c.values[ENERGY_AXIS] ?? null,
      latency: Object.fromEntries(latencyKeys.map((k) => [k, c.values[k] ?? null])),
      onFront: c.onFront,
      onFrontWithoutSlos: c.onFrontWithoutSlos,
      recommended: c.id === rec.recommended,
      valid: c.valid,
      meetsSlos: c.meetsSlos,
    })),
    front: rec.pareto,
    recommended: rec.recommended,
  };
}

/** `thorbench recommend --format json`. */
export function renderRecommendationsJson(recs: Recommendations): string {
  return JSON.stringify(recs, null, 2);
}

/** `thorbench recommend` (Markdown): per scenario the answer, the reason, and every configuration. */
export function renderRecommendationsMarkdown(recs: Recommendations): string {
  const out: string[] = [];
  for (const r of recs.recommendations) {
    out.push(`## Recommendation for ${mdInline(r.scenario)}`, '');
    const slos = r.slos.length > 0 ? `, SLOs ${sloText(r.slos)}` : ', no SLOs';
    out.push(
      r.recommended !== null
        ? `**Recommended: \`${r.recommended}\`** (objective ${r.objective}${slos})`
        : `**No configuration is recommended** (objective ${r.objective}${slos})`,
      '',
      mdInline(r.reason),
      '',
    );
    const fmt = (key: string, v: number | null) => (v === null ? '—' : metricValue(key, v));
    const keys = [...r.axes, ...(r.axes.includes(r.objective) ? [] : [r.objective])];
    const rows = r.configurations.map((c) => [
      `${c.id === r.recommended ? '★ ' : ''}${c.label}`,
      c.id,
      ...keys.map((k) => fmt(k, c.values[k] ?? null)),
      c.onFront ? 'yes' : c.onFrontWithoutSlos ? 'no (yes ignoring the SLOs)' : 'no',
      r.slos.length === 0 ? '—' : c.meetsSlos ? 'yes' : 'no',
      c.valid ? 'yes' : `no: ${c.reasons.join('; ')}`,
    ]);
    const headers = ['Configuration', 'Id', ...keys.map(metricLabel), 'Pareto', 'Meets SLOs', 'Valid'];
    out.push(markdownTable({ headers, rows, bestRow: null }), '');
  }
  if (recs.recommendations.length === 0) out.push('No configuration was measured in these sweeps.', '');
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
