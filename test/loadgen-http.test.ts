/**
 * The builtin load generator against a tiny in-test SSE server: request bookkeeping (TTFT, ITL, latency, usage),
 * failures recorded rather than thrown, the concurrency cap seen from the server side, seeded prompts, abort.
 * Timing assertions are lower bounds only (a delay the server inserted), so a slow machine cannot fail them.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InitialRequestError, runLoad, type LoadOptions } from '../activities/harness/loadgen.js';
import { runWarmup } from '../activities/harness/warmup.js';
import { sleep } from './helpers/wait.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => void | Promise<void>;

let server: Server;
let baseUrl: string;
let handler: Handler = (_req, res) => {
  res.end();
};
const bodies: Record<string, unknown>[] = [];

const sse = (res: ServerResponse, data: unknown): boolean => res.write(`data: ${JSON.stringify(data)}\n\n`);
const chunk = (text: string) => ({
  id: 'cmpl-1',
  object: 'text_completion',
  choices: [{ index: 0, text, finish_reason: null }],
});

before(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      bodies.push(body);
      Promise.resolve(handler(req, res, body)).catch((err: unknown) => res.destroy(err as Error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Options for the bookkeeping tests, which count the server's requests: without the untimed initial request. */
function load(overrides: Partial<LoadOptions> = {}): LoadOptions {
  return { baseUrl, model: 'qwen3', inputLen: 32, outputLen: 8, numPrompts: 1, initialRequest: false, ...overrides };
}

/** A stream with a known shape: a ping, then chunks after known delays, two chunks in one write, usage, [DONE]. */
async function knownStream(res: ServerResponse, usage: boolean): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(': ping\n\n');
  await sleep(30);
  sse(res, chunk('Hel'));
  await sleep(20);
  sse(res, chunk('')); // a chunk with empty text still counts for ITL (vLLM: "text could be empty")
  await sleep(20);
  res.write(`data: ${JSON.stringify(chunk('lo'))}\n\ndata: ${JSON.stringify(chunk('!'))}\n\n`);
  if (usage)
    sse(res, { id: 'cmpl-1', choices: [], usage: { prompt_tokens: 32, completion_tokens: 7, total_tokens: 39 } });
  res.end('data: [DONE]\n\n');
}

describe('one request', () => {
  it("sends vLLM's completion body and books TTFT, one ITL per chunk, latency and usage tokens", async () => {
    bodies.length = 0;
    handler = (_req, res) => knownStream(res, true);
    const { requests } = await runLoad(load());
    const [r] = requests;
    assert.ok(r);
    assert.equal(r.success, true, r.error ?? '');
    assert.equal(r.error, null);
    assert.equal(r.promptLen, 32);
    assert.equal(r.outputTokens, 7);
    // Arrival times are lower-bounded by the server's delays (30 ms, then 20 + 20 ms); gaps between arrivals are not,
    // since a descheduled client may read two chunks back to back, so only their count and sum are checked.
    assert.ok(r.ttftS >= 0.025, `ttft ${r.ttftS}`);
    assert.equal(r.itlS.length, 3); // '', 'lo', '!' after the first chunk; the usage-only chunk is not one
    assert.ok(r.itlS.every((gap) => gap >= 0));
    assert.ok(r.latencyS >= 0.065, `latency ${r.latencyS}`);
    const fromChunks = r.ttftS + r.itlS.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(r.latencyS - fromChunks) < 1e-9, `latency ${r.latencyS} vs ${fromChunks}`);

    const body = bodies[0]!;
    assert.deepEqual(Object.keys(body).sort(), [
      'ignore_eos',
      'max_tokens',
      'model',
      'prompt',
      'stream',
      'stream_options',
      'temperature',
    ]);
    assert.equal(body.model, 'qwen3');
    assert.equal(body.max_tokens, 8);
    assert.equal(body.temperature, 0);
    assert.equal(body.ignore_eos, true);
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal((body.prompt as number[]).length, 32);
  });

  it('counts chunks with text when the server sends no usage', async () => {
    handler = (_req, res) => knownStream(res, false);
    const { requests } = await runLoad(load());
    assert.equal(requests[0]?.success, true);
    assert.equal(requests[0]?.outputTokens, 3); // 'Hel', 'lo', '!'
  });
});

