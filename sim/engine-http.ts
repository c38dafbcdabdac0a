/**
 * The OpenAI-compatible HTTP surface of the simulated vLLM server (node:http only): GET /health, /v1/models,
 * /version, /metrics; POST /tokenize, /detokenize, /v1/completions (streaming like vLLM 0.33: `data: {...}\n\n`
 * chunks shaped as vLLM's CompletionStreamResponse dumped with exclude_unset, the last token's chunk carries
 * finish_reason, then a usage-only chunk with `choices: []` when stream_options.include_usage, then
 * `data: [DONE]`), non-streaming completions, and POST /v1/chat/completions. Error bodies have vLLM 0.33's shape
 * `{"error":{"message","type","param","code"}}`. Text prompts are counted with the tokenizer vLLM's client shares
 * (sim/tokenizer.ts).
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FinishReason } from './batch-engine.js';
import type { EngineMetrics } from './engine-metrics.js';
import { type PromptInput, naturalLength, promptSeed, promptTokenCount, tokenText } from './generated-text.js';
import type { LiveEngine } from './live-engine.js';
import { simTokenizer } from './tokenizer.js';

/**
 * When each token of one request left the server, for the harness fidelity benchmark (test/tools/bench-harness.ts):
 * epoch milliseconds with sub-millisecond resolution (performance.timeOrigin + performance.now()), comparable
 * across processes on one machine.
 */
export interface TokenTrace {
  id: string;
  /** sim/generated-text.ts promptSeed of the prompt: lets a client match its requests to the trace. */
  promptSeed: number;
  promptTokens: number;
  /** The request's first byte arrived. */
  arrivedMs: number;
  /** Each streamed token chunk was handed to the socket, in order. */
  tokenMs: number[];
}

/** Environment variable naming a file the engine appends one TokenTrace JSON line per streamed request to. */
export const TOKEN_TRACE_ENV = 'THORBENCH_SIM_TOKEN_TRACE';

export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface EngineHttpContext {
  servedNames: string[];
  /** Model path as given to `vllm serve` (the `root` of /v1/models). */
  modelPath: string;
  maxModelLen: number;
  version: string;
  engine: LiveEngine;
  /** Seconds since the epoch when the server started (`created` fields). */
  created: number;
  log(line: string): void;
  /** false = /health answers 503 (fault never-healthy). */
  healthy(): boolean;
  /**
   * Called before the first completion is served; returns true when the engine is crashing (fault
   * crash-on-first-request): the handler then answers 500 and the process exits.
   */
  beforeFirstCompletion(): boolean;
  metrics: EngineMetrics;
  /** Called once per finished streamed completion when token tracing is on (THORBENCH_SIM_TOKEN_TRACE). */
  trace?: (record: TokenTrace) => void;
}

interface HttpError {
  status: number;
  type: string;
  message: string;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function accessLog(ctx: EngineHttpContext, req: http.IncomingMessage, status: number): void {
  const path = req.url ?? '/';
  ctx.log(
    `INFO:     ${req.socket.remoteAddress ?? '-'}:${req.socket.remotePort ?? 0} - "${req.method} ${path} HTTP/1.1" ${status} ${REASONS[status] ?? ''}`,
  );
}

function sendJson(
  ctx: EngineHttpContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  body: unknown,
): void {
  const text = JSON.stringify(body);
  accessLog(ctx, req, status);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(ctx: EngineHttpContext, req: http.IncomingMessage, res: http.ServerResponse, e: HttpError): void {
  sendJson(ctx, req, res, e.status, { error: { message: e.message, type: e.type, param: null, code: e.status } });
}

const bad = (message: string): HttpError => ({ status: 400, type: 'BadRequestError', message });

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024 * 1024) throw bad('request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw bad(`JSON decode error: ${(err as Error).message}`);
  }
}

interface GenerationRequest {
  prompt: PromptInput;
  promptTokens: number;
  maxTokens: number;
  ignoreEos: boolean;
  stream: boolean;
  includeUsage: boolean;
  model: string;
}

