/**
 * The simulated Thor against the guide.
 * - Every metric of all 43 result blocks, in virtual time (sim/virtual-run.ts): throughputs and means within 3 %,
 *   medians within 10 %, p99 within 20 %, except where EXCEPTIONS names the block, the metrics and why.
 * - The live engine's code (sim/live-engine.ts) on a simulated clock, on the guide's FP8 and AWQ high-load cells
 *   and the FP8 low-load cell: mean, median and p99 TTFT, TPOT and ITL within 5 %, 15 % and 25 % of the guide
 *   (except what EXCEPTIONS names), and the same as the virtual run. A simulated clock because on a busy two-core
 *   machine real timers add milliseconds of noise to 9 ms steps, which a p99 shows at once.
 * - The live engine as a server (HTTP, real timers, compressed by the device speed) on one short cell, agreeing
 *   loosely with the virtual run.
 * Targets come from the fixtures (fixtures/vllm-bench-text), not restated here.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runLoad } from '../activities/harness/loadgen.js';
import { calculateMetrics } from '../metrics/calculate.js';
import type { RequestRecord } from '../metrics/request-record.js';
import { DEFAULT_MAX_NUM_BATCHED_TOKENS, DEFAULT_MAX_NUM_SEQS } from '../sim/batch-engine.js';
import { ensureSimDevice } from '../sim/device.js';
import { type GuideBlock, readGuideBlocks } from '../sim/guide-blocks.js';
import {
  COMPARED_METRICS,
  STEP_JITTER,
  TOLERANCE,
  blockScenario,
  compareBlock,
  simulateBlock,
} from '../sim/latency-calibration.js';
import { latencyParams } from '../sim/latency-model.js';
import { simLayout } from '../sim/layout.js';
import { LiveEngine, type Timers } from '../sim/live-engine.js';
import { jitterSource } from '../sim/prng.js';
import { updateDeviceState } from '../sim/sim-state.js';
import { freePort } from './helpers/net.js';
import { destroySimDevice, waitForHealthy } from './helpers/sim-device.js';
import { type VirtualScenario, eosPositions, promptKey, promptLengths, runVirtual } from '../sim/virtual-run.js';

// Why blocks miss targets (the metrics concerned are listed per block in EXCEPTIONS).
const FIRST_TOKEN_STEPS =
  'Under load a 2048-token prompt beside 7 decodes needs two steps, so a request gets its first token 2 prompt steps ' +
  'after it is admitted, or 3 when it also waits for the prompt before it; which of the two the median lands on ' +
  "depends on how the 8 slots' requests line up, and early stops realign them. The guide records only how many " +
  'tokens were not generated, not which requests stopped: its W4A16, W8A16, BF16 and GPTQ-Int8 runs lost the same ' +
  '381 tokens and their median TTFT is 3.0, 2.8, 2.7 and 2.2 prompt steps. Where the simulator lands on the other ' +
  'side than the guide, the fit trades the decode step (median ITL) against the TTFT it cannot reach.';
const FP4_BURST =
  "The guide's p99 TTFT (the initial burst of 8 requests) is 1936 ms, 9.2 of its 211 ms prompt steps, where every " +
  'other block shows 6 (the 7th request of the burst waits for 6 prompts): something outside the scheduler slowed ' +
  "this run's first prompts.";
const SCENARIOS =
  'One step model per engine has to serve chat (128/64), throughput (256/512) and long context (1024/128) with 1000 ' +
  'requests at once (vLLM 0.9.2). Even with its context dependence fitted per engine, the simulated chat TTFT comes ' +
  "out up to 35 % high and long-context TPOT up to 25 % low: the step model does not capture how this engine's step " +
  'cost depends on batch, context and prompt tokens together, and the fit splits the difference.';

/**
 * Blocks whose targets the simulator does not reach, the metrics concerned, and why. A block's marks stand for the
 * metrics in the order of COMPARED_METRICS, an `x` for each one missed: duration and the request, output and total
 * token throughputs; then mean, median and p99 of TTFT; of TPOT; of ITL.
 */
