/**
 * `thorbench report <sweep> [--format md|csv|html|json] [--out FILE|DIR] [--compare SWEEP_B]` from the results
 * database. Markdown written with `--out` gets its charts as SVG files beside it (Markdown viewers show them);
 * `--compare` puts the cells of both sweeps side by side with absolute and relative deltas, in every format.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { summarizeRepeats } from '../../metrics/repeats.js';
import {
  buildComparison,
  buildReportModel,
  comparisonChart,
  comparisonCsv,
  comparisonJson,
  comparisonMarkdown,
  renderCharts,
  renderChartSvg,
  renderComparisonHtml,
  renderCsv,
  renderHtmlReport,
  renderMarkdownReport,
  reportCharts,
  type ReportInput,
} from '../../report/index.js';
import { capacitiesJson, sweepCapacities } from '../../report/capacity.js';
import { openResultsStore, type ResultsStore } from '../../store/store.js';
import type { CliEnv } from '../context.js';
import { EXIT_INVALID, ExitError } from '../errors.js';
import { loadRequestSamples } from '../report-samples.js';

export const REPORT_FORMATS = ['md', 'csv', 'html', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function parseReportFormat(value: string | undefined): ReportFormat {
  const v = value ?? 'md';
  if ((REPORT_FORMATS as readonly string[]).includes(v)) return v as ReportFormat;
  throw new ExitError(`--format must be one of ${REPORT_FORMATS.join(', ')} (got "${v}")`, EXIT_INVALID);
}

async function readSweep(store: ResultsStore, sweepId: string): Promise<ReportInput> {
  const sweep = await store.getSweep(sweepId);
  if (!sweep) {
    const known = (await store.listSweeps()).slice(0, 5).map((s) => s.sweepId);
    throw new ExitError(
      `no sweep "${sweepId}" in the results database ${store.location}` +
        `${known.length ? `; recent sweeps: ${known.join(', ')}` : ''}`,
      EXIT_INVALID,
    );
  }
  return {
    sweep,
    cells: await store.listCells(sweepId),
    regression: (await store.getRegression(sweepId))?.comparison ?? null,
  };
}

export async function renderSweepReport(store: ResultsStore, sweepId: string, format: ReportFormat): Promise<string> {
  const input = await readSweep(store, sweepId);
  switch (format) {
    case 'md':
      return renderMarkdownReport(input);
    case 'csv':
      return renderCsv(input.cells);
    case 'html':
      return renderHtmlReport({ ...input, samples: await loadRequestSamples(store, input.cells) });
    case 'json':
      // summaries: mean, 95 % CI and CV per cell over its repeats (metrics/repeats.ts); empty without repeats.
      // capacities: per configuration and search scenario, the highest load meeting the SLOs (report/capacity.ts).
      return JSON.stringify(
        {
          sweep: input.sweep,
          cells: input.cells,
          summaries: summarizeRepeats(input.cells),
          // The comparison with the baseline (regression watch); null for a sweep that ran without one.
          regression: input.regression ?? null,
          capacities: capacitiesJson(sweepCapacities(input.sweep.experimentJson, input.cells)),
        },
        null,
        2,
      );
  }
}

/**
 * Where `--format md --out X` writes: X itself when it names a `.md` file, else X is a directory that receives
 * `report.md`. The charts go beside the Markdown as `chart-<id>.svg`.
 */
export function markdownTarget(out: string, base = 'report'): { dir: string; file: string } {
  return out.toLowerCase().endsWith('.md')
    ? { dir: path.dirname(out), file: out }
    : { dir: out, file: path.join(out, `${base}.md`) };
}

async function writeMarkdownWithCharts(store: ResultsStore, input: ReportInput, out: string): Promise<string[]> {
  const { dir, file } = markdownTarget(out);
  await mkdir(dir, { recursive: true });
  const model = buildReportModel(input);
  const rendered = await renderCharts(reportCharts(model, await loadRequestSamples(store, input.cells)));
  const charts = rendered.map((c) => ({ id: c.id, title: c.title, file: `chart-${c.id}.svg` }));
  const written: string[] = [];
  for (const [i, c] of rendered.entries()) {
    const target = path.join(dir, charts[i]!.file);
    await writeFile(target, `<?xml version="1.0" encoding="UTF-8"?>\n${c.svg}\n`);
    written.push(target);
  }
  await writeFile(file, renderMarkdownReport(input, { charts }));
  return [file, ...written];
}

async function renderComparison(
  a: ReportInput,
  b: ReportInput,
  format: ReportFormat,
  outPath: string | undefined,
): Promise<{ text: string; extra: string[] }> {
  const cmp = buildComparison(a, b);
  switch (format) {
    case 'md': {
      if (!outPath) return { text: comparisonMarkdown(cmp), extra: [] };
      const { dir } = markdownTarget(outPath, 'compare');
      const chart = comparisonChart(cmp);
      if (!chart) return { text: comparisonMarkdown(cmp), extra: [] };
      await mkdir(dir, { recursive: true });
      const svgFile = path.join(dir, 'chart-compare.svg');
      await writeFile(svgFile, `<?xml version="1.0" encoding="UTF-8"?>\n${await renderChartSvg(chart)}\n`);
      return { text: comparisonMarkdown(cmp, { chartFile: 'chart-compare.svg' }), extra: [svgFile] };
    }
    case 'csv':
      return { text: comparisonCsv(cmp), extra: [] };
    case 'json':
      return { text: JSON.stringify(comparisonJson(cmp), null, 2), extra: [] };
    case 'html':
      return { text: await renderComparisonHtml(cmp), extra: [] };
  }
}

export async function report(opts: {
  sweepId: string;
  format: ReportFormat;
  outFile?: string;
  compare?: string;
  env: CliEnv;
  out: (line: string) => void;
}): Promise<void> {
  const store = await openResultsStore(opts.env.results);
  try {
    if (opts.compare !== undefined) {
      const a = await readSweep(store, opts.sweepId);
      const b = await readSweep(store, opts.compare);
      const { text, extra } = await renderComparison(a, b, opts.format, opts.outFile);
      if (!opts.outFile) return opts.out(text);
      const file = opts.format === 'md' ? markdownTarget(opts.outFile, 'compare').file : opts.outFile;
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text);
      for (const f of [file, ...extra]) opts.out(`wrote ${f}`);
      return;
    }
    if (opts.format === 'md' && opts.outFile) {
      for (const f of await writeMarkdownWithCharts(store, await readSweep(store, opts.sweepId), opts.outFile))
        opts.out(`wrote ${f}`);
      return;
    }
    const text = await renderSweepReport(store, opts.sweepId, opts.format);
    if (opts.outFile) {
      await writeFile(opts.outFile, text);
      opts.out(`wrote ${opts.outFile}`);
    } else opts.out(text);
  } finally {
    await store.close();
  }
}