function checkModel(ctx: EngineHttpContext, body: Record<string, unknown>): string | HttpError {
  const model = body.model;
  if (model === undefined || model === null) return ctx.servedNames[0]!;
  if (typeof model !== 'string' || !ctx.servedNames.includes(model))
    return { status: 404, type: 'NotFoundError', message: `The model \`${String(model)}\` does not exist.` };
  return model;
}

function commonFields(
  ctx: EngineHttpContext,
  body: Record<string, unknown>,
  prompt: PromptInput,
  defaultMax: number | undefined,
): GenerationRequest | HttpError {
  const model = checkModel(ctx, body);
  if (typeof model !== 'string') return model;
  if (body.n !== undefined && body.n !== 1) return bad('n > 1 is not supported by the thorbench simulator');
  const promptTokens = promptTokenCount(prompt);
  if (promptTokens < 1) return bad('The prompt cannot be empty.');
  const requested = body.max_tokens ?? body.max_completion_tokens ?? defaultMax ?? ctx.maxModelLen - promptTokens;
  if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 1)
    return bad(`max_tokens must be at least 1, got ${String(requested)}.`);
  if (promptTokens + requested > ctx.maxModelLen) {
    return bad(
      `This model's maximum context length is ${ctx.maxModelLen} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the messages, ${requested} in the completion). Please reduce the length of the messages or completion.`,
    );
  }
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  return {
    prompt,
    promptTokens,
    maxTokens: requested,
    ignoreEos: body.ignore_eos === true,
    stream: body.stream === true,
    includeUsage: streamOptions?.include_usage === true,
    model,
  };
}

function completionPrompt(body: Record<string, unknown>): PromptInput | HttpError {
  let p = body.prompt;
  if (Array.isArray(p) && p.length === 1 && (typeof p[0] === 'string' || Array.isArray(p[0]))) p = p[0];
  if (typeof p === 'string') return p;
  if (Array.isArray(p) && p.every((t) => Number.isInteger(t))) return p as number[];
  if (Array.isArray(p))
    return bad(
      'batched prompts (a list of several prompts) are not supported by the thorbench simulator: send one prompt per request',
    );
  return bad('prompt must be a string or a list of token ids');
}

/** Chat messages → a prompt: the words of every message plus the chat template's overhead (about 5 tokens/message). */
function chatPrompt(body: Record<string, unknown>): PromptInput | HttpError {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return bad('messages must be a non-empty list');
  const words: string[] = [];
  for (const m of messages as { role?: unknown; content?: unknown }[]) {
    const content =
      typeof m.content === 'string'
        ? m.content
        : Array.isArray(m.content)
          ? m.content.map((c: { text?: unknown }) => (typeof c.text === 'string' ? c.text : '')).join(' ')
          : '';
    words.push('<|im_start|>', String(m.role ?? 'user'), content, '<|im_end|>', '\n');
  }
  words.push('<|im_start|>', 'assistant');
  return words.join(' ');
}

function usage(g: GenerationRequest, completionTokens: number) {
  return {
    prompt_tokens: g.promptTokens,
    total_tokens: g.promptTokens + completionTokens,
    completion_tokens: completionTokens,
    prompt_tokens_details: null,
  };
}

type Kind = 'completion' | 'chat';

