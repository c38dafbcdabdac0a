/**
 * Reads a file of `vllm bench serve` results for `thorbench import`: printed result blocks (any version's
 * spellings; several per file, e.g. a whole log) or `--save-result` JSON (one object, or one per line as
 * `--append-result` writes them; with or without the per-request arrays of `--save-detailed`).
 *
 * Per-request arrays are turned back into request records and the metrics are recomputed with vLLM's definitions
 * (metrics/calculate.ts); the values vLLM saved stay the record's metrics, the recomputation fills keys the file
 * lacks and any disagreement is reported. Anything else is refused with the file and line at fault.
 *
 * Deterministic: no Node.js APIs.
 */
import { calculateMetrics } from '../metrics/calculate.js';
import type { RequestRecord } from '../metrics/request-record.js';
import { type BenchmarkMetrics, PERCENTILE_KEY_RE } from '../schema/metrics.js';
import { ParseError, splitLines } from './parse-error.js';
import {
  type BenchmarkBlock,
  BlockParseError,
  locateBenchmarkBlocks,
  parsePythonJson,
  parseSaveResultJson,
  parseSaveResultRequests,
} from './vllm-bench.js';

export type ImportFormat = 'vllm-printed-block' | 'vllm-save-result-json';

/** A recomputed key whose value differs from the one vLLM saved. */
export interface KeyDifference {
  key: string;
  saved: number | string | null;
  recomputed: number | string | null;
}

export interface ImportedResult {
  format: ImportFormat;
  /** 1-based position of this result in its file, and how many the file holds. */
  index: number;
  count: number;
  /** 1-based lines of the file the result occupies. */
  firstLine: number;
  lastLine: number;
  /** The metrics to record: exactly what the block printed or the JSON saved (metric keys only). */
  metrics: BenchmarkBlock | BenchmarkMetrics;
  /** The result's own text: the printed block, or the JSON object. */
  text: string;
  /** Per-request records from `--save-detailed` arrays; null when the file has none. */
  requests: RequestRecord[] | null;
  /** Metrics recomputed from `requests` (null without them) and the keys where they differ from the saved ones. */
  recomputed: { metrics: BenchmarkMetrics; differences: KeyDifference[] } | null;
  /** From the JSON: `model_id`, `tokenizer_id`, `date`, `backend` as vLLM saved them. */
  runInfo: Record<string, string | number | null>;
}

