/**
 * One streamed request to an OpenAI-compatible `/v1/completions`, timed exactly like vLLM's benchmark client
 * (endpoint_request_func.py async_request_openai_completions; reference §1.1):
 * - the clock starts just before the request is sent;
 * - TTFT = arrival of the first message whose `choices` is non-empty (its text may be empty);
 * - every later message with choices adds one ITL entry (one per chunk, not per token);
 * - latency = arrival of the last message with choices (the trailing usage-only message does not count);
 * - output tokens = usage.completion_tokens; without usage, the number of chunks that carried text;
 * - success = HTTP 200 and at least one message with choices. No retries.
 *
 * Never throws: an HTTP error, a refused or reset connection, a server dying mid-stream, a malformed stream or a
 * timeout becomes `success: false` with the reason, and the timings measured so far are kept for the artifacts.
 */
import type { RequestRecord } from '../../metrics/request-record.js';
import { interpretSseMessage, SseSplitter } from './sse.js';

export interface CompletionRequest {
  url: string;
  body: Record<string, unknown>;
  /** Tokens in the prompt, recorded as the request's input length. */
  promptLen: number;
  /** performance.now() at the benchmark start; startS is measured from it. */
  benchStartMs: number;
  signal?: AbortSignal;
  /** Whole-request limit (connect to last byte); none when undefined. */
  timeoutMs?: number;
}

interface Choice {
  text?: unknown;
}
interface Chunk {
  choices?: Choice[];
  usage?: { completion_tokens?: unknown } | null;
}

/** Error message with its causes: undici reports "fetch failed" and puts "connect ECONNREFUSED ..." in `cause`. */
function describe(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      parts.push(typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.filter((p) => p !== '').join(': ') || 'unknown error';
}

export async function sendCompletion(req: CompletionRequest): Promise<RequestRecord> {
  const timeout = req.timeoutMs !== undefined ? AbortSignal.timeout(req.timeoutMs) : undefined;
  const signals = [req.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];

  const st = performance.now();
  const record: RequestRecord = {
    success: false,
    error: null,
    promptLen: req.promptLen,
    outputTokens: 0,
    ttftS: 0,
    itlS: [],
    latencyS: 0,
    startS: (st - req.benchStartMs) / 1000,
  };
  let mostRecent = st;
  let firstChunk = false;
  let textChunks = 0;
  let generated = '';
  let usageTokens: number | null = null;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  const handle = (message: string): void => {
    const event = interpretSseMessage(message);
    if (event.kind !== 'data') return;
    const chunk = event.data as Chunk;
    if (Array.isArray(chunk.choices) && chunk.choices.length > 0) {
      const now = performance.now();
      if (!firstChunk) {
        firstChunk = true;
        record.ttftS = (now - st) / 1000;
      } else {
        record.itlS.push((now - mostRecent) / 1000);
      }
      mostRecent = now;
      const text = chunk.choices[0]?.text;
      if (typeof text === 'string' && text !== '') {
        textChunks += 1;
        generated += text;
      }
    } else if (chunk.usage && typeof chunk.usage.completion_tokens === 'number') {
      usageTokens = chunk.usage.completion_tokens;
    }
  };

  try {
    const res = await fetch(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(req.body),
      signal,
    });
    if (res.status !== 200) {
      const detail = (await res.text().catch(() => '')).trim().slice(0, 500);
      record.error = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${detail ? `: ${detail}` : ''}`;
      return record;
    }
    if (!res.body) {
      record.error = 'HTTP 200 without a response body';
      return record;
    }
    reader = res.body.getReader();
    const decoder = new TextDecoder();
    const splitter = new SseSplitter();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const message of splitter.push(decoder.decode(value, { stream: true }))) handle(message);
    }
    for (const message of splitter.push(decoder.decode())) handle(message);

    record.latencyS = (mostRecent - st) / 1000;
    // vLLM falls back when usage is missing or zero (`if not output_len`).
    record.outputTokens = usageTokens !== null && usageTokens > 0 ? usageTokens : textChunks;
    record.generatedText = generated;
    if (firstChunk) {
      record.success = true;
    } else {
      record.error = 'Never received a valid chunk to calculate TTFT (the stream ended without any message with choices)';
    }
  } catch (err) {
    reader?.cancel().catch(() => undefined);
    record.latencyS = (mostRecent - st) / 1000;
    record.outputTokens = usageTokens ?? textChunks;
    if (timeout?.aborted) record.error = `request timed out after ${req.timeoutMs} ms`;
    else if (req.signal?.aborted) record.error = 'aborted: the load run was cancelled';
    else record.error = describe(err);
  }
  return record;
}