function generate(
  ctx: EngineHttpContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  g: GenerationRequest,
  kind: Kind,
  arrivedAt: number,
): void {
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(16).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const seed = promptSeed(g.prompt);
  const trace: TokenTrace | undefined =
    ctx.trace && g.stream
      ? {
          id,
          promptSeed: seed,
          promptTokens: g.promptTokens,
          arrivedMs: performance.timeOrigin + arrivedAt,
          tokenMs: [],
        }
      : undefined;
  let text = '';
  let finished = false;
  let lastTokenAt = arrivedAt;
  let ttftS = 0;
  ctx.metrics.requestArrived(g.promptTokens);
  const write = (chunk: unknown): void => void res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  // vLLM 0.33 builds every field of the choice explicitly and dumps with exclude_unset, so the nulls are present.
  const choice = (piece: string, finish: FinishReason | null) =>
    kind === 'chat'
      ? {
          index: 0,
          delta: { content: piece },
          logprobs: null,
          finish_reason: finish,
          stop_reason: null,
          token_ids: null,
        }
      : {
          index: 0,
          text: piece,
          logprobs: null,
          finish_reason: finish,
          stop_reason: null,
          prompt_token_ids: null,
          token_ids: null,
          weight_versions: null,
        };

  if (g.stream) {
    accessLog(ctx, req, 200);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
  }
  const seqId = ctx.engine.submit(
    {
      promptTokens: g.promptTokens,
      maxTokens: g.maxTokens,
      eosAfter: g.ignoreEos ? Infinity : naturalLength(seed),
      promptKey: seed,
    },
    (index, finish) => {
      const piece = tokenText(seed, index);
      text += piece;
      const now = performance.now();
      ctx.metrics.token(index === 1, (now - lastTokenAt) / 1000);
      if (index === 1) ttftS = (now - arrivedAt) / 1000;
      lastTokenAt = now;
      if (g.stream) {
        if (kind === 'chat' && index === 1)
          write({
            id,
            object,
            created,
            model: g.model,
            choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
          });
        if (kind === 'chat')
          write({ id, object, created, model: g.model, choices: [choice(piece, finish)], usage: null });
        else write({ id, object, created, model: g.model, choices: [choice(piece, finish)], kv_transfer_params: null });
        trace?.tokenMs.push(epochMs());
      }
      if (!finish) return;
      finished = true;
      ctx.metrics.requestFinished(finish, (now - arrivedAt) / 1000, ttftS, index);
      if (trace) ctx.trace!(trace);
      if (g.stream) {
        // vLLM 0.33 dumps the usage chunk with exclude_none: no prompt_tokens_details.
        const { prompt_tokens_details: _, ...streamed } = usage(g, index);
        if (g.includeUsage) write({ id, object, created, model: g.model, choices: [], usage: streamed });
        res.end('data: [DONE]\n\n');
        return;
      }
      const message =
        kind === 'chat'
          ? {
              index: 0,
              message: { role: 'assistant', content: text, tool_calls: [] },
              logprobs: null,
              finish_reason: finish,
              stop_reason: null,
            }
          : { index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null, prompt_logprobs: null };
      sendJson(ctx, req, res, 200, {
        id,
        object: kind === 'chat' ? 'chat.completion' : 'text_completion',
        created,
        model: g.model,
        choices: [message],
        usage: usage(g, index),
      });
    },
    arrivedAt,
  );
  res.on('close', () => {
    if (finished) return;
    ctx.engine.cancel(seqId);
    ctx.metrics.requestFinished('abort', (performance.now() - arrivedAt) / 1000, ttftS, 0);
  });
}

/** POST /tokenize (vLLM's TokenizeCompletionRequest / TokenizeChatRequest → TokenizeResponse). */
function tokenize(ctx: EngineHttpContext, b: Record<string, unknown>): unknown {
  const model = checkModel(ctx, b);
  if (typeof model !== 'string') throw model;
  let text: string;
  if (typeof b.prompt === 'string') text = b.prompt;
  else if (Array.isArray(b.messages)) {
    const p = chatPrompt(b);
    if (typeof p !== 'string') throw p;
    text = p;
  } else throw bad('give "prompt" (a string) or "messages"');
  const tokenizer = simTokenizer();
  const tokens = tokenizer.encode(text);
  return {
    count: tokens.length,
    max_model_len: ctx.maxModelLen,
    tokens,
    token_strs: b.return_token_strs === true ? tokenizer.tokenStrings(tokens) : null,
  };
}

