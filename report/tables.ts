/**
 * The report's tables as plain data (headers and cell texts), built once and rendered by both the Markdown and
 * the HTML renderer, so the two always show the same numbers. Pure.
 */
import type { BenchmarkMetrics } from '../schema/metrics.js';
import type { CellRecord } from '../schema/outcome.js';
import { fmtDuration, fmtFixed, msBetween, yesNo } from './format.js';
import {
  type Dimensions,
  metricStat,
  type ReportModel,
  type RowGroup,
  type ScenarioInfo,
  type ScenarioSection,
  type Stat,
} from './model.js';

export interface Table {
  headers: string[];
  rows: string[][];
  /** Index of the row that gets the guide's 🚀 (best output throughput), if any. */
  bestRow: number | null;
}

interface MetricColumn {
  header: string;
  key: keyof BenchmarkMetrics;
  digits: number;
}

const REQUEST_THROUGHPUT: MetricColumn = { header: 'Request throughput (req/s)', key: 'request_throughput', digits: 2 };
const CORE_METRICS: MetricColumn[] = [
  { header: 'Output token throughput (tok/s)', key: 'output_throughput', digits: 2 },
  { header: 'Mean TTFT (ms)', key: 'mean_ttft_ms', digits: 2 },
  { header: 'Mean TPOT (ms)', key: 'mean_tpot_ms', digits: 2 },
];
// J per token is usually well below 1, so it keeps three decimals.
const ENERGY_METRICS: MetricColumn[] = [
  { header: 'Energy (J/token)', key: 'energy_per_output_token_j', digits: 3 },
  { header: 'Efficiency (tok/s/W)', key: 'output_throughput_per_w', digits: 2 },
];

export const ROCKET = '🚀';

/** Power/clocks columns appear when the sweep varies either; model columns when it varies models or nothing. */
export function identityColumns(dims: Dimensions): { powerClocks: boolean; model: boolean } {
  const powerClocks = dims.power || dims.clocks;
  return { powerClocks, model: dims.model || !powerClocks };
}

/** Short label of a row for charts and lists: the varying identity columns joined. */
export function rowLabel(dims: Dimensions, group: RowGroup): string {
  const id = identityColumns(dims);
  const parts: string[] = [];
  if (id.powerClocks) parts.push(`${group.powerLabel} · jetson_clocks ${yesNo(group.clocks === 'locked')}`);
  if (id.model) parts.push(`${group.modelName} (${group.quantLabel})`);
  return parts.join(' · ');
}

function hasEnergy(model: ReportModel): boolean {
  return model.cells.some((c) => ENERGY_METRICS.some((m) => typeof c.metrics?.[m.key] === 'number'));
}

/** Mean, and ± the half-width of its 95 % confidence interval when more than one repeat measured it. */
export function statText(s: Stat | null, digits: number): string {
  if (s === null) return '—';
  const mean = fmtFixed(s.mean, digits);
  return s.n > 1 && s.ci95HalfWidth !== null ? `${mean} ± ${fmtFixed(s.ci95HalfWidth, digits)}` : mean;
}

/** The note under tables with repeated cells. */
export const REPEATS_NOTE =
  'Values are means over the successful repeats ± the half-width of the 95 % confidence interval of the mean ' +
  "(Student's t with N − 1 degrees of freedom); `thorbench report --format json` gives the intervals and CVs.";

/** What a row without any successful repeat shows instead of numbers: its status and typed reason. */
export function outcomeText(cell: CellRecord | undefined): string {
  if (cell === undefined) return 'pending';
  return cell.failure ? `${cell.status}: ${cell.failure.type}` : cell.status;
}

/** "⚠ invalid" (with repeats "⚠ 1/3 invalid") when a measured repeat of the row broke a validity rule. */
export function invalidMark(group: RowGroup): string {
  const invalid = group.succeeded.filter((c) => !c.verdict.valid).length;
  if (invalid === 0) return '';
  return group.succeeded.length > 1 ? ` ⚠ ${invalid}/${group.succeeded.length} invalid` : ' ⚠ invalid';
}

/** Measured cells whose verdict is invalid, with every reason (cells without a result are listed as failures). */
export function invalidEntries(model: ReportModel): Array<{ cellId: string; reasons: string[] }> {
  return model.cells
    .filter((c) => c.status === 'succeeded' && !c.verdict.valid)
    .map((c) => ({ cellId: c.cellId, reasons: c.verdict.reasons }));
}

