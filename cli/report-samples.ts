/**
 * Reads the per-request latencies the report's latency distributions are drawn from: the `ttfts` and `itls`
 * arrays (seconds, vLLM's `--save-detailed` names, also what the builtin harness writes) of each succeeded cell's
 * `requests.json`, or of its `result.json` when the harness kept them there. A cell whose artifacts are gone or hold
 * no arrays is simply left out: its distribution falls back to the percentiles its record carries. An artifact is
 * read from the results store when a fleet's device sent it there, else from the cell's directory
 * (store/artifacts.ts readCellArtifactData).
 */
import { cellSampleKey, type RequestSamples, type SamplesByCell } from '../report/charts.js';
import type { CellRecord } from '../schema/outcome.js';
import { readCellArtifactData } from '../store/artifacts.js';
import type { ResultsStore } from '../store/store.js';

const finiteMs = (v: unknown): number[] => (typeof v === 'number' && Number.isFinite(v) ? [v * 1000] : []);

/** The samples in one artifact object, or null when it has no `ttfts` array. */
export function samplesFromArtifact(data: unknown): RequestSamples | null {
  if (typeof data !== 'object' || data === null) return null;
  const { ttfts, itls } = data as { ttfts?: unknown; itls?: unknown };
  if (!Array.isArray(ttfts)) return null;
  return {
    ttftsMs: ttfts.flatMap(finiteMs),
    itlsMs: Array.isArray(itls) ? itls.flatMap((gaps) => (Array.isArray(gaps) ? gaps.flatMap(finiteMs) : [])) : [],
  };
}

export async function loadRequestSamples(store: ResultsStore, cells: readonly CellRecord[]): Promise<SamplesByCell> {
  const out = new Map<string, RequestSamples>();
  for (const cell of cells) {
    if (cell.status !== 'succeeded') continue;
    for (const name of ['requests.json', 'result.json']) {
      const data = await readCellArtifactData(store, cell, name).catch(() => null);
      const samples = samplesFromArtifact(data);
      if (samples && samples.ttftsMs.length > 0) {
        out.set(cellSampleKey(cell), samples);
        break;
      }
    }
  }
  return out;
}
