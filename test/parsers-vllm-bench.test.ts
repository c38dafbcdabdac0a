/**
 * `vllm bench serve` importers: every real printed block in fixtures/vllm-bench-text must give exactly its
 * expected JSON; current-vLLM blocks (extra lines, other capitalisation) and --save-result JSON must parse too.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BenchmarkMetrics } from '../schema/metrics.js';
import { ParseError } from '../parsers/parse-error.js';
import {
  parseBenchmarkBlock,
  parseBenchmarkBlocks,
  parsePythonJson,
  parseSaveResultJson,
} from '../parsers/vllm-bench.js';
import { fixture, fixturePath } from './helpers/files.js';

const names = readdirSync(fixturePath('vllm-bench-text'))
  .filter((f) => f.endsWith('.txt'))
  .sort();
const read = (name: string): string => fixture('vllm-bench-text', name);

/** A block in current serve.py's layout ("{:<40} {:<10}"), with every optional line. */
const CURRENT = `Starting main benchmark run...
Traffic request rate: 4.0
Maximum request concurrency: 8
============ Serving Benchmark Result ============
Successful requests:                     98        
Failed requests:                         2         
Maximum request concurrency:             8         
Request rate configured (RPS):           4.00      
Benchmark duration (s):                  25.31     
Total input tokens:                      200704    
Total generated tokens:                  12544     
Request throughput (req/s):              3.87      
Request goodput (req/s):                 3.20      
Output token throughput (tok/s):         495.61    
Peak output token throughput (tok/s):    640.00    
Peak concurrent requests:                8.00      
Total token throughput (tok/s):          8425.37   
---------------Time to First Token----------------
Mean TTFT (ms):                          210.12    
Median TTFT (ms):                        198.40    
P90 TTFT (ms):                           300.00    
P99 TTFT (ms):                           402.77    
-----Time per Output Token (excl. 1st token)------
Mean TPOT (ms):                          15.10     
Median TPOT (ms):                        15.02     
P90 TPOT (ms):                           15.90     
P99 TPOT (ms):                           16.55     
---------------Inter-token Latency----------------
Mean ITL (ms):                           15.08     
Median ITL (ms):                         14.80     
P90 ITL (ms):                            16.00     
P99 ITL (ms):                            40.31     
----------------End-to-end Latency----------------
Mean E2EL (ms):                          2127.50   
Median E2EL (ms):                        2110.00   
P90 E2EL (ms):                           2300.00   
P99 E2EL (ms):                           2410.90   
---------------Speculative Decoding---------------
Acceptance rate (%):                     71.20     
==================================================
`;

describe("parseBenchmarkBlock on the guide's real blocks", () => {
  it('has all 43 fixtures', () => {
    assert.equal(names.length, 43);
  });
  for (const name of names) {
    it(`reproduces ${name.replace(/\.txt$/, '.expected.json')}`, () => {
      const expected = JSON.parse(read(name.replace(/\.txt$/, '.expected.json'))) as Record<string, unknown>;
      assert.deepEqual(parseBenchmarkBlock(read(name)), expected);
    });
  }

  it('reads every block of a concatenated log, in order', () => {
    const log = names.map((n) => `some log line\n${read(n)}\nINFO: next run`).join('\n');
    const blocks = parseBenchmarkBlocks(log);
    assert.equal(blocks.length, names.length);
    names.forEach((n, i) => assert.deepEqual(blocks[i], JSON.parse(read(n.replace(/\.txt$/, '.expected.json')))));
  });

  it('gives a BenchmarkMetrics once the schema fills failed = 0', () => {
    const metrics = BenchmarkMetrics.parse(parseBenchmarkBlock(read(names[0]!)));
    assert.equal(metrics.failed, 0);
  });
});

