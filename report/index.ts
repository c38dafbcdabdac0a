/**
 * Reports from the results store: pure functions from a sweep and its cell records to text (Markdown, CSV, HTML),
 * the status object of `thorbench status --json`, and the comparison of two sweeps. No I/O here: the CLI reads
 * the store and writes the files.
 */
export { renderMarkdownReport, markdownTable, type MarkdownChartFile } from './markdown.js';
export { renderCsv, CSV_COLUMNS, CSV_METRIC_COLUMNS } from './csv.js';
export { renderComparisonHtml, renderHtmlReport } from './html.js';
export { renderJsonStatus, type PlannedCellRef, type StatusCell, type StatusInput, type StatusJson } from './status.js';
export {
  buildComparison,
  compareSweeps,
  comparisonChart,
  comparisonCsv,
  comparisonJson,
  comparisonMarkdown,
  type SweepComparison,
} from './compare.js';
export { cellSampleKey, reportCharts, type ChartSpec, type RequestSamples, type SamplesByCell } from './charts.js';
export { renderCharts, renderChartSvg, type RenderedChart } from './render.js';
export { changeSummary, fmtChange, powerClocksComparisons, powerClocksTable } from './power-clocks.js';
export {
  buildReportModel,
  modelDisplayName,
  quantizationLabel,
  sizeLabel,
  type ReportInput,
  type StatusCounts,
} from './model.js';
export { SIMULATED_NOTICE } from './tables.js';
