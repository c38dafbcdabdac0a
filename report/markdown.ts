/**
 * The Markdown report: the sections of report/sections.ts drawn as Markdown, charts as images beside the file. Pure.
 */
import { toMarkdown } from './document.js';
import { mdInline } from './format.js';
import { buildReportModel, type ReportInput } from './model.js';
import { reportSections } from './sections.js';

export { markdownTable } from './document.js';

/** A chart written beside the Markdown file (`--format md --out DIR`), linked by its relative file name. */
export interface MarkdownChartFile {
  id: string;
  title: string;
  file: string;
}

export function renderMarkdownReport(input: ReportInput, opts: { charts?: readonly MarkdownChartFile[] } = {}): string {
  const charts = opts.charts ?? [];
  const image = (id: string): string[] => {
    const c = charts.find((x) => x.id === id);
    return c ? [`![${mdInline(c.title)}](${encodeURI(c.file)})`] : [];
  };
  const hasChart = (id: string) => charts.some((c) => c.id === id);
  return toMarkdown(reportSections(buildReportModel(input), input, { hasChart }), image);
}
