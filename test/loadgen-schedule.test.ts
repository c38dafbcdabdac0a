/**
 * The load generator's pure parts: seeded randomness, prompts, vLLM's arrival schedule, SSE framing, the semaphore.
 * Everything here is deterministic (fixed seeds), so statistical checks cannot flake.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveSeed, gamma, mulberry32 } from '../activities/harness/prng.js';
import { generatePrompts, PROMPT_TOKEN_MAX, PROMPT_TOKEN_MIN, promptTokens } from '../activities/harness/prompts.js';
import { arrivalSchedule } from '../activities/harness/schedule.js';
import { Semaphore } from '../activities/harness/semaphore.js';
import { interpretSseMessage, SseSplitter } from '../activities/harness/sse.js';

function moments(xs: number[]): { mean: number; cv: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, cv: Math.sqrt(variance) / mean };
}

describe('prng', () => {
  it('is reproducible per seed and differs between seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xa = Array.from({ length: 5 }, a);
    assert.deepEqual(xa, Array.from({ length: 5 }, b));
    assert.notDeepEqual(xa, Array.from({ length: 5 }, c));
    assert.ok(xa.every((x) => x >= 0 && x < 1));
    assert.notEqual(deriveSeed(0, 0), deriveSeed(0, 1));
    assert.notEqual(deriveSeed(0, -1), deriveSeed(0, 0));
  });

  it('draws gamma variates with mean shape·scale and CV 1/√shape', () => {
    for (const shape of [0.5, 1, 4]) {
      const random = mulberry32(7);
      const xs = Array.from({ length: 20000 }, () => gamma(random, shape, 2));
      const { mean, cv } = moments(xs);
      assert.ok(Math.abs(mean - 2 * shape) / (2 * shape) < 0.03, `shape ${shape}: mean ${mean}`);
      assert.ok(Math.abs(cv - 1 / Math.sqrt(shape)) < 0.05, `shape ${shape}: cv ${cv}`);
      assert.ok(xs.every((x) => x > 0));
    }
    assert.throws(() => gamma(mulberry32(1), 0, 1), RangeError);
  });
});

describe('prompts', () => {
  it('are exact-length token ids in range, reproducible for a seed', () => {
    const a = generatePrompts({ numPrompts: 4, inputLen: 2048, seed: 0 });
    assert.equal(a.length, 4);
    for (const p of a) {
      assert.equal(p.length, 2048);
      assert.ok(p.every((t) => Number.isInteger(t) && t >= PROMPT_TOKEN_MIN && t < PROMPT_TOKEN_MAX));
    }
    assert.deepEqual(generatePrompts({ numPrompts: 4, inputLen: 2048, seed: 0 }), a);
    assert.notDeepEqual(generatePrompts({ numPrompts: 4, inputLen: 2048, seed: 1 }), a);
    assert.notDeepEqual(a[0], a[1]);
  });

  it('do not depend on how many prompts there are', () => {
    assert.deepEqual(promptTokens(3, 7, 16), generatePrompts({ numPrompts: 10, inputLen: 16, seed: 3 })[7]);
  });
});

describe('arrivalSchedule', () => {
  it('sends everything at t = 0 when the rate is inf', () => {
    assert.deepEqual(arrivalSchedule({ numPrompts: 4 }), [0, 0, 0, 0]);
    assert.deepEqual(arrivalSchedule({ numPrompts: 3, requestRate: Infinity }), [0, 0, 0]);
  });

  it('rescales Poisson arrivals so the last one is exactly N/rate', () => {
    const s = arrivalSchedule({ numPrompts: 5000, requestRate: 10, seed: 0 });
    assert.equal(s.length, 5000);
    assert.ok(Math.abs(s[s.length - 1]! - 500) < 1e-9, `last ${s[s.length - 1]}`);
    const gaps = s.map((t, i) => t - (i === 0 ? 0 : s[i - 1]!));
    assert.ok(gaps.every((g) => g >= 0));
    const { mean, cv } = moments(gaps);
    assert.ok(Math.abs(mean - 0.1) < 1e-9);
    assert.ok(Math.abs(cv - 1) < 0.05, `cv ${cv}`);
  });

  it('makes arrivals more regular with higher burstiness, constant at burstiness inf', () => {
    const s = arrivalSchedule({ numPrompts: 5000, requestRate: 20, burstiness: 4, seed: 3 });
    const gaps = s.map((t, i) => t - (i === 0 ? 0 : s[i - 1]!));
    assert.ok(Math.abs(moments(gaps).cv - 0.5) < 0.03);
    assert.ok(Math.abs(s[s.length - 1]! - 250) < 1e-9);
    const even = arrivalSchedule({ numPrompts: 4, requestRate: 2, burstiness: Infinity });
    even.forEach((t, i) => assert.ok(Math.abs(t - (i + 1) / 2) < 1e-12));
  });

  it('is reproducible per seed', () => {
    const a = arrivalSchedule({ numPrompts: 50, requestRate: 5, seed: 9 });
    assert.deepEqual(arrivalSchedule({ numPrompts: 50, requestRate: 5, seed: 9 }), a);
    assert.notDeepEqual(arrivalSchedule({ numPrompts: 50, requestRate: 5, seed: 10 }), a);
  });

  it('rejects impossible parameters', () => {
    assert.throws(() => arrivalSchedule({ numPrompts: 2, requestRate: 0 }), /requestRate/);
    assert.throws(() => arrivalSchedule({ numPrompts: 2, requestRate: 1, burstiness: -1 }), /burstiness/);
    assert.throws(() => arrivalSchedule({ numPrompts: 1.5 }), /numPrompts/);
  });
});

describe('SSE framing', () => {
  it('splits on blank lines, joins messages split across reads, accepts CRLF', () => {
    const sse = new SseSplitter();
    assert.deepEqual(sse.push('data: {"a":'), []);
    assert.deepEqual(sse.push('1}\n\ndata: {"b":2}\r\n\r\n: ping\n\n'), ['data: {"a":1}', 'data: {"b":2}', ': ping']);
  });

  it('emits a trailing data message without its blank line once its JSON is complete (as vLLM does)', () => {
    const sse = new SseSplitter();
    assert.deepEqual(sse.push('data: {"x":[1,'), []);
    assert.deepEqual(sse.push('2]}'), ['data: {"x":[1,2]}']);
    assert.deepEqual(sse.push('\n\ndata: [DONE]'), ['data: [DONE]']);
  });

  it('interprets comments, [DONE], data and garbage', () => {
    assert.deepEqual(interpretSseMessage(': keep-alive'), { kind: 'skip' });
    assert.deepEqual(interpretSseMessage('event: ping'), { kind: 'skip' });
    assert.deepEqual(interpretSseMessage('data: [DONE]'), { kind: 'done' });
    assert.deepEqual(interpretSseMessage('data:{"choices":[]}'), { kind: 'data', data: { choices: [] } });
    assert.throws(() => interpretSseMessage('data: {oops'), /malformed SSE data/);
  });
});

describe('Semaphore', () => {
  it('grants permits in order and hands a released permit to the next waiter', async () => {
    const sem = new Semaphore(1);
    const order: string[] = [];
    assert.equal(await sem.acquire(), true);
    const second = sem.acquire().then((ok) => order.push(`second:${ok}`));
    const third = sem.acquire().then((ok) => order.push(`third:${ok}`));
    sem.release();
    await second;
    sem.release();
    await third;
    assert.deepEqual(order, ['second:true', 'third:true']);
  });

  it('gives up a wait when aborted, without taking a permit', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    const ac = new AbortController();
    const waiting = sem.acquire(ac.signal);
    ac.abort();
    assert.equal(await waiting, false);
    sem.release();
    assert.equal(await sem.acquire(), true);
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
