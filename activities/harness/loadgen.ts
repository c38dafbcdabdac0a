/**
 * The builtin load generator (the `builtin` harness): streams OpenAI completions against an engine and records each
 * request the way `vllm bench serve` does, so metrics/calculate.ts turns the records into the same numbers vLLM would
 * print. Used where the engine container has no `vllm bench`, against the simulator, and for live progress
 * (onProgress).
 *
 * Run shape, as in vLLM: one untimed request first (vLLM's "initial single prompt test run": prompt 0 with the run's
 * output length), which also opens the connection the timed requests then reuse, so the first timed request does not
 * pay for connecting; then every request is scheduled by activities/harness/schedule.ts, waits for a concurrency
 * permit, then streams; the benchmark clock starts right before the first dispatch and stops when the last request
 * ends.
 */
import type { RequestRecord } from '../../metrics/request-record.js';
import { sendCompletion } from './completion-request.js';
import type { LoadShape } from './load-shape.js';
import { promptTokens } from './prompts.js';
import { arrivalSchedule } from './schedule.js';
import { Semaphore } from './semaphore.js';

export interface LoadProgress {
  /** Requests finished, successful or not. */
  done: number;
  /** Of those, the failed ones. */
  failed: number;
  total: number;
}

/** The load (prompt tokens are exact: prompts are sent as token ids), where to send it, and how to report it. */
export interface LoadOptions extends LoadShape {
  /** Engine root, e.g. http://127.0.0.1:8000; requests go to `${baseUrl}/v1/completions`. */
  baseUrl: string;
  /** The served model name (vllm serve --served-model-name). */
  model: string;
  /** Send vLLM's ignore_eos so every request produces outputLen tokens. @default true */
  ignoreEos?: boolean;
  /** Stops dispatching and aborts requests in flight; runLoad then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called after every finished request. Must not throw; if it does, runLoad rejects with that error at the end. */
  onProgress?: (p: LoadProgress) => void;
  /** Per-request limit; a request exceeding it is recorded as failed. None by default (vLLM allows 6 h). */
  requestTimeoutMs?: number;
  /** Send vLLM's untimed initial test request before the timed window. @default true */
  initialRequest?: boolean;
  /** Called once, right before the timed window opens (after the initial request). Must not throw. */
  onStart?: () => void;
}

/** The untimed initial request failed: like vLLM's client, the run does not start. */
export class InitialRequestError extends Error {
  override readonly name = 'InitialRequestError';
  constructor(readonly record: RequestRecord) {
    super(
      `Initial test run failed - the engine did not answer one untimed request: ${record.error ?? 'unknown error'}`,
    );
  }
}

export interface LoadResult {
  /** The untimed initial request (not part of the metrics); null when disabled. */
  initial: RequestRecord | null;
  /** Every dispatched request, in dispatch order. */
  requests: RequestRecord[];
  /** First dispatch → last request finished, seconds (vLLM's benchmark duration). */
  durationS: number;
  /** Epoch ms when the benchmark clock started (just before the first dispatch): the energy window's start. */
  startedAtMs: number;
  /** startedAtMs + durationS, epoch ms: the energy window's end. */
  finishedAtMs: number;
}

function positiveInt(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw new RangeError(`runLoad: ${name} must be a positive integer, got ${value}`);
  }
}

function validate(opts: LoadOptions): void {
  positiveInt('inputLen', opts.inputLen);
  positiveInt('outputLen', opts.outputLen);
  positiveInt('numPrompts', opts.numPrompts);
  positiveInt('maxConcurrency', opts.maxConcurrency);
  if (opts.requestTimeoutMs !== undefined && !(opts.requestTimeoutMs > 0)) {
    throw new RangeError(`runLoad: requestTimeoutMs must be positive, got ${opts.requestTimeoutMs}`);
  }
  if (!/^https?:\/\//.test(opts.baseUrl))
    throw new RangeError(`runLoad: baseUrl must be an http(s) URL, got "${opts.baseUrl}"`);
  if (opts.model === '') throw new RangeError('runLoad: model (the served model name) is empty');
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('load run aborted');
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  validate(opts);
  const { signal } = opts;
  const schedule = arrivalSchedule({
    numPrompts: opts.numPrompts,
    requestRate: opts.requestRate,
    burstiness: opts.burstiness,
    seed: opts.seed,
  });
  const seed = opts.seed ?? 0;
  const url = `${opts.baseUrl.replace(/\/+$/, '')}/v1/completions`;
  const semaphore = opts.maxConcurrency !== undefined ? new Semaphore(opts.maxConcurrency) : null;
  if (signal?.aborted) throw abortReason(signal);

  let done = 0;
  let failed = 0;
  let progressError: { error: unknown } | null = null;
  const total = opts.numPrompts;

  const send = (index: number, benchStartMs: number): Promise<RequestRecord> => {
    const prompt = promptTokens(seed, index, opts.inputLen);
    return sendCompletion({
      url,
      body: {
        model: opts.model,
        prompt,
        max_tokens: opts.outputLen,
        temperature: 0,
        ignore_eos: opts.ignoreEos ?? true,
        stream: true,
        stream_options: { include_usage: true },
      },
      promptLen: prompt.length,
      benchStartMs,
      signal,
      timeoutMs: opts.requestTimeoutMs,
    });
  };

  let initial: RequestRecord | null = null;
  if (opts.initialRequest ?? true) {
    initial = await send(0, performance.now());
    if (signal?.aborted) throw abortReason(signal);
    if (!initial.success) throw new InitialRequestError(initial);
    // undici hands the socket back to its pool only after the response's end has been processed; one turn of the
    // event loop later the first timed request finds it idle instead of opening a second connection in the window.
    await new Promise((resolve) => setImmediate(resolve));
  }

  opts.onStart?.();
  const startedAtMs = Date.now();
  const t0 = performance.now();

  const dispatch = async (index: number): Promise<RequestRecord | null> => {
    if (semaphore && !(await semaphore.acquire(signal))) return null;
    try {
      if (signal?.aborted) return null;
      const record = await send(index, t0);
      done += 1;
      if (!record.success) failed += 1;
      try {
        opts.onProgress?.({ done, failed, total });
      } catch (error) {
        progressError ??= { error };
      }
      return record;
    } finally {
      // As after the initial request: let the pool take the socket back first, so the request this permit lets
      // through reuses the connection (vLLM's client releases its permit after aiohttp has released the connection).
      if (semaphore) await new Promise((resolve) => setImmediate(resolve));
      semaphore?.release();
    }
  };

  const tasks: Promise<RequestRecord | null>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = t0 + schedule[i]! * 1000 - performance.now();
    if (wait > 0) await sleep(wait, signal);
    if (signal?.aborted) break;
    tasks.push(dispatch(i));
  }
  const settled = await Promise.all(tasks);
  const durationS = (performance.now() - t0) / 1000;

  if (signal?.aborted) throw abortReason(signal);
  if (progressError) throw (progressError as { error: unknown }).error;
  return {
    initial,
    requests: settled.filter((r): r is RequestRecord => r !== null),
    durationS,
    startedAtMs,
    finishedAtMs: startedAtMs + durationS * 1000,
  };
}
