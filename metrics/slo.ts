/**
 * What the metrics depend on besides the requests: the percentiles to report and the goodput SLOs, in vLLM's own
 * terms (`vllm bench serve --metric-percentiles 50,90,99.9 --goodput ttft:500 tpot:50`), with the argv that asks
 * vLLM's client for the same, so a builtin-harness cell and a `vllm bench serve` cell report the same keys.
 *
 * Deterministic: no Node.js APIs.
 */
import { percentileWord } from './vllm-keys.js';

/** The percentiles reported when an experiment names none (`harness.percentiles`). */
export const DEFAULT_PERCENTILES: readonly number[] = [50, 90, 95, 99];

/** vLLM's goodput config: SLO per metric in milliseconds; a request is good when it meets every one given. */
export interface GoodputSlos {
  ttft?: number;
  tpot?: number;
  e2el?: number;
}

/** The older per-scenario spelling (`scenario.goodput`: ttftMs, tpotMs, e2elMs). */
export interface ScenarioGoodput {
  ttftMs?: number;
  tpotMs?: number;
  e2elMs?: number;
}

/**
 * The SLOs that apply to one scenario: the scenario's own when it sets any, else the experiment's
 * `harness.goodput`; undefined when neither sets one (vLLM then reports request_goodput as null).
 */
export function effectiveGoodput(
  harness: GoodputSlos | undefined,
  scenario: ScenarioGoodput | undefined,
): GoodputSlos | undefined {
  const own: GoodputSlos = {};
  if (scenario?.ttftMs !== undefined) own.ttft = scenario.ttftMs;
  if (scenario?.tpotMs !== undefined) own.tpot = scenario.tpotMs;
  if (scenario?.e2elMs !== undefined) own.e2el = scenario.e2elMs;
  if (Object.keys(own).length > 0) return own;
  if (harness && Object.values(harness).some((v) => v !== undefined)) return { ...harness };
  return undefined;
}

/** The percentiles to compute: sorted, without duplicates, 99 always included (reports and the store read p99). */
export function selectedPercentiles(percentiles: readonly number[] | undefined): number[] {
  return [...new Set([...(percentiles ?? DEFAULT_PERCENTILES), 99])].sort((a, b) => a - b);
}

/** `--metric-percentiles 50,90,95,99` for vLLM's client. */
export function metricPercentilesArgs(percentiles: readonly number[] | undefined): string[] {
  return ['--metric-percentiles', selectedPercentiles(percentiles).map(percentileWord).join(',')];
}

/** `--goodput ttft:500 tpot:50` for vLLM's client (nargs="+"), or nothing without SLOs. */
export function goodputArgs(slos: GoodputSlos | undefined): string[] {
  if (!slos) return [];
  const pairs = (['ttft', 'tpot', 'e2el'] as const).flatMap((k) => (slos[k] === undefined ? [] : [`${k}:${slos[k]}`]));
  return pairs.length === 0 ? [] : ['--goodput', ...pairs];
}
