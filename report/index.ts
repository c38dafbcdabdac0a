/**
 * Reports from the results store: pure functions from a sweep and its cell records to text (Markdown, CSV, HTML),
 * the status object of `thorbench status --json`, and the comparison of two sweeps. No I/O here: the CLI reads
 * the store and writes the files.
 */
export { renderMarkdownReport, markdownTable } from './markdown.js';
export { renderCsv, CSV_COLUMNS, CSV_METRIC_COLUMNS } from './csv.js';
export { renderHtmlReport } from './html.js';
export { renderJsonStatus, type PlannedCellRef, type StatusCell, type StatusInput, type StatusJson } from './status.js';
export { compareSweeps } from './compare.js';
export { buildReportModel, modelDisplayName, quantizationLabel, sizeLabel, type ReportInput, type StatusCounts } from './model.js';
export { SIMULATED_NOTICE } from './tables.js';
