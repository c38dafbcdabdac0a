/**
 * Capacities of a sweep's SLO searches, read back from the recorded probe cells: the search is replayed with the
 * same pure steps the sweep took (plan/search.ts), so the report names the probes in the order they ran and the
 * capacity the sweep found, whichever run of the workflow recorded them. Pure.
 */
import { mean } from '../metrics/stats.js';
import { planSweep } from '../plan/plan.js';
import { type ProbeOutcome, judgeProbe, nextProbe, probeCells, slotConfig } from '../plan/search.js';
import { parseExperiment, type SearchSpec } from '../schema/experiment.js';
import { asFailureType, type CellRecord, ENGINE_FAILURE_TYPES } from '../schema/outcome.js';
import type { Table } from './tables.js';

/**
 * Why a search has the value it has, so that a null value says which null it is:
 * - `found`: the search ended with the highest load meeting every SLO;
 * - `below-min`: the search ended because even the minimum load missed an SLO (value null);
 * - `probe-failed`: a probe failed without a measurement and the search could not go on: the minimum probe failed,
 *   or a probe's engine failed (which ends the search, workflows/sweep.ts) (value null);
 * - `unfinished`: the search has not reached its end (still running, cancelled, paused) (value null).
 */
export type CapacityOutcome = 'found' | 'below-min' | 'probe-failed' | 'unfinished';

/** One entry of `report --format json`'s `capacities`: exactly these keys. */
export interface Capacity {
  /** `<power>.<clocks>.<model>`. */
  config: string;
  scenario: string;
  vary: SearchSpec['vary'];
  /** The highest load that met every SLO; null unless the outcome is `found`. */
  value: number | null;
  outcome: CapacityOutcome;
  /** The metrics at the capacity (the mean over repeats when there are several); empty when value is null. */
  metrics: Record<string, number | null>;
  /** Cell ids of every probe, in the order the search ran them. */
  probes: string[];
}

export interface ProbeDetail {
  value: number;
  pass: boolean;
  /** A repeat of the probe failed (no measurement): a miss, but not for latency. */
  failed: boolean;
  cellIds: string[];
  /** Each SLO key → the value judged against it. */
  judged: Record<string, number | null>;
  reasons: string[];
}

/** A capacity with what the Markdown, HTML and chart show besides. */
export interface CapacityDetail extends Capacity {
  slo: Record<string, number>;
  /** Every probe is recorded and the search reached its end. */
  complete: boolean;
  probeDetails: ProbeDetail[];
}

/** The numeric metrics of the succeeded repeats, averaged key by key. */
function meanMetrics(records: readonly CellRecord[]): Record<string, number | null> {
  const runs = records.flatMap((r) =>
    r.status === 'succeeded' && r.metrics ? [r.metrics as Record<string, unknown>] : [],
  );
  const out: Record<string, number | null> = {};
  for (const key of Object.keys(runs[0] ?? {})) {
    const values = runs.map((m) => m[key]);
    if (values.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) out[key] = mean(values);
    else if (values.every((v) => v === null)) out[key] = null;
  }
  return out;
}

const engineFailed = (r: CellRecord): boolean =>
  r.status === 'failed' && r.failure !== null && ENGINE_FAILURE_TYPES.has(asFailureType(r.failure.type));

function outcomeOf(
  complete: boolean,
  capacity: number | null,
  details: readonly ProbeDetail[],
  stoppedByEngine: boolean,
): CapacityOutcome {
  if (complete) return capacity !== null ? 'found' : details[0]?.failed ? 'probe-failed' : 'below-min';
  return stoppedByEngine ? 'probe-failed' : 'unfinished';
}

/**
 * The capacities of every search of the sweep's experiment, one per configuration and search scenario. A probe not
 * fully recorded, or cancelled, ends the replay: the sweep runs it again when it resumes.
 */