describe('failures are recorded, never thrown', () => {
  it("records an HTTP 500 with the server's message", async () => {
    handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"engine dead"}');
    };
    const result = await runLoad(load({ numPrompts: 2 }));
    assert.equal(result.requests.length, 2);
    for (const r of result.requests) {
      assert.equal(r.success, false);
      assert.match(r.error ?? '', /HTTP 500.*engine dead/);
    }
  });

  it('records a server that dies mid-stream, keeping the timings it saw', async () => {
    handler = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      sse(res, chunk('a'));
      await sleep(20);
      sse(res, chunk('b'));
      await sleep(20);
      res.socket?.destroy();
    };
    const { requests } = await runLoad(load());
    const r = requests[0]!;
    assert.equal(r.success, false);
    assert.match(r.error ?? '', /terminated|closed|reset|socket/i);
    assert.ok(r.ttftS > 0);
    assert.equal(r.itlS.length, 1);
  });

  it('records a stream without any choices and a malformed stream', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: [DONE]\n\n');
    };
    assert.match((await runLoad(load())).requests[0]?.error ?? '', /Never received a valid chunk/);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {not json\n\n');
    };
    assert.match((await runLoad(load())).requests[0]?.error ?? '', /malformed SSE data/);
  });

  it('records a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { requests } = await runLoad(load({ baseUrl: `http://127.0.0.1:${port}`, numPrompts: 3 }));
    assert.equal(requests.length, 3);
    assert.ok(requests.every((r) => !r.success && /ECONNREFUSED|fetch failed/.test(r.error ?? '')));
  });

  it('records a request that exceeds requestTimeoutMs', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': still thinking\n\n'); // then never answers
    };
    const { requests } = await runLoad(load({ requestTimeoutMs: 100 }));
    assert.equal(requests[0]?.success, false);
    assert.match(requests[0]?.error ?? '', /timed out after 100 ms/);
  });
});

describe('load shape', () => {
  /**
   * Holds every request until `batch` are in flight at once (or no more can come), then answers them all: the server's
   * peak is then exactly the cap when the cap is respected, whatever the machine's speed.
   */
  function batchingServer(total: number, batch: number): { peak: () => number } {
    let inFlight = 0;
    let served = 0;
    let peak = 0;
    let held: (() => void)[] = [];
    handler = async (_req, res) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((release) => {
        held.push(release);
        if (inFlight === batch || served + inFlight === total) {
          const go = held;
          held = [];
          go.forEach((r) => r());
        }
      });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      sse(res, chunk('x'));
      sse(res, { choices: [], usage: { completion_tokens: 1 } });
      inFlight -= 1;
      served += 1;
      res.end('data: [DONE]\n\n');
    };
    return { peak: () => peak };
  }

  it('never has more than maxConcurrency requests in flight, and reaches it', async () => {
    const server = batchingServer(12, 3);
    const progress: { done: number; failed: number; total: number }[] = [];
    const result = await runLoad(load({ numPrompts: 12, maxConcurrency: 3, onProgress: (p) => progress.push(p) }));
    assert.equal(server.peak(), 3);
    assert.equal(result.requests.length, 12);
    assert.ok(result.requests.every((r) => r.success));
    assert.equal(progress.length, 12);
    assert.deepEqual(progress.at(-1), { done: 12, failed: 0, total: 12 });
    assert.ok(result.durationS > 0);
    assert.ok(Math.abs(result.finishedAtMs - result.startedAtMs - result.durationS * 1000) < 0.01); // epoch ms near 1.7e12 keep ~0.2 µs of precision
  });

  it('sends everything at once without a cap (rate inf)', async () => {
    const server = batchingServer(8, 8);
    await runLoad(load({ numPrompts: 8 }));
    assert.equal(server.peak(), 8);
  });

  it('spreads a finite rate over N/rate seconds', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      sse(res, chunk('x'));
      res.end('data: [DONE]\n\n');
    };
    const result = await runLoad(load({ numPrompts: 5, requestRate: 50, seed: 1 }));
    assert.ok(result.durationS >= 0.095, `duration ${result.durationS}`); // last send at exactly 5/50 s
    const starts = result.requests.map((r) => r.startS);
    assert.deepEqual(
      [...starts].sort((a, b) => a - b),
      starts,
    );
  });

  it('sends the same prompts for the same seed and different ones for another seed', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      sse(res, chunk('x'));
      res.end('data: [DONE]\n\n');
    };
    const promptsOf = async (seed: number): Promise<string[]> => {
      bodies.length = 0;
      await runLoad(load({ numPrompts: 4, seed }));
      return bodies.map((b) => JSON.stringify(b.prompt)).sort();
    };
    const a = await promptsOf(5);
    assert.deepEqual(await promptsOf(5), a);
    assert.notDeepEqual(await promptsOf(6), a);
    assert.equal(new Set(a).size, 4);
  });
});