// prettier-ignore
const EXCEPTIONS = exceptions([
  //                                                          thru TTFT TPOT ITL
  ['quantization__qwen3-8b-fp4.maxn-clocks.high-load',       '.... .xx ... ...', `${FP4_BURST} ${FIRST_TOKEN_STEPS}`],
  ['quantization__qwen3-8b-gptq-int4.maxn-clocks.high-load', '.... x.. ... xx.', FIRST_TOKEN_STEPS],
  ['quantization__qwen3-8b-gptq-int8.maxn-clocks.high-load', '.... .x. ... .x.', FIRST_TOKEN_STEPS],
  ['scenarios__qwen3-8b-awq.chat',                           'xxxx xx. x.. xxx', SCENARIOS],
  ['scenarios__qwen3-8b-awq.long-context',                   'xxxx ... x.. xx.', SCENARIOS],
  ['scenarios__qwen3-8b-awq.throughput',                     'xxxx xx. x.. xx.', SCENARIOS],
  ['scenarios__qwen3-8b-bf16.chat',                          'xxxx x.. x.. xx.', SCENARIOS],
  ['scenarios__qwen3-8b-bf16.long-context',                  'xxxx xxx xxx xxx', SCENARIOS],
  ['scenarios__qwen3-8b-bf16.throughput',                    'xxxx xx. xx. xx.', SCENARIOS],
  ['scenarios__qwen3-8b-int4-w4a16.chat',                    'xxxx xx. x.. xx.', SCENARIOS],
  ['scenarios__qwen3-8b-int4-w4a16.long-context',            'xxxx x.. xx. xx.', SCENARIOS],
  ['scenarios__qwen3-8b-int4-w4a16.throughput',              'xxxx xx. x.. xx.', SCENARIOS],
  ['scenarios__qwen3-coder-30b-a3b-fp8.chat',                '.... xx. ... .xx', SCENARIOS],
  ['scenarios__qwen3-coder-30b-a3b-fp8.long-context',        'xxxx ... xx. xxx', SCENARIOS],
  ['scenarios__qwen3-coder-30b-a3b-fp8.throughput',          '.... xx. ... .x.', SCENARIOS],
  ['scenarios__qwen3-coder-30b-a3b-int4-w4a16.chat',         'xxxx xxx xx. xxx', SCENARIOS],
  ['scenarios__qwen3-coder-30b-a3b-int4-w4a16.long-context', 'xxxx x.. xxx xxx', SCENARIOS],
  ['scenarios__qwen3-coder-30b-a3b-int4-w4a16.throughput',   '.... xx. ... ...', SCENARIOS],
]);

function exceptions(
  rows: readonly (readonly [string, string, string])[],
): Record<string, { metrics: string[]; reason: string }> {
  return Object.fromEntries(
    rows.map(([block, marks, reason]) => {
      const flags = marks.replace(/ /g, '');
      assert.equal(flags.length, COMPARED_METRICS.length, `EXCEPTIONS: ${block} needs a mark per compared metric`);
      return [block, { metrics: COMPARED_METRICS.filter((_, i) => flags[i] === 'x').map((m) => m.key), reason }];
    }),
  );
}

const blocks = readGuideBlocks();

