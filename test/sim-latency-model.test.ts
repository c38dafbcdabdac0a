/**
 * The simulator's scheduler (sim/batch-engine.ts), step costs (sim/latency-model.ts) and virtual runs
 * (sim/virtual-run.ts), piece by piece. test/sim-fidelity.test.ts checks the whole against the guide.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchEngine, type StepPolicy } from '../sim/batch-engine.js';
import { parseBlockName, readGuideBlocks } from '../sim/guide-blocks.js';
import { type LatencyParams, latencyParams, modelScaleFromPath, stepCostMs } from '../sim/latency-model.js';
import { eosPositions, promptLengths, runVirtual } from '../sim/virtual-run.js';

const flat: StepPolicy = { costMs: () => 1 };
const engine = (maxNumBatchedTokens = 2048, maxNumSeqs = 256): BatchEngine =>
  new BatchEngine({ maxNumSeqs, maxNumBatchedTokens });

describe('scheduler (vLLM V1-like)', () => {
  it('gives every decoding sequence one token per step and stops at max_tokens', () => {
    const e = engine();
    const a = e.add({ promptTokens: 10, maxTokens: 3, eosAfter: Infinity });
    const tokens: number[] = [];
    let finish: string | null = null;
    while (!e.idle) {
      for (const ev of e.step(flat).events) {
        if (ev.id === a) tokens.push(ev.index);
        if (ev.finishReason) finish = ev.finishReason;
      }
    }
    assert.deepEqual(tokens, [1, 2, 3]);
    assert.equal(finish, 'length');
  });

  it('ends a sequence at its EOS with finish reason "stop"', () => {
    const e = engine();
    e.add({ promptTokens: 5, maxTokens: 10, eosAfter: 4 });
    const events = [];
    while (!e.idle) events.push(...e.step(flat).events);
    assert.equal(events.length, 4);
    assert.equal(events.at(-1)?.finishReason, 'stop');
  });

  it('spends the token budget on decodes first, then chunks prompts into what is left', () => {
    const e = engine(1000);
    for (let i = 0; i < 3; i++) e.add({ promptTokens: 10, maxTokens: 50, eosAfter: Infinity });
    assert.deepEqual(e.step(flat).shape, { decoding: 0, contextTokens: 0, prefillTokens: 30, prefilling: 3 });
    e.add({ promptTokens: 2500, maxTokens: 5, eosAfter: Infinity });
    const shapes = [e.step(flat).shape, e.step(flat).shape, e.step(flat).shape];
    // 3 decodes take 3 tokens of the budget; the 2500-token prompt is computed over three steps.
    assert.deepEqual(
      shapes.map((s) => [s.decoding, s.prefillTokens]),
      [
        [3, 997],
        [3, 997],
        [3, 506],
      ],
    );
    assert.equal(e.decoding, 4);
  });

  it('admits several short prompts in one step, up to the budget and --max-num-seqs', () => {
    const e = engine(2048, 5);
    for (let i = 0; i < 8; i++) e.add({ promptTokens: 100, maxTokens: 2, eosAfter: Infinity });
    const first = e.step(flat);
    assert.equal(first.shape.prefilling, 5);
    assert.equal(first.events.length, 5);
    assert.equal(e.prefilling, 3);
  });

  it('serves a repeated prompt from the prefix cache: only its last block is computed', () => {
    const e = engine();
    e.add({ promptTokens: 2048, maxTokens: 1, eosAfter: Infinity, promptKey: 42 });
    assert.equal(e.step(flat).shape.prefillTokens, 2048);
    e.add({ promptTokens: 2048, maxTokens: 1, eosAfter: Infinity, promptKey: 42 });
    assert.equal(e.step(flat).shape.prefillTokens, 16);
    e.add({ promptTokens: 2048, maxTokens: 1, eosAfter: Infinity, promptKey: 43 });
    assert.equal(e.step(flat).shape.prefillTokens, 2048);
    const small = new BatchEngine({ maxNumSeqs: 8, maxNumBatchedTokens: 8192, prefixCacheTokens: 0 });
    small.add({ promptTokens: 100, maxTokens: 1, eosAfter: Infinity, promptKey: 1 });
    small.step(flat);
    small.add({ promptTokens: 100, maxTokens: 1, eosAfter: Infinity, promptKey: 1 });
    assert.equal(small.step(flat).shape.prefillTokens, 100, 'prefix cache off');
  });

  it('forgets cancelled requests', () => {
    const e = engine();
    const id = e.add({ promptTokens: 5, maxTokens: 10, eosAfter: Infinity });
    assert.equal(e.cancel(id), true);
    assert.equal(e.idle, true);
    assert.equal(e.cancel(id), false);
  });
});

describe('step costs', () => {
  const p: LatencyParams = latencyParams({ quantization: 'fp8', powerModeId: 0, clocksLocked: true });

  it('grow with batch, context and prompt tokens', () => {
    const one = stepCostMs(p, { decoding: 1, contextTokens: 2112, prefillTokens: 0, prefilling: 0 });
    assert.ok(stepCostMs(p, { decoding: 8, contextTokens: 8 * 2112, prefillTokens: 0, prefilling: 0 }) > one);
    assert.ok(stepCostMs(p, { decoding: 1, contextTokens: 16000, prefillTokens: 0, prefilling: 0 }) > one);
    assert.ok(stepCostMs(p, { decoding: 1, contextTokens: 2112, prefillTokens: 100, prefilling: 1 }) > one);
    assert.equal(stepCostMs(p, { decoding: 0, contextTokens: 0, prefillTokens: 0, prefilling: 0 }), p.stepBaseMs);
  });

  it('keep the guide ordering: jetson_clocks helps at MAXN, FP8 beats BF16, 90 W is slower than 120 W', () => {
    const tpot = (quantization: 'fp8' | 'bf16', powerModeId: number, clocksLocked: boolean): number =>
      runVirtual(latencyParams({ quantization, powerModeId, clocksLocked }), {
        inputLen: 2048,
        outputLen: 128,
        numPrompts: 3,
        maxConcurrency: 1,
        ignoreEos: true,
      }).metrics.mean_tpot_ms;
    assert.ok(tpot('fp8', 0, true) < tpot('fp8', 0, false));
    assert.ok(tpot('fp8', 0, true) < tpot('bf16', 0, true));
    assert.ok(tpot('fp8', 2, false) > tpot('fp8', 1, false));
    assert.ok(tpot('fp8', 3, false) > tpot('fp8', 2, false));
  });

  it('read model sizes from paths and pick the calibration of the engine family', () => {
    assert.equal(modelScaleFromPath('/models/Qwen/Qwen3-8B-FP8').tag, '8B');
    const moe = modelScaleFromPath('/models/Qwen/Qwen3-Coder-30B-A3B-Instruct');
    assert.deepEqual([moe.totalB, moe.activeB, moe.tag], [30, 3, '30B-A3B']);
    assert.equal(modelScaleFromPath('/models/some-model').totalB, 8);
    assert.equal(modelScaleFromPath('/models/Qwen/Qwen3-32B').stepBase, 4);
    const old = latencyParams({
      quantization: 'awq',
      powerModeId: 0,
      clocksLocked: true,
      image: 'nvcr.io/nvidia/tritonserver:25.08-vllm-python-py3',
    });
    const recent = latencyParams({
      quantization: 'awq',
      powerModeId: 0,
      clocksLocked: true,
      image: 'nvcr.io/nvidia/vllm:25.09-py3',
    });
    assert.notDeepEqual(old, recent);
    // An uncalibrated size scales from the 8B calibration: a 32B model is slower.
    const fp8 = (modelPath: string): number =>
      latencyParams({ quantization: 'fp8', powerModeId: 0, clocksLocked: true, modelPath }).stepBaseMs;
    assert.ok(fp8('/models/Qwen/Qwen3-32B-FP8') > fp8('/models/Qwen/Qwen3-8B-FP8'));
  });
});

describe('virtual runs', () => {
  it('reproduce a run for a seed', () => {
    const params = latencyParams({ quantization: 'fp8', powerModeId: 0, clocksLocked: true });
    const scenario = { inputLen: 512, outputLen: 32, numPrompts: 20, maxConcurrency: 4 };
    const a = runVirtual(params, scenario, { jitter: 0.03, jitterSeed: 5 });
    const b = runVirtual(params, scenario, { jitter: 0.03, jitterSeed: 5 });
    const c = runVirtual(params, scenario, { jitter: 0.03, jitterSeed: 6 });
    assert.deepEqual(a.metrics, b.metrics);
    assert.notEqual(a.metrics.mean_itl_ms, c.metrics.mean_itl_ms);
    assert.equal(a.records.length, 20);
  });

  it('keep at most maxConcurrency requests in flight and follow the request rate', () => {
    const params = latencyParams({ quantization: 'fp8', powerModeId: 0, clocksLocked: true });
    const run = runVirtual(params, {
      inputLen: 256,
      outputLen: 16,
      numPrompts: 30,
      maxConcurrency: 3,
      ignoreEos: true,
    });
    const spans = run.records.map((r) => [r.startS, r.startS + r.latencyS] as const);
    for (const [s] of spans) assert.ok(spans.filter(([a, b]) => a <= s && s < b - 1e-9).length <= 3);
    const paced = runVirtual(params, { inputLen: 256, outputLen: 16, numPrompts: 40, requestRate: 2, ignoreEos: true });
    assert.ok(Math.abs(paced.records.at(-1)!.startS - 20) < 1e-6, 'the last request is sent at N / rate');
  });

  it('take known prompt lengths, and stop as few requests as possible early to match recorded totals', () => {
    assert.deepEqual(promptLengths({ inputLen: 2048, outputLen: 1, numPrompts: 2 }), [2048, 2048]);
    assert.deepEqual(
      promptLengths({ inputLen: 2048, outputLen: 1, numPrompts: 2, inputLens: [1999, 2048, 7] }),
      [1999, 2048],
    );
    assert.throws(() => promptLengths({ inputLen: 2048, outputLen: 1, numPrompts: 2, inputLens: [1999] }));
    const eos = eosPositions({ inputLen: 8, outputLen: 128, numPrompts: 100, generatedTokens: 12419 });
    assert.equal(
      eos.reduce((sum, e) => sum + Math.min(128, e), 0),
      12419,
    );
    // 381 missing tokens: three requests answer with one token, as in the guide.
    assert.deepEqual(
      eos.filter((e) => e < 128),
      [1, 1, 1],
    );
    // 408 missing: the fewest requests that can lose them (four), three after one token, the first with the rest.
    const partial = eosPositions({ inputLen: 8, outputLen: 128, numPrompts: 100, generatedTokens: 12392 });
    assert.deepEqual(
      partial.filter((e) => e < 128),
      [101, 1, 1, 1],
    );
    assert.ok(
      eosPositions({ inputLen: 8, outputLen: 128, numPrompts: 5, ignoreEos: true }).every((e) => e === Infinity),
    );
  });
});

describe('guide blocks', () => {
  it('finds all 43 result blocks with the guide command lines', () => {
    const blocks = readGuideBlocks();
    assert.equal(blocks.length, 43);
    assert.equal(blocks.filter((b) => b.sweep === 'scenarios').length, 15);
    const gptq = blocks.find((b) => b.name === 'quantization__qwen3-8b-gptq-int4.maxn-clocks.high-load')!;
    assert.equal(gptq.scenario.numPrompts, 200);
    assert.equal(gptq.expected.completed, 200);
    for (const b of blocks) {
      assert.equal(b.expected.completed, b.scenario.numPrompts, b.name);
      // The prompt lengths reproduce the guide's input-token totals exactly (scripts/guide-prompt-lengths.py).
      assert.equal(
        b.scenario.inputLens?.reduce((sum, x) => sum + x, 0),
        b.expected.total_input_tokens,
        b.name,
      );
    }
    assert.deepEqual(parseBlockName('power-clocks__qwen3-8b-fp8.120w.low-load')?.scenario, {
      inputLen: 2048,
      outputLen: 128,
      numPrompts: 10,
      maxConcurrency: 1,
      warmedBy: [{ numPrompts: 100 }],
    });
  });
});
