/**
 * Importers for `vllm bench serve` results: the printed "Serving Benchmark Result" block (what the guide and most
 * published numbers are) and the `--save-result` JSON (preferred: it carries std and every percentile).
 *
 * Both spellings of the total line are accepted (`Total Token throughput` in the vLLM 0.10 containers the guide used,
 * `Total token throughput` in current vLLM): labels are matched case-insensitively. Lines this parser does not know
 * (RTFx, probe, speculative-decoding and client-queue sections) are skipped, so newer vLLM output still parses.
 * Percentile lines of any percentile (`P90 TTFT (ms):`, `P99.9 ITL (ms):`) become vLLM's keys (`p90_ttft_ms`).
 *
 * `locateBenchmarkBlocks` also gives each block's lines (errors carry the line: BlockParseError), and
 * `parseSaveResultRequests` turns `--save-detailed` arrays back into request records for metrics/calculate.ts.
 * parsers/vllm-import.ts builds `thorbench import` on these.
 *
 * Deterministic: no Node.js APIs.
 */
import type { RequestRecord } from '../metrics/request-record.js';
import { BenchmarkMetrics, LATENCY_METRICS, type LatencyMetric } from '../schema/metrics.js';
import { ParseError, splitLines, zodProblems } from './parse-error.js';

/**
 * One printed block. Keys are vLLM's `--save-result` names and are present only when the block printed the line:
 * no `Maximum request concurrency` line → no `max_concurrency` key; old blocks have no `failed` key
 * (`BenchmarkMetrics.parse(block)` fills it with 0). `std_*` keys never appear: vLLM does not print std.
 */
export type BenchmarkBlock = Omit<BenchmarkMetrics, 'failed'> & { failed?: number };

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

const INTEGER_KEYS = new Set<string>([
  'completed',
  'failed',
  'max_concurrency',
  'total_input_tokens',
  'total_output_tokens',
]);

/**
 * Keys a block must have to be a BenchmarkMetrics, with the label to show when one is missing. The latency
 * statistics are not among them: vLLM prints only the metrics of `--percentile-metrics` (default ttft,tpot,itl) and
 * only the percentiles of `--metric-percentiles` (default 99), so a block may lack every ITL line or every P99 line
 * (fixtures/vllm-0.33-client-percentiles/). latencyProblem checks what is there.
 */
const REQUIRED: ReadonlyArray<[string, string]> = [
  ['completed', 'Successful requests'],
  ['duration', 'Benchmark duration (s)'],
  ['total_input_tokens', 'Total input tokens'],
  ['total_output_tokens', 'Total generated tokens'],
  ['request_throughput', 'Request throughput (req/s)'],
  ['output_throughput', 'Output token throughput (tok/s)'],
  ['total_token_throughput', 'Total token throughput (tok/s)'],
];

/** `mean_ttft_ms` → `"Mean TTFT (ms):"`, the line vLLM prints for it. */
const printedLabel = (key: string): string => {
  const [stat, metric] = key.split('_') as [string, string];
  return `"${stat[0]!.toUpperCase()}${stat.slice(1)} ${metric.toUpperCase()} (ms):"`;
};

/**
 * What is wrong with a result's latency statistics, or null. vLLM prints (and saves) a mean and a median for every
 * metric it was asked for, then the chosen percentiles: a result needs at least one metric, and a metric with any
 * statistic needs its mean and median (else the result was cut short). `name` spells a missing key for the message.
 */
export function latencyProblem(
  metrics: Readonly<Record<string, unknown>>,
  name: (key: string) => string = (key) => key,
): string | null {
  const present = LATENCY_METRICS.filter((m) =>
    Object.keys(metrics).some((k) => typeof metrics[k] === 'number' && k.endsWith(`_${m}_ms`)),
  );
  if (present.length === 0) return `no latency statistic (no ${name('mean_ttft_ms')} or the like)`;
  const missing = present
    .flatMap((m) => [`mean_${m}_ms`, `median_${m}_ms`])
    .filter((k) => typeof metrics[k] !== 'number');
  return missing.length === 0 ? null : `missing ${missing.map(name).join(', ')}`;
}

const HEADER_RE = /=+\s*Serving Benchmark Result\s*=+/i;
const FOOTER_RE = /^\s*={10,}\s*$/;
const LINE_RE = /^\s*([^:]+?)\s*:\s*(\S+)\s*$/;
const STAT_RE = /^(mean|median|std|p\d+(?:\.\d+)?(?:e-\d+)?) (ttft|tpot|itl|e2el) \(ms\)$/;
const SOURCE = 'vllm bench serve result block';

