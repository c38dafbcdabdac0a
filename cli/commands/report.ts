/** `thorbench report <sweep> [--format md|csv|html|json] [--out FILE]` from the results database. */
import { writeFile } from 'node:fs/promises';
import { summarizeRepeats } from '../../metrics/repeats.js';
import { renderCsv, renderHtmlReport, renderMarkdownReport } from '../../report/index.js';
import { openResultsStore, type ResultsStore } from '../../store/store.js';
import type { CliEnv } from '../context.js';
import { EXIT_INVALID, ExitError } from '../errors.js';

export const REPORT_FORMATS = ['md', 'csv', 'html', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function parseReportFormat(value: string | undefined): ReportFormat {
  const v = value ?? 'md';
  if ((REPORT_FORMATS as readonly string[]).includes(v)) return v as ReportFormat;
  throw new ExitError(`--format must be one of ${REPORT_FORMATS.join(', ')} (got "${v}")`, EXIT_INVALID);
}

export function renderSweepReport(store: ResultsStore, sweepId: string, format: ReportFormat): string {
  const sweep = store.getSweep(sweepId);
  if (!sweep) {
    const known = store.listSweeps().slice(0, 5).map((s) => s.sweepId);
    throw new ExitError(`no sweep "${sweepId}" in the results database${known.length ? `; recent sweeps: ${known.join(', ')}` : ''}`, EXIT_INVALID);
  }
  const cells = store.listCells(sweepId);
  switch (format) {
    case 'md':
      return renderMarkdownReport({ sweep, cells });
    case 'csv':
      return renderCsv(cells);
    case 'html':
      return renderHtmlReport({ sweep, cells });
    case 'json':
      // summaries: mean, 95 % CI and CV per cell over its repeats (metrics/repeats.ts); empty without repeats.
      return JSON.stringify({ sweep, cells, summaries: summarizeRepeats(cells) }, null, 2);
  }
}

export async function report(opts: { sweepId: string; format: ReportFormat; outFile?: string; env: CliEnv; out: (line: string) => void }): Promise<void> {
  const store = openResultsStore(opts.env.dbFile);
  try {
    const text = renderSweepReport(store, opts.sweepId, opts.format);
    if (opts.outFile) {
      await writeFile(opts.outFile, text);
      opts.out(`wrote ${opts.outFile}`);
    } else opts.out(text);
  } finally {
    store.close();
  }
}