describe('parseBenchmarkBlock on current vLLM output', () => {
  it('reads the new lines, lower-case "Total token", percentiles beyond p99 and E2EL; ignores unknown sections', () => {
    assert.deepEqual(parseBenchmarkBlock(CURRENT), {
      completed: 98,
      failed: 2,
      max_concurrency: 8,
      request_rate: 4,
      duration: 25.31,
      total_input_tokens: 200704,
      total_output_tokens: 12544,
      request_throughput: 3.87,
      request_goodput: 3.2,
      output_throughput: 495.61,
      max_output_tokens_per_s: 640,
      max_concurrent_requests: 8,
      total_token_throughput: 8425.37,
      mean_ttft_ms: 210.12,
      median_ttft_ms: 198.4,
      p90_ttft_ms: 300,
      p99_ttft_ms: 402.77,
      mean_tpot_ms: 15.1,
      median_tpot_ms: 15.02,
      p90_tpot_ms: 15.9,
      p99_tpot_ms: 16.55,
      mean_itl_ms: 15.08,
      median_itl_ms: 14.8,
      p90_itl_ms: 16,
      p99_itl_ms: 40.31,
      mean_e2el_ms: 2127.5,
      median_e2el_ms: 2110,
      p90_e2el_ms: 2300,
      p99_e2el_ms: 2410.9,
    });
  });

  it('does not take the pre-run "Maximum request concurrency" line outside the block', () => {
    const text = CURRENT.replace(/Maximum request concurrency:\s+8\s+\n(?=Request rate)/, '');
    assert.equal('max_concurrency' in parseBenchmarkBlock(text), false);
  });

  it('accepts a block pasted without its ===== header', () => {
    const body = read(names[0]!).split('\n').slice(1).join('\n');
    assert.deepEqual(parseBenchmarkBlock(body), JSON.parse(read(names[0]!.replace(/\.txt$/, '.expected.json'))));
  });

  it('names the missing lines, refuses zero or several blocks, and rejects non-numbers', () => {
    // vLLM prints a mean and a median for every metric it measures: a TPOT section without its median was cut.
    const noTpot = read(names[0]!).replace(/^Median TPOT.*$/m, '');
    assert.throws(() => parseBenchmarkBlock(noTpot), /missing "Median TPOT \(ms\):"/);
    const noDuration = read(names[0]!).replace(/^Benchmark duration.*$/m, '');
    assert.throws(() => parseBenchmarkBlock(noDuration), /missing "Benchmark duration \(s\):"/);
    // Without P99 lines (--metric-percentiles 50,90) or a metric (--percentile-metrics ttft,tpot) it is whole.
    const noP99 = parseBenchmarkBlock(read(names[0]!).replace(/^(P99 .*|.*ITL.*)$/gm, ''));
    assert.equal('p99_ttft_ms' in noP99 || 'mean_itl_ms' in noP99, false);
    assert.equal(typeof noP99.mean_tpot_ms, 'number');
    assert.throws(
      () => parseBenchmarkBlock('Traceback (most recent call last):\n'),
      (err: unknown) => err instanceof ParseError && /no ".*Serving Benchmark Result/.test(err.message),
    );
    assert.throws(() => parseBenchmarkBlock(CURRENT + CURRENT), /found 2 result blocks/);
    assert.throws(
      () => parseBenchmarkBlock(CURRENT.replace('98        ', 'many')),
      /"Successful requests" should be an integer/,
    );
    assert.deepEqual(parseBenchmarkBlocks('nothing here'), []);
  });
});

describe('parseSaveResultJson', () => {
  /** What the file holds about the run rather than its results. */
  const metadata = {
    date: '20260101-120000',
    endpoint_type: 'openai',
    backend: 'openai',
    label: null,
    model_id: 'qwen3',
    tokenizer_id: '/models/Qwen/Qwen3-8B-FP8',
    num_prompts: 100,
    burstiness: 1.0,
  };
  /** --save-detailed's per-request arrays. */
  const arrays = {
    input_lens: [2048],
    output_lens: [128],
    ttfts: [0.5],
    itls: [[0.02]],
    generated_texts: ['x'],
    errors: [''],
  };
  const metrics = {
    request_rate: 'inf',
    max_concurrency: 8,
    duration: 50.88,
    completed: 100,
    failed: 0,
    total_input_tokens: 204169,
    total_output_tokens: 12800,
    request_throughput: 1.965,
    request_goodput: null,
    output_throughput: 251.56,
    total_token_throughput: 4264.12,
    max_output_tokens_per_s: 280.0,
    max_concurrent_requests: 8,
    mean_ttft_ms: 554.96,
    median_ttft_ms: 495.34,
    std_ttft_ms: 200.1,
    p99_ttft_ms: 1142.79,
    'p99.9_ttft_ms': 1150.2,
    mean_tpot_ms: 26.96,
    median_tpot_ms: 26.84,
    std_tpot_ms: 1.2,
    p99_tpot_ms: 29.1,
    mean_itl_ms: 26.96,
    median_itl_ms: 22.31,
    std_itl_ms: 20.5,
    p99_itl_ms: 160.66,
  };
  const saved = { ...metadata, ...metrics, ...arrays };

  it('keeps the metric keys and drops metadata and per-request arrays', () => {
    assert.deepEqual(parseSaveResultJson(saved), metrics);
  });

  it("reads the file text, including Python's bare Infinity and NaN, and fills failed for old files", () => {
    const { failed: _failed, ...old } = saved;
    const text = JSON.stringify({ ...old, request_rate: 1, label: 'Infinity is a word' })
      .replace('"request_rate":1', '"request_rate": Infinity')
      .replace('"std_itl_ms":20.5', '"std_itl_ms": NaN');
    const m = parseSaveResultJson(text);
    assert.equal(m.request_rate, 'inf');
    assert.equal(m.std_itl_ms, null);
    assert.equal(m.failed, 0);
    assert.deepEqual(parsePythonJson('{"a": "NaN Infinity", "b": -Infinity}'), { a: 'NaN Infinity', b: '-inf' });
  });

  it('says which keys are wrong', () => {
    const { mean_ttft_ms: _drop, ...incomplete } = saved;
    assert.throws(() => parseSaveResultJson(incomplete), /missing mean_ttft_ms/);
    // Whole without the p99 keys (--metric-percentiles 50,90) or the ITL keys (--percentile-metrics ttft,tpot,e2el).
    const partial = Object.fromEntries(Object.entries(saved).filter(([k]) => !/^p99_|_itl_ms$/.test(k)));
    assert.equal(parseSaveResultJson(partial).mean_ttft_ms, saved.mean_ttft_ms);
    const timingsOnly = Object.fromEntries(Object.entries(saved).filter(([k]) => !k.endsWith('_ms')));
    assert.throws(() => parseSaveResultJson(timingsOnly), /no latency statistic/);
    assert.throws(() => parseSaveResultJson('[1, 2]'), /expected a JSON object/);
    assert.throws(() => parseSaveResultJson('{oops'), /not JSON/);
  });
});
