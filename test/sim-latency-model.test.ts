/**
 * The simulator's latency model against the guide's measurements (pure: virtual clock, no timers).
 * Targets are read from the fixtures the guide's tables were transcribed into, not restated here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchEngine, type StepPolicy } from '../sim/batch-engine.js';
import { GUIDE_HIGH_LOAD, GUIDE_LOW_LOAD, defaultFixturesDir, fitTarget, parseGuideFixtureName, readGuideTargets } from '../sim/latency-calibration.js';
import { latencyParams, modelScaleFromPath, predictScenario, stepCostMs } from '../sim/latency-model.js';

const TOLERANCE = 0.15;
const targets = readGuideTargets(defaultFixturesDir());

function within(actual: number, expected: number, what: string): void {
  const rel = Math.abs(actual / expected - 1);
  assert.ok(rel <= TOLERANCE, `${what}: predicted ${actual.toFixed(2)} ms vs guide ${expected} ms (${(rel * 100).toFixed(1)} % off, tolerance ${TOLERANCE * 100} %)`);
}

describe('latency model vs the guide', () => {
  it('finds every quantization and power/clocks cell of the guide in the fixtures', () => {
    const keys = targets.map((t) => t.key);
    for (const q of ['bf16', 'fp8', 'fp4', 'gptq-int4', 'gptq-int8', 'awq', 'int4-w4a16', 'int8-w8a16', 'gguf-q5km']) {
      assert.ok(keys.includes(`qwen3-8b-${q}.maxn-clocks`), `missing quantization cell ${q}`);
    }
    for (const p of ['maxn', 'maxn-clocks', '120w', '120w-clocks']) assert.ok(keys.includes(`qwen3-8b-fp8.${p}`), `missing power cell ${p}`);
  });

  for (const t of targets) {
    it(`${t.key}: mean TTFT and TPOT within ${TOLERANCE * 100} % at low and high load`, () => {
      const params = latencyParams({ quantization: t.quantization, powerModeId: t.powerModeId, clocksLocked: t.clocksLocked, modelPath: t.model });
      const low = predictScenario(params, GUIDE_LOW_LOAD, { jitter: 0.03, seed: 11 });
      const high = predictScenario(params, GUIDE_HIGH_LOAD, { jitter: 0.03, seed: 11 });
      within(low.meanTtftMs, t.low.meanTtftMs, 'low-load TTFT');
      within(low.meanTpotMs, t.low.meanTpotMs, 'low-load TPOT');
      within(high.meanTtftMs, t.high.meanTtftMs, 'high-load TTFT');
      within(high.meanTpotMs, t.high.meanTpotMs, 'high-load TPOT');
    });
  }

  it('keeps the guide ordering: jetson_clocks helps at MAXN, FP8 beats BF16, 90 W is slower than 120 W', () => {
    const tpot = (quantization: 'fp8' | 'bf16', powerModeId: number, clocksLocked: boolean): number =>
      predictScenario(latencyParams({ quantization, powerModeId, clocksLocked }), GUIDE_LOW_LOAD).meanTpotMs;
    assert.ok(tpot('fp8', 0, true) < tpot('fp8', 0, false));
    assert.ok(tpot('fp8', 0, true) < tpot('bf16', 0, true));
    assert.ok(tpot('fp8', 2, false) > tpot('fp8', 1, false));
    assert.ok(tpot('fp8', 3, false) > tpot('fp8', 2, false));
  });

  it('is reproducible for a seed and varies across seeds', () => {
    const params = latencyParams({ quantization: 'fp8', powerModeId: 0, clocksLocked: true });
    const a = predictScenario(params, GUIDE_HIGH_LOAD, { jitter: 0.03, seed: 5 });
    const b = predictScenario(params, GUIDE_HIGH_LOAD, { jitter: 0.03, seed: 5 });
    const c = predictScenario(params, GUIDE_HIGH_LOAD, { jitter: 0.03, seed: 6 });
    assert.deepEqual(a, b);
    assert.notEqual(a.meanTpotMs, c.meanTpotMs);
  });

  it('re-fitting reproduces the shipped constants closely (calibration is not stale)', () => {
    const fp8 = targets.find((t) => t.key === 'qwen3-8b-fp8.maxn-clocks')!;
    const fit = fitTarget(fp8);
    const shipped = latencyParams({ quantization: 'fp8', powerModeId: 0, clocksLocked: true });
    assert.ok(fit.error < 0.05, `fit error ${fit.error}`);
    assert.ok(Math.abs(fit.params.stepBaseMs / shipped.stepBaseMs - 1) < 0.05, `step base ${fit.params.stepBaseMs} vs shipped ${shipped.stepBaseMs}`);
    assert.ok(Math.abs(fit.params.prefillChunkTokens - shipped.prefillChunkTokens) <= 3);
  });
});

describe('latency model pieces', () => {
  it('step cost grows with batch, context and prefill tokens', () => {
    const p = latencyParams({ quantization: 'awq', powerModeId: 0, clocksLocked: true });
    const one = stepCostMs(p, { decoding: 1, contextTokens: 2112, prefillTokens: 0 });
    assert.ok(stepCostMs(p, { decoding: 8, contextTokens: 8 * 2112, prefillTokens: 0 }) > one);
    assert.ok(stepCostMs(p, { decoding: 1, contextTokens: 16000, prefillTokens: 0 }) > one);
    assert.ok(stepCostMs(p, { decoding: 1, contextTokens: 2112, prefillTokens: 100 }) > one);
    assert.equal(stepCostMs(p, { decoding: 0, contextTokens: 0, prefillTokens: 0 }), p.stepBaseMs);
  });

  it('reads model sizes from paths', () => {
    assert.deepEqual([modelScaleFromPath('/models/Qwen/Qwen3-8B-FP8').totalB, modelScaleFromPath('/models/Qwen/Qwen3-8B-FP8').stepBase], [8, 1]);
    const moe = modelScaleFromPath('/models/Qwen/Qwen3-Coder-30B-A3B-Instruct');
    assert.equal(moe.totalB, 30);
    assert.equal(moe.activeB, 3);
    assert.ok(moe.stepBase < 1);
    assert.equal(modelScaleFromPath('/models/some-model').totalB, 8);
    assert.equal(modelScaleFromPath('/models/Qwen/Qwen3-32B').stepBase, 4);
  });

  it('parses fixture names', () => {
    assert.deepEqual(parseGuideFixtureName('power-clocks__qwen3-8b-fp8.120w-clocks.high-load.expected.json'), {
      sweep: 'power-clocks',
      model: 'qwen3-8b-fp8',
      quantization: 'fp8',
      powerModeId: 1,
      clocksLocked: true,
      load: 'high-load',
    });
    assert.equal(parseGuideFixtureName('quantization__qwen3-8b-gguf-q5km.maxn-clocks.low-load.expected.json')?.quantization, 'gguf');
    assert.equal(parseGuideFixtureName('scenarios__qwen3-8b-awq.chat.expected.json'), undefined);
  });
});

describe('BatchEngine', () => {
  const flat: StepPolicy = { prefillChunkTokens: 100, costMs: () => 1 };

  it('gives every decoding sequence one token per step and stops at max_tokens', () => {
    const e = new BatchEngine({ maxNumSeqs: 256, maxNumBatchedTokens: 8192 });
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
    const e = new BatchEngine({ maxNumSeqs: 256, maxNumBatchedTokens: 8192 });
    e.add({ promptTokens: 5, maxTokens: 10, eosAfter: 4 });
    const events = [];
    while (!e.idle) events.push(...e.step(flat).events);
    assert.equal(events.length, 4);
    assert.equal(events.at(-1)?.finishReason, 'stop');
  });

  it('chunks a prompt while others decode, and prefills it whole when idle', () => {
    const e = new BatchEngine({ maxNumSeqs: 256, maxNumBatchedTokens: 8192 });
    e.add({ promptTokens: 1000, maxTokens: 50, eosAfter: Infinity });
    const first = e.step(flat);
    assert.equal(first.shape.prefillTokens, 1000);
    e.add({ promptTokens: 250, maxTokens: 5, eosAfter: Infinity });
    const shapes = [e.step(flat).shape, e.step(flat).shape, e.step(flat).shape];
    assert.deepEqual(
      shapes.map((s) => s.prefillTokens),
      [100, 100, 50],
    );
    assert.equal(e.decoding, 2);
  });

  it('forgets cancelled requests', () => {
    const e = new BatchEngine({ maxNumSeqs: 256, maxNumBatchedTokens: 8192 });
    const id = e.add({ promptTokens: 5, maxTokens: 10, eosAfter: Infinity });
    assert.equal(e.cancel(id), true);
    assert.equal(e.idle, true);
    assert.equal(e.cancel(id), false);
  });
});