describe('the simulator against all 43 guide blocks, in virtual time', () => {
  it('reads 43 blocks', () => assert.equal(blocks.length, 43));

  for (const block of blocks) {
    it(block.name, () => {
      const diffs = compareBlock(block, simulateBlock(block));
      const off = diffs.filter((d) => !d.ok);
      const allowed = EXCEPTIONS[block.name];
      const unexplained = off.filter((d) => !allowed?.metrics.includes(d.key));
      assert.deepEqual(
        unexplained.map(
          (d) =>
            `${d.key}: sim ${d.sim.toFixed(2)} vs guide ${d.guide} (${(d.rel * 100).toFixed(1)} %, target ${TOLERANCE[d.cls] * 100} %)`,
        ),
        [],
      );
      if (allowed) assert.ok(off.length > 0, `${block.name} meets every target now: remove it from EXCEPTIONS`);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The live engine's own code (sim/live-engine.ts: front-end timers, step timeline, token delivery) on a simulated
// clock, driven by a client that behaves like vllm bench serve. Deterministic: this is how the guide cells are
// checked against the live engine without the timing noise of a busy two-core machine.

class SimClock implements Timers {
  now = 0;
  private seq = 0;
  private queue: { at: number; seq: number; fn: () => void }[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { at: this.now + Math.max(0, ms), seq: ++this.seq, fn };
    this.queue.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter((t) => t !== handle);
  }

  /** Fires timers in time order until none is left. */
  run(): void {
    while (this.queue.length > 0) {
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const t = this.queue.shift()!;
      this.now = Math.max(this.now, t.at);
      t.fn();
    }
  }
}

/** vllm bench serve against a LiveEngine on a SimClock: the untimed test prompt, then the benchmark. */
function clockedRun(engine: LiveEngine, clock: SimClock, scenario: VirtualScenario): Record<string, number> {
  const eos = eosPositions(scenario);
  const lengths = promptLengths(scenario);
  const seed = scenario.seed ?? 0;
  const spec = (i: number) => ({
    promptTokens: lengths[i]!,
    maxTokens: scenario.outputLen,
    eosAfter: eos[i] ?? Infinity,
    promptKey: promptKey(seed, i, scenario.inputLen),
  });
  // The untimed test prompt, as the virtual run sends it (sim/virtual-run.ts): it fills the prefix cache.
  engine.submit({ ...spec(0), maxTokens: 1 }, () => {});
  clock.run();
  const records: RequestRecord[] = [];
  const start = clock.now;
  let next = 0;
  const send = (): void => {
    const i = next++;
    const sent = clock.now;
    let last = sent;
    const record: RequestRecord = {
      success: true,
      error: null,
      promptLen: lengths[i]!,
      outputTokens: 0,
      ttftS: 0,
      itlS: [],
      latencyS: 0,
      startS: (sent - start) / 1000,
    };
    records.push(record);
    engine.submit(spec(i), (index, finish) => {
      if (index === 1) record.ttftS = (clock.now - sent) / 1000;
      else record.itlS.push((clock.now - last) / 1000);
      last = clock.now;
      record.outputTokens = index;
      if (!finish) return;
      record.latencyS = (clock.now - sent) / 1000;
      if (next < scenario.numPrompts) send();
    });
  };
  for (let k = 0; k < Math.min(scenario.maxConcurrency ?? Infinity, scenario.numPrompts); k++) send();
  clock.run();
  const durationS = Math.max(...records.map((r) => r.startS + r.latencyS));
  return calculateMetrics(records, { durationS, maxConcurrency: scenario.maxConcurrency }) as unknown as Record<
    string,
    number
  >;
}

function clockedEngine(quantization: 'fp8' | 'awq', modelPath: string): { engine: LiveEngine; clock: SimClock } {
  const clock = new SimClock();
  const params = latencyParams({ quantization, powerModeId: 0, clocksLocked: true, modelPath });
  const engine = new LiveEngine({
    params: () => params,
    speed: () => 1,
    jitter: jitterSource(7, STEP_JITTER),
    now: () => clock.now,
    onActivity: () => {},
    maxNumSeqs: DEFAULT_MAX_NUM_SEQS,
    maxNumBatchedTokens: DEFAULT_MAX_NUM_BATCHED_TOKENS,
    timers: clock,
  });
  return { engine, clock };
}

describe('the live engine on a simulated clock, on the guide cells', () => {
  const cell = (name: string): { block: GuideBlock; scenario: VirtualScenario } => {
    const block = guide(name);
    return { block, scenario: blockScenario(block) };
  };

  it('FP8 high load, then low load on the same engine (its prompts now cached): mean, median, p99 TTFT/TPOT/ITL', () => {
    const { engine, clock } = clockedEngine('fp8', '/models/Qwen/Qwen3-8B-FP8');
    const high = cell('quantization__qwen3-8b-fp8.maxn-clocks.high-load');
    const low = cell('quantization__qwen3-8b-fp8.maxn-clocks.low-load');
    const liveHigh = clockedRun(engine, clock, high.scenario);
    const liveLow = clockedRun(engine, clock, low.scenario);
    assertNear(
      liveHigh,
      high.block.expected,
      LIVE_TOLERANCE,
      'FP8 high load vs guide',
      EXCEPTIONS[high.block.name]?.metrics,
    );
    assertNear(
      liveLow,
      low.block.expected,
      LIVE_TOLERANCE,
      'FP8 low load vs guide',
      EXCEPTIONS[low.block.name]?.metrics,
    );
    // The same cells in virtual time: the same scheduler and costs, so the same numbers up to the jitter draws.
    const virtualHigh = runVirtual(
      latencyParams({ quantization: 'fp8', powerModeId: 0, clocksLocked: true }),
      high.scenario,
      { jitter: STEP_JITTER, jitterSeed: 7 },
    );
    assertNear(
      liveHigh,
      virtualHigh.metrics as unknown as Record<string, number>,
      { mean: 0.03, median: 0.05, p99: 0.1 },
      'live vs virtual',
    );
  });

  it('AWQ high load: mean, median, p99 TTFT/TPOT/ITL', () => {
    const { engine, clock } = clockedEngine('awq', '/models/Qwen/Qwen3-8B-AWQ');
    const high = cell('quantization__qwen3-8b-awq.maxn-clocks.high-load');
    const live = clockedRun(engine, clock, high.scenario);
    assertNear(
      live,
      high.block.expected,
      LIVE_TOLERANCE,
      'AWQ high load vs guide',
      EXCEPTIONS[high.block.name]?.metrics,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The live engine.

const ENGINE_JS = fileURLToPath(new URL('../sim/engine-server.js', import.meta.url));
/** The guide's 2048-token prompts came out 2041.7 tokens long on average after the tokenizer round trip. */
const GUIDE_PROMPT_TOKENS = 2042;
/** The targets for the live engine on the guide's FP8 and AWQ high-load and FP8 low-load cells. */
const LIVE_TOLERANCE = { mean: 0.05, median: 0.15, p99: 0.25 } as const;

interface LiveEngineProcess {
  port: number;
  child: ChildProcess;
  dir: string;
}

async function startEngine(model: string, speed: number): Promise<LiveEngineProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thorbench-sim-fidelity-'));
  ensureSimDevice(dir, { speed, powerModeId: 0 });
  updateDeviceState(simLayout(dir), (s) => {
    s.clocks.locked = true;
  });
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [ENGINE_JS, 'serve', model, '--served-model-name', 'qwen3', '--port', String(port)],
    {
      env: { ...process.env, THORBENCH_SIM_DIR: dir },
      stdio: 'ignore',
    },
  );
  await waitForHealthy(port, 30_000);
  return { port, child, dir };
}

function stopEngine(e: LiveEngineProcess | undefined): void {
  if (!e) return;
  e.child.kill('SIGTERM');
  destroySimDevice(e.dir);
}

/** A guide run against the live engine: vllm bench serve's untimed test prompt, then the benchmark. */
async function liveRun(e: LiveEngineProcess, scenario: VirtualScenario, speed: number) {
  const common = {
    baseUrl: `http://127.0.0.1:${e.port}`,
    model: 'qwen3',
    inputLen: scenario.inputLen,
    outputLen: scenario.outputLen,
    seed: 0,
    ignoreEos: scenario.ignoreEos ?? false,
  };
  await runLoad({ ...common, numPrompts: 1 });
  const run = await runLoad({ ...common, numPrompts: scenario.numPrompts, maxConcurrency: scenario.maxConcurrency });
  // The device runs `speed` times faster than a Thor: scale the measured times back.
  const records: RequestRecord[] = run.requests.map((r) => ({
    ...r,
    ttftS: r.ttftS * speed,
    latencyS: r.latencyS * speed,
    startS: r.startS * speed,
    itlS: r.itlS.map((x) => x * speed),
  }));
  assert.equal(records.filter((r) => r.success).length, scenario.numPrompts);
  return calculateMetrics(records, {
    durationS: run.durationS * speed,
    maxConcurrency: scenario.maxConcurrency,
  }) as unknown as Record<string, number>;
}

/** TTFT, TPOT and ITL: mean, median and p99 of each. */
const LATENCY_KEYS = COMPARED_METRICS.filter((m) => m.key.endsWith('_ms'));

/** Compares the latency metrics; `skip` names metrics the simulator is known to miss (EXCEPTIONS) with why. */
function assertNear(
  actual: Record<string, number>,
  expected: Record<string, number>,
  tolerance: Record<'mean' | 'median' | 'p99', number>,
  what: string,
  skip: string[] = [],
): void {
  const off = LATENCY_KEYS.filter(
    ({ key, cls }) => !skip.includes(key) && Math.abs(actual[key]! / expected[key]! - 1) > tolerance[cls],
  );
  const lines = off.map(({ key, cls }) => {
    const rel = ((actual[key]! / expected[key]! - 1) * 100).toFixed(1);
    return `${key}: ${actual[key]!.toFixed(2)} vs ${expected[key]!.toFixed(2)} (${rel} %, limit ${tolerance[cls] * 100} %)`;
  });
  assert.deepEqual(lines, [], what);
}

function guide(name: string): GuideBlock {
  const b = blocks.find((x) => x.name === name);
  assert.ok(b, `fixture ${name} missing`);
  return b;
}

describe('the live engine over HTTP, in compressed real time', { concurrency: false }, () => {
  // Real timers on a machine shared with other work: a starved engine process delivers steps late and in bursts, so
  // only gross disagreement fails here (a wrong speed scaling, a lost front end, a different scheduler); the
  // numbers themselves are printed. The guide targets are checked on the simulated clock above.
  const SPEED = 3;
  let engine: LiveEngineProcess | undefined;
  before(async () => {
    engine = await startEngine('/models/Qwen/Qwen3-8B-FP8', SPEED);
  });
  after(() => stopEngine(engine));

  it('FP8 high load at speed 3 is the same run as in virtual time, within timing noise', async (t) => {
    const block = guide('quantization__qwen3-8b-fp8.maxn-clocks.high-load');
    const scenario: VirtualScenario = { ...block.scenario, inputLen: GUIDE_PROMPT_TOKENS, ignoreEos: true };
    const live = await liveRun(engine!, scenario, SPEED);
    const params = latencyParams({
      quantization: 'fp8',
      powerModeId: 0,
      clocksLocked: true,
      modelPath: '/models/Qwen/Qwen3-8B-FP8',
    });
    const virtual = runVirtual(params, scenario, { jitter: STEP_JITTER }).metrics as unknown as Record<string, number>;
    for (const { key } of LATENCY_KEYS)
      t.diagnostic(`${key}: live ${live[key]!.toFixed(2)}, virtual ${virtual[key]!.toFixed(2)}`);
    assert.equal(live.total_output_tokens, 12800);
    assert.equal(live.total_input_tokens, 100 * GUIDE_PROMPT_TOKENS);
    for (const key of ['mean_ttft_ms', 'mean_tpot_ms', 'duration']) {
      const ratio = live[key]! / virtual[key]!;
      assert.ok(ratio > 0.5 && ratio < 2, `${key}: live ${live[key]} vs virtual ${virtual[key]}`);
    }
  });
});
