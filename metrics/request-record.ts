/**
 * What the load generator records for one request: the same fields as vLLM's RequestFuncOutput, in seconds, so
 * metrics/calculate.ts can apply vLLM's calculate_metrics to them unchanged.
 *
 * Deterministic: no Node.js APIs.
 */
export interface RequestRecord {
  /** HTTP 200 and at least one streamed chunk with choices (vLLM's definition). */
  success: boolean;
  /** Why the request failed; null on success. */
  error: string | null;
  /** Prompt tokens sent (the dataset-side length, as vLLM counts total_input_tokens). */
  promptLen: number;
  /** Generated tokens: the server's usage.completion_tokens, else the number of chunks that carried text. */
  outputTokens: number;
  /** Time to first token: first chunk with choices − send time. */
  ttftS: number;
  /** Gaps between successive chunks with choices (one entry per chunk, not per token). */
  itlS: number[];
  /** End-to-end latency: last chunk with choices − send time. */
  latencyS: number;
  /** Send time, seconds since the start of the benchmark (only differences matter). */
  startS: number;
  /** The streamed text, when the harness kept it (vLLM's `generated_texts`). */
  generatedText?: string;
}

/**
 * The per-request arrays a cell keeps as requests.json, under the names vLLM's `--save-detailed` gives them (the
 * vllm harness keeps vLLM's own; the builtin harness, the no-op device and `thorbench import` write these).
 */
export function requestArrays(records: readonly RequestRecord[]): Record<string, unknown[]> {
  return {
    input_lens: records.map((r) => r.promptLen),
    output_lens: records.map((r) => r.outputTokens),
    ttfts: records.map((r) => r.ttftS),
    itls: records.map((r) => r.itlS),
    latencies: records.map((r) => r.latencyS),
    start_times: records.map((r) => r.startS),
    errors: records.map((r) => r.error ?? ''),
  };
}
