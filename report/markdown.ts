/**
 * The Markdown report: the guide's result tables per scenario, then failures, then the timeline. Pure.
 */
import { mdCell, mdCode, mdFence, mdInline } from './format.js';
import { ONLY_SEARCHES, capacityDescription, capacityScenarios, capacityTable } from './capacity.js';
import { buildReportModel, type ReportInput } from './model.js';
import { powerClocksTable } from './power-clocks.js';
import { renderRegressionMarkdown } from './regression.js';
import {
  failureEntries,
  REPEATS_NOTE,
  invalidEntries,
  movedEntries,
  scenarioDescription,
  scenarioTable,
  SIMULATED_NOTICE,
  stepSummaryTable,
  summaryItems,
  type Table,
  timelineTable,
} from './tables.js';

export function markdownTable(table: Table): string {
  const line = (cells: string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(table.headers), `|${table.headers.map(() => '---').join('|')}|`, ...table.rows.map(line)].join('\n');
}

/** A chart written beside the Markdown file (`--format md --out DIR`), linked by its relative file name. */
export interface MarkdownChartFile {
  id: string;
  title: string;
  file: string;
}

export function renderMarkdownReport(input: ReportInput, opts: { charts?: readonly MarkdownChartFile[] } = {}): string {
  const model = buildReportModel(input);
  const charts = opts.charts ?? [];
  const image = (id: string): string[] => {
    const c = charts.find((x) => x.id === id);
    return c ? [`![${mdInline(c.title)}](${encodeURI(c.file)})`, ''] : [];
  };
  const out: string[] = [`# thorbench report: ${mdInline(model.sweep.experimentName)}`, ''];
  if (model.simulated) out.push(`> **⚠ ${SIMULATED_NOTICE}.**`, '');
  for (const [label, value] of summaryItems(model)) out.push(`- **${label}:** ${mdInline(value)}`);
  out.push('');
  if (input.regression) out.push(renderRegressionMarkdown(input.regression));

  out.push('## Results', '');
  if (model.sections.length === 0)
    out.push(model.capacities.length > 0 ? `${ONLY_SEARCHES}.` : 'No cell has been recorded yet.', '');
  for (const section of model.sections) {
    out.push(`### ${mdInline(section.scenario)}`, '');
    const description = scenarioDescription(section.info);
    if (description) out.push(`${description}.`, '');
    out.push(markdownTable(scenarioTable(model, section)), '');
  }
  if (model.dims.repeats) out.push(REPEATS_NOTE, '');
  out.push(...image('throughput'), ...image('ttft'), ...image('tpot'));

  if (model.capacities.length > 0) out.push('## Capacity', '');
  for (const scenario of capacityScenarios(model.capacities)) {
    out.push(`### ${mdInline(scenario)}`, '', `${mdInline(capacityDescription(model.capacities, scenario))}.`, '');
    out.push(markdownTable(capacityTable(model.capacities, scenario)), '');
  }
  out.push(...image('capacity'));

  const comparison = powerClocksTable(model);
  if (comparison.rows.length > 0) {
    out.push('## Power mode × jetson_clocks', '', markdownTable(comparison), '', ...image('power-clocks'));
  }
  const has = (...ids: string[]) => charts.some((c) => ids.includes(c.id));
  if (has('tradeoff', 'energy')) out.push('## Trade-offs', '', ...image('tradeoff'), ...image('energy'));
  if (has('latency-distributions')) out.push('## Latency distributions', '', ...image('latency-distributions'));

  out.push('## Validity', '');
  const invalid = invalidEntries(model);
  if (invalid.length === 0) out.push('Every measured cell is valid.', '');
  else {
    const count = `${invalid.length} measured cell(s) broke a validity rule (marked ⚠ above)`;
    out.push(`${count}; their numbers are kept but should not be trusted:`, '');
  }
  for (const e of invalid) out.push(`- ${mdCode(e.cellId)}: ${e.reasons.map(mdInline).join('; ')}`);
  if (invalid.length > 0) out.push('');

  out.push('## Failures', '');
  const failures = failureEntries(model);
  if (failures.length === 0) out.push('None: every recorded cell succeeded.', '');
  for (const f of failures) {
    out.push(`### ${mdCode(f.cellId)} — ${f.status}: ${mdInline(f.reason)}`, '');
    out.push(
      `- **Reason:** ${mdInline(f.reason)}`,
      `- **Message:** ${mdInline(f.message)}`,
      `- **Retryable:** ${f.retryable}`,
      `- **Failed step:** ${mdInline(f.step)}`,
      `- **Engine exit status:** ${mdInline(f.exitStatus)}; OOM-killed: ${f.oomKilled}`,
      `- **Cell:** ${mdInline(f.context)}`,
      '',
    );
    if (f.logTail) out.push('Last lines of the engine log:', '', mdFence(f.logTail, 'text'), '');
  }

  const moved = movedEntries(model);
  if (moved.length > 0) {
    out.push('## Moved cells', '', `${moved.length} cell(s) moved off a lost device and ran elsewhere:`, '');
    for (const m of moved) {
      const where = `${mdCode(m.from)} → ${mdCode(m.to)}`;
      out.push(`- ${mdCode(m.cellId)}: ${where} at ${mdInline(m.at)}: ${mdInline(m.reason)}`);
    }
    out.push('');
  }

  out.push('## Timeline', '');
  if (model.cells.length === 0) out.push('Nothing has run yet.', '');
  else {
    out.push(...image('timeline'), markdownTable(timelineTable(model)), '');
    const steps = stepSummaryTable(model);
    if (steps.rows.length > 0) out.push('### Time per step', '', markdownTable(steps), '');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
