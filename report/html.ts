/**
 * The HTML report: one self-contained page (inline CSS and SVG, no scripts, no external assets) with the same
 * tables as the Markdown report plus bar charts of output throughput and mean TPOT per row, per scenario.
 * Every piece of text from the sweep is escaped. Pure.
 */
import { htmlEscape as h } from './format.js';
import { buildReportModel, metricStat, type ReportInput, type ReportModel, type ScenarioSection } from './model.js';
import { barChartSvg } from './svg.js';
import {
  REPEATS_NOTE,
  failureEntries,
  outcomeText,
  rowLabel,
  scenarioDescription,
  scenarioTable,
  SIMULATED_NOTICE,
  stepSummaryTable,
  summaryItems,
  type Table,
  timelineTable,
} from './tables.js';

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1b1f24; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d0d7de; } h3 { margin-top: 1.4rem; }
.simulated { background: #fff4d6; border: 2px solid #d4a72c; padding: .8rem 1rem; font-weight: 600; border-radius: 6px; }
table { border-collapse: collapse; margin: .6rem 0; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } tr.best td { background: #e6f4ea; font-weight: 600; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: 12px; }
code { font-size: 12px; } dl.summary dt { font-weight: 600; float: left; clear: left; width: 7rem; } dl.summary dd { margin-left: 7.5rem; }
svg.chart { display: block; margin: .4rem 0 1rem; font-size: 12px; }
svg.chart .bar { fill: #4c8bf5; } svg.chart .best { fill: #1a7f37; } svg.chart .title { font-weight: 600; } svg.chart .note { fill: #cf222e; }
`;

export function htmlTable(table: Table): string {
  const head = `<tr>${table.headers.map((x) => `<th>${h(x)}</th>`).join('')}</tr>`;
  const body = table.rows.map((row, i) => `<tr${i === table.bestRow ? ' class="best"' : ''}>${row.map((x) => `<td>${h(x)}</td>`).join('')}</tr>`);
  return `<table><thead>${head}</thead><tbody>${body.join('')}</tbody></table>`;
}

function charts(model: ReportModel, section: ScenarioSection, bestRow: number | null): string {
  const bars = (key: 'output_throughput' | 'mean_tpot_ms') =>
    section.rows.map((g, i) => ({
      label: rowLabel(model.dims, g) || g.cells[0]?.cellId || g.key,
      value: metricStat(g, key)?.mean ?? null,
      note: outcomeText(g.cells.at(-1)),
      highlight: i === bestRow,
    }));
  return (
    barChartSvg({ title: `Output token throughput — ${section.scenario}`, unit: 'tok/s, higher is better', bars: bars('output_throughput') }) +
    barChartSvg({ title: `Mean TPOT — ${section.scenario}`, unit: 'ms, lower is better', bars: bars('mean_tpot_ms') })
  );
}

export function renderHtmlReport(input: ReportInput): string {
  const model = buildReportModel(input);
  const title = `thorbench report: ${model.sweep.experimentName}`;
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${h(title)}</h1>`,
  ];
  if (model.simulated) out.push(`<p class="simulated">⚠ ${h(SIMULATED_NOTICE)}.</p>`);
  out.push(`<dl class="summary">${summaryItems(model).map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`).join('')}</dl>`);

  out.push('<h2>Results</h2>');
  if (model.sections.length === 0) out.push('<p>No cell has been recorded yet.</p>');
  for (const section of model.sections) {
    const table = scenarioTable(model, section);
    const description = scenarioDescription(section.info);
    out.push(`<h3>${h(section.scenario)}</h3>`);
    if (description) out.push(`<p>${h(description)}.</p>`);
    out.push(htmlTable(table), charts(model, section, table.bestRow));
  }
  if (model.dims.repeats) out.push(`<p>${h(REPEATS_NOTE)}</p>`);

  out.push('<h2>Failures</h2>');
  const failures = failureEntries(model);
  if (failures.length === 0) out.push('<p>None: every recorded cell succeeded.</p>');
  for (const f of failures) {
    out.push(
      `<h3><code>${h(f.cellId)}</code> — ${h(`${f.status}: ${f.reason}`)}</h3><ul>`,
      `<li><b>Reason:</b> ${h(f.reason)}</li>`,
      `<li><b>Message:</b> ${h(f.message)}</li>`,
      `<li><b>Retryable:</b> ${h(f.retryable)}</li>`,
      `<li><b>Failed step:</b> ${h(f.step)}</li>`,
      `<li><b>Engine exit status:</b> ${h(f.exitStatus)}; OOM-killed: ${h(f.oomKilled)}</li>`,
      `<li><b>Cell:</b> ${h(f.context)}</li></ul>`,
    );
    if (f.logTail) out.push(`<p>Last lines of the engine log:</p><pre>${h(f.logTail)}</pre>`);
  }

  out.push('<h2>Timeline</h2>');
  if (model.cells.length === 0) out.push('<p>Nothing has run yet.</p>');
  else {
    out.push(htmlTable(timelineTable(model)));
    const steps = stepSummaryTable(model);
    if (steps.rows.length > 0) out.push('<h3>Time per step</h3>', htmlTable(steps));
  }
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}
