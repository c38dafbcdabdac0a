/**
 * One streamed request to an OpenAI-compatible `/v1/completions`, timed exactly like vLLM's benchmark client
 * (vllm/benchmarks/lib/endpoint_request_func.py async_request_openai_completions; docs/metrics.md):
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
import http from 'node:http';
import https from 'node:https';
import type { RequestRecord } from '../../metrics/request-record.js';
import { interpretSseMessage, SseSplitter } from './sse.js';

/**
 * node:http rather than fetch: with many streams, chunks of one engine step arrive together and are handled one after
 * another, so every microsecond spent per chunk delays the next stream's timestamp (npm run bench:harness measures
 * it); fetch's web streams cost several times more per chunk. One keep-alive pool, like vLLM's aiohttp session:
 * connections are reused across requests and never capped here (the concurrency cap is the load generator's).
 */
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: Infinity, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: Infinity, scheduling: 'lifo' }),
};

interface Streamed {
  status: number;
  statusText: string;
  res: http.IncomingMessage;
}

/** POSTs JSON; resolves once the response headers are in. */
function post(url: string, body: string, signal: AbortSignal | undefined): Promise<Streamed> {
  const target = new URL(url);
  const agent = target.protocol === 'https:' ? AGENTS['https:'] : AGENTS['http:'];
  const request = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        signal,
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', res }),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Reads a whole (error) body as text. */
function readText(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (text += d));
    res.on('end', () => resolve(text));
    res.on('error', () => resolve(text));
    res.on('close', () => resolve(text));
  });
}

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

/** Error message with its causes and code (e.g. "connect ECONNREFUSED 127.0.0.1:8000"). */
function describe(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      parts.push(
        typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message,
      );
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
  let response: http.IncomingMessage | undefined;
  /** When the bytes being handled arrived: one timestamp per network read, before any parsing. */
  let arrived = st;

  const handle = (message: string): void => {
    const event = interpretSseMessage(message);
    if (event.kind !== 'data') return;
    const chunk = event.data as Chunk;
    if (Array.isArray(chunk.choices) && chunk.choices.length > 0) {
      const now = arrived;
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
    const { status, statusText, res } = await post(req.url, JSON.stringify(req.body), signal);
    response = res;
    if (status !== 200) {
      const detail = (await readText(res)).trim().slice(0, 500);
      record.error = `HTTP ${status}${statusText ? ` ${statusText}` : ''}${detail ? `: ${detail}` : ''}`;
      return record;
    }
    const decoder = new TextDecoder();
    const splitter = new SseSplitter();
    await new Promise<void>((resolve, reject) => {
      res.on('data', (bytes: Buffer) => {
        arrived = performance.now();
        try {
          for (const message of splitter.push(decoder.decode(bytes, { stream: true }))) handle(message);
        } catch (err) {
          res.destroy();
          reject(err);
        }
      });
      res.on('end', () => {
        try {
          for (const message of splitter.push(decoder.decode())) handle(message);
          resolve();
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
      // A connection that closes before the end of the response: the server died mid-stream.
      res.on('close', () => {
        if (!res.complete)
          reject(new Error('the connection closed mid-stream (socket terminated before the response ended)'));
      });
    });

    record.latencyS = (mostRecent - st) / 1000;
    // vLLM falls back when usage is missing or zero (`if not output_len`).
    record.outputTokens = usageTokens !== null && usageTokens > 0 ? usageTokens : textChunks;
    record.generatedText = generated;
    if (firstChunk) {
      record.success = true;
    } else {
      record.error =
        'Never received a valid chunk to calculate TTFT (the stream ended without any message with choices)';
    }
  } catch (err) {
    response?.destroy();
    record.latencyS = (mostRecent - st) / 1000;
    record.outputTokens = usageTokens ?? textChunks;
    if (timeout?.aborted) record.error = `request timed out after ${req.timeoutMs} ms`;
    else if (req.signal?.aborted) record.error = 'aborted: the load run was cancelled';
    else record.error = describe(err);
  }
  return record;
}
