/**
 * The HTML report: one self-contained page (inline CSS and SVG, no scripts, no external assets) with the same
 * tables as the Markdown report and the charts of report/charts.ts, drawn to SVG by Vega at report time.
 * Every piece of text from the sweep is escaped (Vega escapes the text it draws).
 */
import { reportCharts } from './charts.js';
import { paretoChart } from './recommend-chart.js';
import { recommend } from './recommend.js';
import { comparisonChart, comparisonIntro, comparisonTable, notComparedLine, type SweepComparison } from './compare.js';
import { htmlEscape as h } from './format.js';
import { ONLY_SEARCHES, capacityDescription, capacityScenarios, capacityTable } from './capacity.js';
import { buildReportModel, type ReportInput } from './model.js';
import { powerClocksTable } from './power-clocks.js';
import type { RegressionComparison } from './regression.js';
import { changeTable, noiseNote, notComparedLines, regressionHeadline } from './regression-view.js';
import { type RenderedChart, renderCharts } from './render.js';
import {
  REPEATS_NOTE,
  failureEntries,
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
td { white-space: nowrap; } th { background: #f6f8fa; } tr.best td { background: #e6f4ea; font-weight: 600; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: 12px; }
code { font-size: 12px; } dl.summary dt { font-weight: 600; float: left; clear: left; width: 7rem; } dl.summary dd { margin-left: 7.5rem; }
figure.chart { margin: 1rem 0 1.6rem; overflow-x: auto; } figure.chart svg { display: block; max-width: none; }
nav.charts a { margin-right: .8rem; }
`;

/** The regression check against the baseline, as in the Markdown report. */
function regressionHtml(c: RegressionComparison): string[] {
  const out = [
    `<h2>Regression check: ${h(c.sweepId)} against ${h(c.baseline)}</h2>`,
    `<p><b>${h(regressionHeadline(c))}.</b></p>`,
    `<p>${h(noiseNote(c))}</p>`,
  ];
  if (c.imageBump) {
    out.push(`<p>Image bump: <code>${h(c.imageBump.from)}</code> → <code>${h(c.imageBump.to)}</code></p>`);
  }
  if (c.regressions.length > 0) out.push('<h3>Regressions</h3>', htmlTable(changeTable(c.regressions)));
  if (c.improvements.length > 0) out.push('<h3>Improvements</h3>', htmlTable(changeTable(c.improvements)));
  const skipped = notComparedLines(c);
  if (skipped.length > 0) out.push(`<ul>${skipped.map((l) => `<li>${h(l)}</li>`).join('')}</ul>`);
  return out;
}

export function htmlTable(table: Table): string {
  const head = `<tr>${table.headers.map((x) => `<th>${h(x)}</th>`).join('')}</tr>`;
  const body = table.rows.map(
    (row, i) => `<tr${i === table.bestRow ? ' class="best"' : ''}>${row.map((x) => `<td>${h(x)}</td>`).join('')}</tr>`,
  );
  return `<table><thead>${head}</thead><tbody>${body.join('')}</tbody></table>`;
}

function figure(chart: RenderedChart | undefined): string {
  if (!chart) return '';
  const id = h(chart.id);
  return `<figure class="chart" id="chart-${id}" data-chart="${id}" aria-label="${h(chart.title)}">${chart.svg}</figure>`;
}

export async function renderHtmlReport(input: ReportInput): Promise<string> {
  const model = buildReportModel(input);
  // The recommendation per scenario with the default objective and axes (thorbench recommend for SLOs of your own).
  const recommendations = model.cells.some((c) => c.metrics !== null) ? recommend([input]).recommendations : [];
  const charts = await renderCharts([...reportCharts(model, input.samples), ...recommendations.map(paretoChart)]);
  const chart = (id: string) => figure(charts.find((c) => c.id === id));
  const title = `thorbench report: ${model.sweep.experimentName}`;
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${h(title)}</h1>`,
  ];
  if (model.simulated) out.push(`<p class="simulated">⚠ ${h(SIMULATED_NOTICE)}.</p>`);
  out.push(
    `<dl class="summary">${summaryItems(model)
      .map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`)
      .join('')}</dl>`,
  );
  if (charts.length > 0) {
    const links = charts.map((c) => `<a href="#chart-${h(c.id)}">${h(c.title)}</a>`);
    out.push(`<nav class="charts"><b>Charts:</b> ${links.join(' ')}</nav>`);
  }

  if (input.regression) out.push(...regressionHtml(input.regression));

  out.push('<h2>Results</h2>');
  if (model.sections.length === 0)
    out.push(`<p>${h(model.capacities.length > 0 ? ONLY_SEARCHES : 'No cell has been recorded yet')}.</p>`);
  for (const section of model.sections) {
    const description = scenarioDescription(section.info);
    out.push(`<h3>${h(section.scenario)}</h3>`);
    if (description) out.push(`<p>${h(description)}.</p>`);
    out.push(htmlTable(scenarioTable(model, section)));
  }
  if (model.dims.repeats) out.push(`<p>${h(REPEATS_NOTE)}</p>`);
  out.push(chart('throughput'), chart('ttft'), chart('tpot'));

  if (model.capacities.length > 0) out.push('<h2>Capacity</h2>');
  for (const scenario of capacityScenarios(model.capacities)) {
    out.push(`<h3>${h(scenario)}</h3>`, `<p>${h(capacityDescription(model.capacities, scenario))}.</p>`);
    out.push(htmlTable(capacityTable(model.capacities, scenario)));
  }
  out.push(chart('capacity'));

  const comparison = powerClocksTable(model);
  if (comparison.rows.length > 0) {
    out.push('<h2>Power mode × jetson_clocks</h2>', htmlTable(comparison), chart('power-clocks'));
  }
  const has = (...ids: string[]) => charts.some((c) => ids.includes(c.id));
  if (has('tradeoff', 'energy')) out.push('<h2>Trade-offs</h2>', chart('tradeoff'), chart('energy'));
  if (has('latency-distributions')) out.push('<h2>Latency distributions</h2>', chart('latency-distributions'));
  if (recommendations.length > 0) {
    out.push('<h2>Recommendation</h2>');
    for (const r of recommendations) {
      out.push(`<h3>${h(r.scenario)}</h3>`, `<p>${h(r.reason)}</p>`, chart(`pareto-${r.scenario}`));
    }
  }

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
    out.push(chart('timeline'), htmlTable(timelineTable(model)));
    const steps = stepSummaryTable(model);
    if (steps.rows.length > 0) out.push('<h3>Time per step</h3>', htmlTable(steps));
  }
  out.push('</body></html>');
  return `${out.filter((x) => x !== '').join('\n')}\n`;
}

/** The HTML page of `thorbench report a --compare b --format html`: the comparison table and its chart. */
export async function renderComparisonHtml(c: SweepComparison): Promise<string> {
  const intro = comparisonIntro(c);
  const spec = comparisonChart(c);
  const [chart] = spec ? await renderCharts([spec]) : [];
  const table = comparisonTable(c);
  const not = notComparedLine(c);
  const out = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(intro.title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${h(intro.title)}</h1>`,
    `<p>${h(intro.text)}</p>`,
    c.cells.length === 0
      ? '<p>No cell succeeded in both sweeps, so there is nothing to compare.</p>'
      : htmlTable({ ...table, bestRow: null }),
    figure(chart),
    not ? `<p>${h(not)}</p>` : '',
    '</body></html>',
  ];
  return `${out.filter((x) => x !== '').join('\n')}\n`;
}