/** A file that is not a vLLM result; `line` is 1-based. */
export class ImportFileError extends Error {
  override readonly name = 'ImportFileError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}

/** 1-based line of a character offset. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/** The line where JSON.parse gave up: Node prints "at position N" or "(line L column C)". */
function jsonErrorLine(text: string, err: Error, base: number): number {
  const lc = /line (\d+) column/.exec(err.message);
  if (lc) return base + Number(lc[1]) - 1;
  const pos = /position (\d+)/.exec(err.message);
  return pos ? base + lineOf(text, Number(pos[1])) - 1 : base;
}

/** Line of the first `"key"` in text, for pointing at a bad JSON field; `fallback` when it does not occur. */
function keyLine(text: string, key: string | undefined, base: number): number {
  if (key === undefined) return base;
  const at = text.indexOf(`"${key}"`);
  return at < 0 ? base : base + lineOf(text, at) - 1;
}

const RUN_INFO_KEYS = ['date', 'backend', 'model_id', 'tokenizer_id', 'num_prompts', 'label'] as const;

function fromJson(file: string, objText: string, firstLine: number): Omit<ImportedResult, 'index' | 'count'> {
  let decoded: unknown;
  try {
    decoded = parsePythonJson(objText);
  } catch (err) {
    throw new ImportFileError(
      file,
      jsonErrorLine(objText, err as Error, firstLine),
      `not valid JSON (${(err as Error).message})`,
    );
  }
  if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) {
    throw new ImportFileError(file, firstLine, 'not a vllm bench serve --save-result JSON: expected a JSON object');
  }
  const record = decoded as Record<string, unknown>;
  let metrics: BenchmarkMetrics;
  let requests: RequestRecord[] | null;
  try {
    metrics = parseSaveResultJson(record);
    requests = parseSaveResultRequests(record);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const firstKey = /(?:^|\()([a-z0-9_.]+): /.exec(err.problem)?.[1];
    return badJson(file, err.problem, keyLine(objText, firstKey, firstLine));
  }
  const runInfo: Record<string, string | number | null> = {};
  for (const k of RUN_INFO_KEYS) {
    const v = record[k];
    if (typeof v === 'string' || typeof v === 'number' || v === null) runInfo[k] = v;
  }
  const lastLine = firstLine + splitLines(objText.trimEnd()).length - 1;
  return {
    format: 'vllm-save-result-json',
    firstLine,
    lastLine,
    metrics,
    text: objText,
    requests,
    recomputed: requests ? recompute(metrics, requests) : null,
    runInfo,
  };
}

function badJson(file: string, problem: string, line: number): never {
  throw new ImportFileError(file, line, `not a vllm bench serve result: ${problem}`);
}

/**
 * Recomputes from the per-request records with the saved duration, concurrency, rate and percentiles. The goodput
 * SLOs are not in vLLM's JSON, so request_goodput is not recomputed.
 */
function recompute(
  saved: BenchmarkMetrics,
  requests: RequestRecord[],
): { metrics: BenchmarkMetrics; differences: KeyDifference[] } {
  const percentiles = [
    ...new Set(
      Object.keys(saved).flatMap((k) => {
        const m = PERCENTILE_KEY_RE.exec(k);
        return m ? [Number(m[1])] : [];
      }),
    ),
  ];
  const metrics = calculateMetrics(requests, {
    durationS: saved.duration,
    maxConcurrency: saved.max_concurrency ?? undefined,
    requestRate: saved.request_rate === 'inf' || saved.request_rate === undefined ? undefined : saved.request_rate,
    selectedPercentiles: percentiles,
  });
  const differences: KeyDifference[] = [];
  const s = saved as Record<string, unknown>;
  const r = metrics as unknown as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (key === 'request_goodput' || !(key in s)) continue;
    if (s[key] !== r[key])
      differences.push({
        key,
        saved: s[key] as KeyDifference['saved'],
        recomputed: r[key] as KeyDifference['recomputed'],
      });
  }
  return { metrics, differences };
}

/**
 * Every vLLM result in one file, in order. Throws ImportFileError (file, line, problem) when the file holds none or
 * one of them does not parse.
 */
export function readVllmResults(file: string, text: string): ImportedResult[] {
  const trimmed = text.trimStart();
  const leading = lineOf(text, text.length - trimmed.length);
  let found: Omit<ImportedResult, 'index' | 'count'>[];
  if (trimmed.startsWith('{')) {
    let whole = true;
    try {
      parsePythonJson(trimmed);
    } catch {
      whole = false;
    }
    if (whole) found = [fromJson(file, trimmed, leading)];
    else {
      // `--append-result` writes one JSON object per line.
      const lines = splitLines(text);
      found = lines.flatMap((line, i) => (line.trim() === '' ? [] : [fromJson(file, line, i + 1)]));
    }
  } else {
    try {
      found = locateBenchmarkBlocks(text).map((b) => ({
        format: 'vllm-printed-block' as const,
        firstLine: b.firstLine,
        lastLine: b.lastLine,
        metrics: b.metrics,
        text: b.text,
        requests: null,
        recomputed: null,
        runInfo: {},
      }));
    } catch (err) {
      if (err instanceof BlockParseError)
        throw new ImportFileError(file, err.line, `not a vllm bench serve result block: ${err.problem}`);
      throw err;
    }
    if (found.length === 0) {
      const first = splitLines(text).findIndex((l) => l.trim() !== '');
      throw new ImportFileError(
        file,
        first < 0 ? 1 : first + 1,
        'not a vllm bench serve result: no "============ Serving Benchmark Result ============" block ' +
          'and not a --save-result JSON',
      );
    }
  }
  return found.map((r, i) => ({ ...r, index: i + 1, count: found.length }));
}
