/**
 * Importers for `vllm bench serve` results: the printed "Serving Benchmark Result" block (what the guide and most
 * published numbers are) and the `--save-result` JSON (preferred: it carries std and every percentile).
 *
 * Both spellings of the total line are accepted (`Total Token throughput` in the vLLM 0.10 containers the guide used,
 * `Total token throughput` in current vLLM): labels are matched case-insensitively. Lines this parser does not know
 * (RTFx, probe, speculative-decoding and client-queue sections) are skipped, so newer vLLM output still parses.
 *
 * Deterministic: no Node.js APIs.
 */
import { BenchmarkMetrics, LATENCY_METRICS, type LatencyMetric } from '../schema/metrics.js';
import { PERCENTILE_KEY_RE, type PeakMetrics, type PercentileMetrics } from '../metrics/vllm-keys.js';
import { ParseError, splitLines } from './parse-error.js';

/**
 * One printed block. Keys are vLLM's `--save-result` names and are present only when the block printed the line:
 * no `Maximum request concurrency` line → no `max_concurrency` key; old blocks have no `failed` key
 * (`BenchmarkMetrics.parse(block)` fills it with 0). `std_*` keys never appear: vLLM does not print std.
 */
export type BenchmarkBlock = Omit<BenchmarkMetrics, 'failed'> & { failed?: number } & Partial<PeakMetrics> & PercentileMetrics;

type ScalarKey =
  | 'completed'
  | 'failed'
  | 'max_concurrency'
  | 'request_rate'
  | 'duration'
  | 'total_input_tokens'
  | 'total_output_tokens'
  | 'request_throughput'
  | 'request_goodput'
  | 'output_throughput'
  | 'max_output_tokens_per_s'
  | 'max_concurrent_requests'
  | 'total_token_throughput';

/** Printed label (lower case, single spaces, without the colon) → key. */
const LABELS: Readonly<Record<string, ScalarKey>> = {
  'successful requests': 'completed',
  'failed requests': 'failed',
  'maximum request concurrency': 'max_concurrency',
  'request rate configured (rps)': 'request_rate',
  'benchmark duration (s)': 'duration',
  'total input tokens': 'total_input_tokens',
  'total generated tokens': 'total_output_tokens',
  'request throughput (req/s)': 'request_throughput',
  'request goodput (req/s)': 'request_goodput',
  'output token throughput (tok/s)': 'output_throughput',
  'peak output token throughput (tok/s)': 'max_output_tokens_per_s',
  'peak concurrent requests': 'max_concurrent_requests',
  'total token throughput (tok/s)': 'total_token_throughput',
};

const INTEGER_KEYS = new Set<string>(['completed', 'failed', 'max_concurrency', 'total_input_tokens', 'total_output_tokens']);

/** Keys a block must have to be a BenchmarkMetrics, with the label to show when one is missing. */
const REQUIRED: ReadonlyArray<[string, string]> = [
  ['completed', 'Successful requests'],
  ['duration', 'Benchmark duration (s)'],
  ['total_input_tokens', 'Total input tokens'],
  ['total_output_tokens', 'Total generated tokens'],
  ['request_throughput', 'Request throughput (req/s)'],
  ['output_throughput', 'Output token throughput (tok/s)'],
  ['total_token_throughput', 'Total token throughput (tok/s)'],
  ...(['ttft', 'tpot', 'itl'] as const).flatMap((m): [string, string][] => [
    [`mean_${m}_ms`, `Mean ${m.toUpperCase()} (ms)`],
    [`median_${m}_ms`, `Median ${m.toUpperCase()} (ms)`],
    [`p99_${m}_ms`, `P99 ${m.toUpperCase()} (ms)`],
  ]),
];

const HEADER_RE = /=+\s*Serving Benchmark Result\s*=+/i;
const FOOTER_RE = /^\s*={10,}\s*$/;
const LINE_RE = /^\s*([^:]+?)\s*:\s*(\S+)\s*$/;
const STAT_RE = /^(mean|median|std|p\d+(?:\.\d+)?) (ttft|tpot|itl|e2el) \(ms\)$/;
const SOURCE = 'vllm bench serve result block';

function blockLines(text: string): string[][] {
  const lines = splitLines(text);
  const blocks: string[][] = [];
  let current: string[] | null = null;
  for (const line of lines) {
    if (HEADER_RE.test(line)) {
      current = [];
      blocks.push(current);
    } else if (current && FOOTER_RE.test(line)) {
      current = null;
    } else if (current) {
      current.push(line);
    }
  }
  // A pasted block without its ===== header still counts when it has the first line vLLM prints.
  if (blocks.length === 0 && /^\s*Successful requests\s*:/im.test(text)) blocks.push(lines);
  return blocks;
}

