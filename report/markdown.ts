/**
 * The Markdown report: the guide's result tables per scenario, then failures, then the timeline. Pure.
 */
import { mdCell, mdCode, mdFence, mdInline } from './format.js';
import { buildReportModel, type ReportInput } from './model.js';
import {
  failureEntries,
  REPEATS_NOTE,
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

export function renderMarkdownReport(input: ReportInput): string {
  const model = buildReportModel(input);
  const out: string[] = [`# thorbench report: ${mdInline(model.sweep.experimentName)}`, ''];
  if (model.simulated) out.push(`> **⚠ ${SIMULATED_NOTICE}.**`, '');
  for (const [label, value] of summaryItems(model)) out.push(`- **${label}:** ${mdInline(value)}`);
  out.push('');

  out.push('## Results', '');
  if (model.sections.length === 0) out.push('No cell has been recorded yet.', '');
  for (const section of model.sections) {
    out.push(`### ${mdInline(section.scenario)}`, '');
    const description = scenarioDescription(section.info);
    if (description) out.push(`${description}.`, '');
    out.push(markdownTable(scenarioTable(model, section)), '');
  }
  if (model.dims.repeats) out.push(REPEATS_NOTE, '');

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

  out.push('## Timeline', '');
  if (model.cells.length === 0) out.push('Nothing has run yet.', '');
  else {
    out.push(markdownTable(timelineTable(model)), '');
    const steps = stepSummaryTable(model);
    if (steps.rows.length > 0) out.push('### Time per step', '', markdownTable(steps), '');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