/** A block's lines and the 1-based number of its first line in the text (the header, when there is one). */
interface RawBlock {
  lines: string[];
  firstLine: number;
  /** Line number of lines[0]. */
  bodyLine: number;
}

/**
 * A result block that does not parse, with the 1-based line of the text where the problem is (the offending line,
 * or the block's header when lines are missing), so an importer can point at `file:line`.
 */
export class BlockParseError extends ParseError {
  constructor(
    problem: string,
    excerpt: string,
    readonly line: number,
  ) {
    super(SOURCE, problem, excerpt.length > 300 ? `${excerpt.slice(0, 300)}…` : excerpt);
  }
}

function blockLines(text: string): RawBlock[] {
  const lines = splitLines(text);
  const blocks: RawBlock[] = [];
  let current: RawBlock | null = null;
  lines.forEach((line, i) => {
    if (HEADER_RE.test(line)) {
      current = { lines: [], firstLine: i + 1, bodyLine: i + 2 };
      blocks.push(current);
    } else if (current && FOOTER_RE.test(line)) {
      current = null;
    } else if (current) {
      current.lines.push(line);
    }
  });
  // A pasted block without its ===== header still counts when it has the first line vLLM prints.
  if (blocks.length === 0 && /^\s*Successful requests\s*:/im.test(text)) {
    const first = lines.findIndex((l) => /^\s*Successful requests\s*:/i.test(l));
    blocks.push({ lines, firstLine: first + 1, bodyLine: 1 });
  }
  return blocks;
}

function parseLines(block: RawBlock): BenchmarkBlock {
  const out: Record<string, number> = {};
  block.lines.forEach((line, i) => {
    const m = LINE_RE.exec(line);
    if (!m) return;
    const label = m[1]!.toLowerCase().replace(/\s+/g, ' ');
    const stat = STAT_RE.exec(label);
    const key = LABELS[label] ?? (stat ? `${stat[1]}_${stat[2] as LatencyMetric}_ms` : undefined);
    if (key === undefined) return;
    const value = Number(m[2]);
    if (!Number.isFinite(value) || (INTEGER_KEYS.has(key) && !Number.isInteger(value))) {
      const want = INTEGER_KEYS.has(key) ? 'an integer' : 'a number';
      throw new BlockParseError(`"${m[1]}" should be ${want}`, line.trim(), block.bodyLine + i);
    }
    out[key] = value;
  });
  const missing = REQUIRED.filter(([key]) => !(key in out)).map(([, label]) => `"${label}:"`);
  const problem = missing.length > 0 ? `missing ${missing.join(', ')}` : latencyProblem(out, printedLabel);
  if (problem !== null) {
    throw new BlockParseError(
      `${problem} (is the block whole? vllm bench serve prints these with a tokenizer)`,
      block.lines.join('\n').trim(),
      block.firstLine,
    );
  }
  return out as unknown as BenchmarkBlock;
}

/** A parsed block with where it sits in the text (1-based lines, header to last body line). */
export interface LocatedBlock {
  metrics: BenchmarkBlock;
  firstLine: number;
  lastLine: number;
  /** The block's text as printed (header, body and footer when present). */
  text: string;
}