/** POST /detokenize (vLLM's DetokenizeRequest → DetokenizeResponse). */
function detokenize(ctx: EngineHttpContext, b: Record<string, unknown>): unknown {
  const model = checkModel(ctx, b);
  if (typeof model !== 'string') throw model;
  if (!Array.isArray(b.tokens) || !b.tokens.every((t) => Number.isInteger(t) && (t as number) >= 0))
    throw bad('tokens must be a list of non-negative integers');
  try {
    return { prompt: simTokenizer().decode(b.tokens as number[]) };
  } catch (err) {
    throw bad((err as Error).message);
  }
}

/** Builds the request handler. */
export function createEngineHandler(ctx: EngineHttpContext): http.RequestListener {
  let served = false;
  return (req, res) => {
    const arrivedAt = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const route = async (): Promise<void> => {
      if (path === '/health') {
        if (method !== 'GET') throw { status: 405, type: 'MethodNotAllowed', message: 'Method Not Allowed' };
        const status = ctx.healthy() ? 200 : 503;
        accessLog(ctx, req, status);
        res.writeHead(status, { 'content-length': 0 });
        res.end();
        return;
      }
      if (path === '/version' && method === 'GET') return sendJson(ctx, req, res, 200, { version: ctx.version });
      if (path === '/metrics' && method === 'GET') {
        const text = ctx.metrics.render();
        accessLog(ctx, req, 200);
        res.writeHead(200, {
          'content-type': 'text/plain; version=0.0.4; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      if ((path === '/tokenize' || path === '/detokenize') && method === 'POST') {
        const body = await readBody(req);
        if (body === null || typeof body !== 'object' || Array.isArray(body))
          throw bad('the request body must be a JSON object');
        const b = body as Record<string, unknown>;
        return sendJson(ctx, req, res, 200, path === '/tokenize' ? tokenize(ctx, b) : detokenize(ctx, b));
      }
      if (path === '/v1/models' && method === 'GET') {
        return sendJson(ctx, req, res, 200, {
          object: 'list',
          data: ctx.servedNames.map((name) => ({
            id: name,
            object: 'model',
            created: ctx.created,
            owned_by: 'vllm',
            root: ctx.modelPath,
            parent: null,
            max_model_len: ctx.maxModelLen,
            permission: [],
          })),
        });
      }
      const kind: Kind | undefined =
        path === '/v1/completions' ? 'completion' : path === '/v1/chat/completions' ? 'chat' : undefined;
      if (!kind) {
        accessLog(ctx, req, 404);
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: 'Not Found' }));
        return;
      }
      if (method !== 'POST') {
        accessLog(ctx, req, 405);
        res.writeHead(405, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: 'Method Not Allowed' }));
        return;
      }
      if (!ctx.healthy())
        throw {
          status: 503,
          type: 'ServiceUnavailableError',
          message: 'The engine is not healthy (thorbench simulator fault never-healthy).',
        };
      const body = await readBody(req);
      if (body === null || typeof body !== 'object' || Array.isArray(body))
        throw bad('the request body must be a JSON object');
      const b = body as Record<string, unknown>;
      const prompt = kind === 'chat' ? chatPrompt(b) : completionPrompt(b);
      if (typeof prompt === 'object' && !Array.isArray(prompt)) throw prompt;
      const g = commonFields(ctx, b, prompt, kind === 'completion' ? 16 : undefined);
      if ('status' in g) throw g;
      if (!served) {
        served = true;
        if (ctx.beforeFirstCompletion()) {
          throw {
            status: 500,
            type: 'InternalServerError',
            message: 'EngineCore encountered an issue. See stack trace (above) for the root cause.',
          };
        }
      }
      generate(ctx, req, res, g, kind, arrivedAt);
    };
    route().catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e = err as Partial<HttpError>;
      if (typeof e?.status === 'number') sendError(ctx, req, res, e as HttpError);
      else
        sendError(ctx, req, res, {
          status: 500,
          type: 'InternalServerError',
          message: `thorbench simulator: ${(err as Error)?.message ?? String(err)}`,
        });
    });
  };
}
