/**
 * The HTML report: one self-contained page (inline CSS and SVG, no scripts, no external assets) with the same
 * tables as the Markdown report and the charts of report/charts.ts, drawn to SVG by Vega at report time.
 * Every piece of text from the sweep is escaped (Vega escapes the text it draws).
 */
import { reportCharts } from './charts.js';
import { comparisonChart, comparisonIntro, comparisonTable, notComparedLine, type SweepComparison } from './compare.js';
import { htmlTable, toHtml } from './document.js';
import { htmlEscape as h } from './format.js';
import { buildReportModel, type ReportInput } from './model.js';
import { paretoChart } from './recommend-chart.js';
import { recommend } from './recommend.js';
import { type RenderedChart, renderCharts } from './render.js';
import { reportSections } from './sections.js';

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

function figure(chart: RenderedChart | undefined): string {
  if (!chart) return '';
  const id = h(chart.id);
  return `<figure class="chart" id="chart-${id}" data-chart="${id}" aria-label="${h(chart.title)}">${chart.svg}</figure>`;
}

/** The page around a report's elements: its title, the style sheet, one element a line. */
function page(title: string, body: readonly string[]): string {
  const head = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(title)}</title><style>${STYLE}</style></head><body>`,
  ];
  return `${[...head, ...body.filter((x) => x !== ''), '</body></html>'].join('\n')}\n`;
}

export async function renderHtmlReport(input: ReportInput): Promise<string> {
  const model = buildReportModel(input);
  // The recommendation per scenario with the default objective and axes (thorbench recommend for SLOs of your own).
  const recommendations = model.cells.some((c) => c.metrics !== null) ? recommend([input]).recommendations : [];
  const charts = await renderCharts([...reportCharts(model, input.samples), ...recommendations.map(paretoChart)]);
  const chart = (id: string) => figure(charts.find((c) => c.id === id));
  const hasChart = (id: string) => charts.some((c) => c.id === id);
  const blocks = reportSections(model, input, { hasChart, recommendations });
  return page(`thorbench report: ${model.sweep.experimentName}`, toHtml(blocks, chart, charts));
}

/** The HTML page of `thorbench report a --compare b --format html`: the comparison table and its chart. */
export async function renderComparisonHtml(c: SweepComparison): Promise<string> {
  const intro = comparisonIntro(c);
  const spec = comparisonChart(c);
  const [chart] = spec ? await renderCharts([spec]) : [];
  const table = comparisonTable(c);
  const not = notComparedLine(c);
  return page(intro.title, [
    `<h1>${h(intro.title)}</h1>`,
    `<p>${h(intro.text)}</p>`,
    c.cells.length === 0
      ? '<p>No cell succeeded in both sweeps, so there is nothing to compare.</p>'
      : htmlTable({ ...table, bestRow: null }),
    figure(chart),
    not ? `<p>${h(not)}</p>` : '',
  ]);
}