/** Every result block in `text` with its line range; throws BlockParseError naming the line of the first bad block. */
export function locateBenchmarkBlocks(text: string): LocatedBlock[] {
  const all = splitLines(text);
  return blockLines(text).map((b) => {
    const lastLine = Math.min(all.length, b.bodyLine + b.lines.length);
    const text = all.slice(b.firstLine - 1, lastLine).join('\n');
    return { metrics: parseLines(b), firstLine: b.firstLine, lastLine, text };
  });
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

/**
 * Reads a `--save-result` JSON: keeps the metric keys (the schema's fixed keys and every `p<P>_<metric>_ms`) and drops
 * run metadata and the per-request arrays of `--save-detailed` (read those with parseSaveResultRequests). Accepts the
 * file text or the decoded object.
 */
export function parseSaveResultJson(obj: unknown): BenchmarkMetrics {
  const record = decodeSaveResult(obj);
  const candidate: Record<string, unknown> = { ...record };
  if (candidate.request_rate === Infinity) candidate.request_rate = 'inf';
  const parsed = BenchmarkMetrics.safeParse(candidate);
  const latency = parsed.success ? latencyProblem(parsed.data) : null;
  if (!parsed.success || latency !== null) {
    const problems = parsed.success ? latency : zodProblems(parsed.error);
    const keys = JSON.stringify(Object.fromEntries(Object.entries(record).filter(([, v]) => !Array.isArray(v))));
    throw ParseError.of(SAVE_RESULT_SOURCE, `not a vllm bench serve result (${problems})`, keys);
  }
  return parsed.data;
}

const SAVE_RESULT_SOURCE = 'vllm --save-result JSON';

function decodeSaveResult(obj: unknown): Record<string, unknown> {
  let value = obj;
  if (typeof obj === 'string') {
    try {
      value = parsePythonJson(obj);
    } catch (err) {
      throw ParseError.of(SAVE_RESULT_SOURCE, `not JSON (${(err as Error).message})`, obj);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw ParseError.of(SAVE_RESULT_SOURCE, 'expected a JSON object', JSON.stringify(value) ?? String(value));
  }
  return value as Record<string, unknown>;
}

/** The per-request arrays `--save-detailed` adds to a `--save-result` JSON (vLLM's RequestFuncOutput fields). */
const DETAIL_ARRAYS = ['input_lens', 'output_lens', 'ttfts', 'itls', 'latencies', 'start_times', 'errors'] as const;

/**
 * The per-request records of a `--save-result --save-detailed` JSON, in vLLM's order, ready for calculateMetrics;
 * null when the file has no per-request arrays (saved without --save-detailed). vLLM does not save its `success`
 * flag: a request succeeded when its `errors` entry is empty, and the count must match the file's `completed`.
 * Needs every array of DETAIL_ARRAYS.
 */
export function parseSaveResultRequests(obj: unknown): RequestRecord[] | null {
  const record = decodeSaveResult(obj);
  // Without --save-detailed vLLM 0.33 still keeps `latencies` (and `queue_times`): not enough to recompute anything.
  if (!DETAIL_ARRAYS.every((k) => k in record)) return null;
  const bad = (problem: string): ParseError =>
    ParseError.of(SAVE_RESULT_SOURCE, problem, `keys: ${Object.keys(record).join(', ')}`);
  const notArrays = DETAIL_ARRAYS.filter((k) => !Array.isArray(record[k]));
  if (notArrays.length > 0) throw bad(`per-request fields ${notArrays.join(', ')} are not arrays`);
  type DetailKey = (typeof DETAIL_ARRAYS)[number];
  const arrays = Object.fromEntries(DETAIL_ARRAYS.map((k) => [k, record[k]])) as Record<DetailKey, unknown[]>;
  const count = arrays.errors.length;
  const uneven = DETAIL_ARRAYS.filter((k) => arrays[k].length !== count);
  if (uneven.length > 0) {
    const lengths = DETAIL_ARRAYS.map((k) => `${k}: ${arrays[k].length}`).join(', ');
    throw bad(`per-request arrays differ in length (${lengths})`);
  }
  const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const requests: RequestRecord[] = [];
  for (let i = 0; i < count; i++) {
    const error = arrays.errors[i];
    const itl = arrays.itls[i];
    const { input_lens, output_lens, ttfts, latencies, start_times } = arrays;
    const fields = [input_lens[i], output_lens[i], ttfts[i], latencies[i], start_times[i]];
    if (typeof error !== 'string' || !Array.isArray(itl) || !itl.every(isNum) || !fields.every(isNum)) {
      throw bad(
        `request ${i} has a malformed entry (numbers expected in input_lens, output_lens, ttfts, latencies, ` +
          'start_times, itls; a string in errors)',
      );
    }
    const [promptLen, outputTokens, ttftS, latencyS, startS] = fields as number[];
    requests.push({
      success: error === '',
      error: error === '' ? null : error,
      promptLen: promptLen!,
      outputTokens: outputTokens!,
      ttftS: ttftS!,
      itlS: itl,
      latencyS: latencyS!,
      startS: startS!,
    });
  }
  const succeeded = requests.filter((r) => r.success).length;
  if (typeof record.completed === 'number' && record.completed !== succeeded) {
    throw bad(
      `${succeeded} requests have an empty error but the file says completed = ${record.completed}; ` +
        'cannot tell which succeeded',
    );
  }
  return requests;
}