describe('the untimed initial request (vLLM\'s "initial single prompt test run")', () => {
  it('sends prompt 0 once before the timed window, on the connection the timed requests then reuse', async () => {
    const sockets: unknown[] = [];
    const arrivals: number[] = [];
    handler = (req, res) => {
      sockets.push(req.socket);
      arrivals.push(performance.now());
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      sse(res, chunk('x'));
      res.end('data: [DONE]\n\n');
    };
    bodies.length = 0;
    const result = await runLoad(load({ numPrompts: 3, maxConcurrency: 1, initialRequest: true }));
    assert.equal(bodies.length, 4);
    assert.equal(result.requests.length, 3);
    assert.equal(result.initial?.success, true);
    assert.deepEqual(bodies[0]!.prompt, bodies[1]!.prompt, 'the initial request repeats prompt 0, as vLLM does');
    assert.equal(bodies[0]!.max_tokens, 8);
    assert.ok(
      sockets.every((s) => s === sockets[0]),
      "every timed request reused the initial request's connection",
    );
    // Timed start = just before the first timed dispatch, after the initial request was answered.
    assert.ok(result.requests.every((r) => r.startS >= 0));
    assert.ok(result.startedAtMs >= 0 && arrivals.length === 4);
  });

  it('does not start the run when the initial request fails, and says why', async () => {
    handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"engine dead"}');
    };
    bodies.length = 0;
    await assert.rejects(runLoad(load({ numPrompts: 5, initialRequest: true })), (err: unknown) => {
      assert.ok(err instanceof InitialRequestError);
      assert.match(err.message, /Initial test run failed.*HTTP 500.*engine dead/);
      return true;
    });
    assert.equal(bodies.length, 1);
  });
});

describe('abort and warm-up', () => {
  it('stops dispatching, aborts requests in flight and rejects with the reason', async () => {
    const ac = new AbortController();
    let arrived = 0;
    let closedByClient = 0;
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': working\n\n');
      res.on('close', () => (closedByClient += 1));
      arrived += 1;
      if (arrived === 2) ac.abort(new Error('cell cancelled'));
    };
    bodies.length = 0;
    await assert.rejects(runLoad(load({ numPrompts: 10, maxConcurrency: 2, signal: ac.signal })), /cell cancelled/);
    assert.equal(bodies.length, 2); // the other 8 were never sent
    for (let i = 0; i < 50 && closedByClient < 2; i++) await sleep(10);
    assert.equal(closedByClient, 2);
    await assert.rejects(runLoad(load({ signal: ac.signal })), /cell cancelled/);
  });

  it('reports warm-up failures without throwing, and warms up with its own seed', async () => {
    let n = 0;
    handler = (_req, res) => {
      n += 1;
      if (n % 2 === 0) {
        res.writeHead(503);
        res.end('overloaded');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      sse(res, chunk('x'));
      res.end('data: [DONE]\n\n');
    };
    bodies.length = 0;
    const w = await runWarmup(load({ numPrompts: 4, maxConcurrency: 1 }));
    assert.deepEqual(w, { completed: 2, failed: 2, firstError: 'HTTP 503 Service Unavailable: overloaded' });
    const warmupPrompt = JSON.stringify(bodies[0]?.prompt);
    bodies.length = 0;
    n = 0;
    await runLoad(load({ numPrompts: 1 }));
    assert.notEqual(JSON.stringify(bodies[0]?.prompt), warmupPrompt);
  });

  it('rejects impossible options before sending anything', async () => {
    await assert.rejects(runLoad(load({ numPrompts: 0 })), /numPrompts must be a positive integer/);
    await assert.rejects(runLoad(load({ maxConcurrency: 0 })), /maxConcurrency/);
    await assert.rejects(runLoad(load({ baseUrl: 'localhost:8000' })), /baseUrl must be an http/);
  });
});