export function sweepCapacities(experimentJson: string, cells: readonly CellRecord[]): CapacityDetail[] {
  let input: unknown;
  try {
    input = JSON.parse(experimentJson);
  } catch {
    return [];
  }
  const parsed = parseExperiment(input);
  if (!parsed.ok) return [];
  const byKey = new Map(cells.map((c) => [`${c.cellId}#${c.repeat}`, c]));
  const out: CapacityDetail[] = [];
  for (const slot of planSweep(parsed.experiment).cells) {
    const spec = slot.scenario.search;
    if (!slot.search || !spec) continue;
    const outcomes: ProbeOutcome[] = [];
    const details: ProbeDetail[] = [];
    const recordsAt = new Map<number, CellRecord[]>();
    let capacity: number | null = null;
    let complete = false;
    let stoppedByEngine = false;
    for (;;) {
      const step = nextProbe(spec, outcomes);
      if (step.kind === 'done') {
        capacity = step.capacity;
        complete = true;
        break;
      }
      const planned = probeCells(slot, step.value);
      const records = planned.map((c) => byKey.get(`${c.id}#${c.repeat}`));
      const present = records.filter((r) => r !== undefined);
      stoppedByEngine ||= present.some(engineFailed);
      if (present.length < records.length || present.some((r) => r.status === 'cancelled')) break;
      const recorded = present;
      const judgement = judgeProbe(
        spec,
        recorded.map((r) => ({
          cellId: r.cellId,
          metrics: r.status === 'succeeded' ? (r.metrics as Record<string, unknown> | null) : null,
        })),
      );
      outcomes.push({ value: step.value, pass: judgement.pass });
      recordsAt.set(step.value, recorded);
      const { pass, judged, reasons } = judgement;
      const failed = recorded.some((r) => r.status !== 'succeeded');
      details.push({ value: step.value, pass, failed, cellIds: planned.map((c) => c.id), judged, reasons });
    }
    out.push({
      config: slotConfig(slot),
      scenario: slot.scenario.name,
      vary: spec.vary,
      value: capacity,
      outcome: outcomeOf(complete, capacity, details, stoppedByEngine),
      metrics: capacity === null ? {} : meanMetrics(recordsAt.get(capacity) ?? []),
      probes: details.flatMap((d) => d.cellIds),
      slo: spec.slo,
      complete,
      probeDetails: details,
    });
  }
  return out;
}

/** The JSON report's entries: exactly the keys of Capacity. */
export function capacitiesJson(details: readonly CapacityDetail[]): Capacity[] {
  return details.map(({ config, scenario, vary, value, outcome, metrics, probes }) => ({
    config,
    scenario,
    vary,
    value,
    outcome,
    metrics,
    probes,
  }));
}

/** The Results section of a sweep whose every scenario searches a capacity. */
export const ONLY_SEARCHES = 'Every scenario of this sweep searches a capacity: see "Capacity" below';

/** The scenarios that have capacities, in the order of the capacities. */
export function capacityScenarios(details: readonly CapacityDetail[]): string[] {
  return [...new Set(details.map((d) => d.scenario))];
}

/** "Highest concurrency in 1..64 meeting p99_ttft_ms ≤ 500 ms and p99_tpot_ms ≤ 50 ms". */
export function capacityDescription(details: readonly CapacityDetail[], scenario: string): string {
  const d = details.find((x) => x.scenario === scenario);
  if (!d) return '';
  const load = d.vary === 'maxConcurrency' ? 'concurrency (max in-flight requests)' : 'request rate (req/s)';
  const slos = Object.entries(d.slo).map(([k, v]) => `${k} ≤ ${v} ms`);
  return `Highest ${load} meeting ${slos.join(' and ')}; each probe a recorded cell (✓ met, ✗ missed)`;
}

function capacityText(d: CapacityDetail): string {
  switch (d.outcome) {
    case 'found':
      return String(d.value);
    case 'below-min':
      return 'none: the minimum misses';
    case 'probe-failed':
      return d.complete ? 'none: the minimum probe failed' : 'search stopped: a probe failed';
    case 'unfinished':
      return 'search not finished';
  }
}

function fmtMetric(v: number | null | undefined): string {
  return typeof v === 'number' ? v.toFixed(2) : '—';
}

/** One row per configuration: its capacity, the throughput and SLO metrics there, and the probes in order. */
export function capacityTable(details: readonly CapacityDetail[], scenario: string): Table {
  const rows = details.filter((d) => d.scenario === scenario);
  const slos = Object.keys(rows[0]?.slo ?? {});
  const unit = rows[0]?.vary === 'requestRate' ? 'req/s' : 'concurrency';
  const headers = [
    'Configuration',
    `Capacity (${unit})`,
    'Output tok/s',
    ...slos.map((k) => `${k} ≤ ${rows[0]!.slo[k]}`),
    'Probes',
  ];
  return {
    headers,
    rows: rows.map((d) => [
      d.config,
      capacityText(d),
      fmtMetric(d.metrics.output_throughput),
      ...slos.map((k) => fmtMetric(d.metrics[k])),
      d.probeDetails.map((p) => `${p.value}${p.pass ? '✓' : p.failed ? '✗ (failed)' : '✗'}`).join(' '),
    ]),
    bestRow: null,
  };
}