export function scenarioTable(model: ReportModel, section: ScenarioSection): Table {
  const id = identityColumns(model.dims);
  const metrics = [
    ...(id.model ? [REQUEST_THROUGHPUT] : []),
    ...CORE_METRICS,
    ...(hasEnergy(model) ? ENERGY_METRICS : []),
  ];
  const headers = [
    ...(id.powerClocks ? ['Power mode', 'jetson_clocks'] : []),
    ...(id.model ? ['Model', 'Quantization', 'Size'] : []),
    ...metrics.map((m) => m.header),
    ...(model.dims.repeats ? ['Runs'] : []),
  ];

  let bestRow: number | null = null;
  if (id.model && model.dims.model) {
    let best = -Infinity;
    let measured = 0;
    section.rows.forEach((group, i) => {
      const s = metricStat(group, 'output_throughput');
      if (s === null) return;
      measured++;
      if (s.mean > best) {
        best = s.mean;
        bestRow = i;
      }
    });
    if (measured < 2) bestRow = null;
  }

  const rows = section.rows.map((group, i) => {
    const identity = [
      ...(id.powerClocks ? [group.powerLabel, yesNo(group.clocks === 'locked')] : []),
      ...(id.model
        ? [i === bestRow ? `${group.modelName} ${ROCKET}` : group.modelName, group.quantLabel, group.sizeLabel]
        : []),
    ];
    identity[0] += invalidMark(group);
    const values =
      group.succeeded.length === 0
        ? metrics.map((_, j) => (j === 0 ? outcomeText(group.cells.at(-1)) : '—'))
        : metrics.map((m) => statText(metricStat(group, m.key), m.digits));
    const runs = model.dims.repeats ? [`${group.succeeded.length}/${group.cells.length} ok`] : [];
    return [...identity, ...values, ...runs];
  });
  return { headers, rows, bestRow };
}

/** "input 2048 tokens, output 128 tokens, 100 prompts, max concurrency 8". */
export function scenarioDescription(info: ScenarioInfo | null): string {
  if (info === null) return '';
  const parts: string[] = [];
  if (info.inputLen !== null) parts.push(`input ${info.inputLen} tokens`);
  if (info.outputLen !== null) parts.push(`output ${info.outputLen} tokens`);
  if (info.numPrompts !== null) parts.push(`${info.numPrompts} prompts`);
  parts.push(info.maxConcurrency !== null ? `max concurrency ${info.maxConcurrency}` : 'unbounded concurrency');
  parts.push(info.requestRate !== null ? `request rate ${info.requestRate}/s` : 'request rate inf');
  return parts.join(', ');
}

/** Everything the Failures section says about one cell that did not succeed. */
export interface FailureEntry {
  cellId: string;
  status: string;
  reason: string;
  message: string;
  retryable: string;
  step: string;
  exitStatus: string;
  oomKilled: string;
  context: string;
  logTail: string | null;
}

/** A cell moved off a lost device (docs/architecture.md, "Failover"): where it left, where it ran, why. */
export interface MovedEntry {
  cellId: string;
  from: string;
  to: string;
  reason: string;
  at: string;
}

export function movedEntries(model: ReportModel): MovedEntry[] {
  return model.cells.flatMap((c) =>
    c.movedFrom
      ? [
          {
            cellId: c.cellId,
            from: c.movedFrom.deviceId,
            to: c.device?.deviceId ?? 'not run',
            reason: c.movedFrom.reason,
            at: c.movedFrom.at,
          },
        ]
      : [],
  );
}

export function failureEntries(model: ReportModel): FailureEntry[] {
  return model.cells
    .filter((c) => c.status !== 'succeeded')
    .map((c) => ({
      cellId: c.cellId,
      status: c.status,
      reason: c.failure?.type ?? 'no reason recorded',
      message: c.failure?.message || '(no message)',
      retryable: c.failure ? yesNo(c.failure.retryable) : '—',
      step: c.failure?.step || '—',
      exitStatus:
        c.engine?.exitCode === null || c.engine?.exitCode === undefined
          ? 'engine still running or never started'
          : String(c.engine.exitCode),
      oomKilled: c.engine ? yesNo(c.engine.oomKilled) : '—',
      context: `power ${c.power}, clocks ${c.clocks}, model ${c.modelId}, scenario ${c.scenario}, repeat ${c.repeat}, planned #${c.position + 1}`,
      logTail: c.engine?.logTail ?? null,
    }));
}