function parseLines(lines: string[]): BenchmarkBlock {
  const out: Record<string, number> = {};
  for (const line of lines) {
    const m = LINE_RE.exec(line);
    if (!m) continue;
    const label = m[1]!.toLowerCase().replace(/\s+/g, ' ');
    const stat = STAT_RE.exec(label);
    const key = LABELS[label] ?? (stat ? `${stat[1]}_${stat[2] as LatencyMetric}_ms` : undefined);
    if (key === undefined) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value) || (INTEGER_KEYS.has(key) && !Number.isInteger(value))) {
      throw ParseError.of(SOURCE, `"${m[1]}" should be ${INTEGER_KEYS.has(key) ? 'an integer' : 'a number'}`, line);
    }
    out[key] = value;
  }
  const missing = REQUIRED.filter(([key]) => !(key in out)).map(([, label]) => `"${label}:"`);
  if (missing.length > 0) {
    throw ParseError.of(
      SOURCE,
      `missing ${missing.join(', ')} (run vllm bench serve with a tokenizer and the default --percentile-metrics ttft,tpot,itl and --metric-percentiles including 99)`,
      lines.join('\n'),
    );
  }
  return out as unknown as BenchmarkBlock;
}

/** Every result block in `text` (a whole log may hold many), in order. No block → empty array. */
export function parseBenchmarkBlocks(text: string): BenchmarkBlock[] {
  return blockLines(text).map(parseLines);
}

/** The one result block in `text`; throws when there is none or more than one. */
export function parseBenchmarkBlock(text: string): BenchmarkBlock {
  const blocks = blockLines(text);
  if (blocks.length !== 1) {
    throw ParseError.of(
      SOURCE,
      blocks.length === 0
        ? 'no "============ Serving Benchmark Result ============" block (did vllm bench serve finish?)'
        : `found ${blocks.length} result blocks; use parseBenchmarkBlocks to read them all`,
      text,
    );
  }
  return parseLines(blocks[0]!);
}

/**
 * Python's json.dump writes float('inf') and NaN as bare `Infinity` / `NaN`, which JSON.parse rejects. Outside string
 * literals they become "inf" (vLLM's own spelling of an unlimited request rate) and null.
 */
export function parsePythonJson(text: string): unknown {
  const fixed = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (tok) => {
    if (tok.startsWith('"')) return tok;
    if (tok === 'NaN') return 'null';
    return tok.startsWith('-') ? '"-inf"' : '"inf"';
  });
  return JSON.parse(fixed);
}

const SCHEMA_KEYS = Object.keys(BenchmarkMetrics.shape) as (keyof BenchmarkMetrics)[];

/**
 * Reads a `--save-result` JSON (vLLM's keys: docs/metrics.md): keeps only metric keys (the schema's, every
 * `pNN_<metric>_ms` and the peak metrics) and drops run metadata and the per-request arrays of `--save-detailed`.
 * Accepts the file text or the decoded object.
 */
export function parseSaveResultJson(obj: unknown): BenchmarkMetrics & Partial<PeakMetrics> & PercentileMetrics {
  const source = 'vllm --save-result JSON';
  let value = obj;
  if (typeof obj === 'string') {
    try {
      value = parsePythonJson(obj);
    } catch (err) {
      throw ParseError.of(source, `not JSON (${(err as Error).message})`, obj);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw ParseError.of(source, 'expected a JSON object', JSON.stringify(value) ?? String(value));
  }
  const record = value as Record<string, unknown>;
  const candidate: Record<string, unknown> = {};
  for (const key of SCHEMA_KEYS) if (key in record) candidate[key] = record[key];
  if (candidate.request_rate === Infinity) candidate.request_rate = 'inf';
  const parsed = BenchmarkMetrics.safeParse(candidate);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw ParseError.of(source, `not a vllm bench serve result (${problems})`, JSON.stringify(candidate));
  }
  const out: Record<string, unknown> = { ...parsed.data };
  for (const [key, v] of Object.entries(record)) {
    const pct = PERCENTILE_KEY_RE.exec(key);
    if (pct && (LATENCY_METRICS as readonly string[]).includes(pct[2]!) && (typeof v === 'number' || v === null)) out[key] = v;
    if ((key === 'max_output_tokens_per_s' || key === 'max_concurrent_requests') && typeof v === 'number') out[key] = v;
  }
  return out as BenchmarkMetrics & Partial<PeakMetrics> & PercentileMetrics;
}
