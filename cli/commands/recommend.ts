/**
 * `thorbench recommend <sweep...> [--scenario NAME] [--slo p99_ttft_ms<=600,…] [--objective …] [--format md|json]`:
 * per scenario, the Pareto front over every configuration the sweeps measured (imported results included) and the
 * configuration to deploy under the SLOs (report/recommend.ts), from the results database.
 */
import {
  parseObjective,
  parseSlos,
  recommend,
  RecommendInputError,
  renderRecommendationsJson,
  renderRecommendationsMarkdown,
} from '../../report/recommend.js';
import type { ReportInput } from '../../report/model.js';
import { openResultsStore } from '../../store/store.js';
import type { CliEnv } from '../context.js';
import { EXIT_INVALID, ExitError } from '../errors.js';

export const RECOMMEND_FORMATS = ['md', 'json'] as const;
export type RecommendFormat = (typeof RECOMMEND_FORMATS)[number];

export interface RecommendCliOptions {
  sweepIds: readonly string[];
  scenario?: string;
  slo?: readonly string[];
  objective?: string;
  format?: string;
  env: CliEnv;
  out: (line: string) => void;
}

export function parseRecommendFormat(value: string | undefined): RecommendFormat {
  const v = value ?? 'md';
  if ((RECOMMEND_FORMATS as readonly string[]).includes(v)) return v as RecommendFormat;
  throw new ExitError(`--format must be one of ${RECOMMEND_FORMATS.join(', ')} (got "${v}")`, EXIT_INVALID);
}

export function recommendCommand(opts: RecommendCliOptions): void {
  const format = parseRecommendFormat(opts.format);
  const store = openResultsStore(opts.env.dbFile);
  try {
    const inputs: ReportInput[] = [];
    for (const sweepId of [...new Set(opts.sweepIds)]) {
      const sweep = store.getSweep(sweepId);
      if (sweep === null) {
        const known = store
          .listSweeps()
          .slice(0, 5)
          .map((s) => s.sweepId);
        throw new ExitError(
          `no sweep "${sweepId}" in the results database${known.length ? `; recent sweeps: ${known.join(', ')}` : ''}`,
          EXIT_INVALID,
        );
      }
      inputs.push({ sweep, cells: store.listCells(sweepId) });
    }
    const recs = recommend(inputs, {
      scenario: opts.scenario,
      slos: parseSlos((opts.slo ?? []).join(',')),
      objective: parseObjective(opts.objective),
    });
    opts.out(format === 'json' ? renderRecommendationsJson(recs) : renderRecommendationsMarkdown(recs).trimEnd());
  } catch (err) {
    if (err instanceof RecommendInputError) throw new ExitError(err.message, EXIT_INVALID);
    throw err;
  } finally {
    store.close();
  }
}