/** Planned position against the order cells actually started in (a resumed or sharded sweep differs). */
export function timelineTable(model: ReportModel): Table {
  const multiDevice = new Set(model.cells.map((c) => c.device?.deviceId ?? '')).size > 1;
  const started = [...model.cells].sort((a, b) => {
    const ta = Date.parse(a.startedAt);
    const tb = Date.parse(b.startedAt);
    return (
      (Number.isFinite(ta) ? ta : Infinity) - (Number.isFinite(tb) ? tb : Infinity) ||
      a.position - b.position ||
      a.repeat - b.repeat
    );
  });
  const rows = started.map((c, i) => [
    `#${c.position + 1}`,
    `#${i + 1}`,
    c.cellId,
    c.status,
    ...(multiDevice ? [c.device?.deviceId ?? '—'] : []),
    c.startedAt,
    fmtDuration(msBetween(c.startedAt, c.finishedAt)),
  ]);
  return {
    headers: ['Planned #', 'Actual #', 'Cell', 'Status', ...(multiDevice ? ['Device'] : []), 'Started', 'Took'],
    rows,
    bestRow: null,
  };
}

/** Total time per step kind over all cells, in pipeline order of first appearance. */
export function stepSummaryTable(model: ReportModel): Table {
  const kinds = new Map<string, { runs: number; failed: number; skipped: number; totalMs: number }>();
  for (const c of model.cells) {
    for (const s of c.steps) {
      const k = kinds.get(s.step) ?? { runs: 0, failed: 0, skipped: 0, totalMs: 0 };
      k.runs++;
      if (s.result.kind === 'failed') k.failed++;
      if (s.result.kind === 'skipped') k.skipped++;
      if (Number.isFinite(s.durationMs)) k.totalMs += s.durationMs;
      kinds.set(s.step, k);
    }
  }
  const rows = [...kinds.entries()].map(([step, k]) => [
    step,
    String(k.runs),
    String(k.skipped),
    String(k.failed),
    fmtDuration(k.totalMs),
    fmtDuration(k.totalMs / k.runs),
  ]);
  return { headers: ['Step', 'Runs', 'Skipped', 'Failed', 'Total time', 'Mean'], rows, bestRow: null };
}

/** The summary lines at the top of a report, as label/value pairs. */
export function summaryItems(model: ReportModel): Array<[string, string]> {
  const s = model.sweep;
  const c = model.counts;
  const items: Array<[string, string]> = [
    ['Sweep', s.workflowId ? `${s.sweepId} (workflow ${s.workflowId})` : s.sweepId],
  ];
  if (model.view.description) items.push(['Description', model.view.description]);
  const wall = msBetween(s.startedAt, s.finishedAt);
  items.push([
    'State',
    `${s.state}; started ${s.startedAt}${s.finishedAt ? `, finished ${s.finishedAt} (${fmtDuration(wall)})` : ''}`,
  ]);
  if (model.devices.length === 0)
    items.push(['Device', `not recorded (no cell reached a device)${model.simulated ? '; simulated' : ''}`]);
  for (const d of model.devices) {
    items.push([
      'Device',
      `${d.model} (${d.deviceId}), L4T ${d.l4tRelease ?? 'unknown'}, simulated: ${yesNo(d.simulated)}`,
    ]);
  }
  if (model.engineImages.length > 0) items.push(['Engine', model.engineImages.join(', ')]);
  const imported = model.cells.filter((c) => c.harness?.kind === 'import').length;
  if (imported > 0) {
    const cells = `${imported} cell${imported === 1 ? '' : 's'}`;
    items.push(['Imported', `${cells} from vllm bench serve output (thorbench import), not measured by thorbench`]);
  }
  const versions = [...new Set(model.cells.flatMap((cell) => (cell.thorbenchVersion ? [cell.thorbenchVersion] : [])))];
  if (versions.length > 0) items.push(['thorbench', versions.join(', ')]);
  items.push([
    'Cells',
    `${c.planned} planned · ${c.succeeded} succeeded · ${c.failed} failed · ${c.skipped} skipped · ${c.cancelled} cancelled · ${c.pending} pending`,
  ]);
  return items;
}

export const SIMULATED_NOTICE =
  "Simulated Thor — these numbers come from thorbench's simulator calibrated on the guide's measurements, not from hardware";
