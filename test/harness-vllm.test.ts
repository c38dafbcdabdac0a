/**
 * The vllm harness: the exact `vllm bench serve` command line, reading its progress bar, and the benchmark and
 * warm-up activities run for real against a simulated engine (docker exec into the simulated container, where the
 * stand-in loads the engine): metrics from vLLM's JSON, artifacts, reuse on retry, typed failures.
 * Called as plain functions (no Temporal): heartbeats are no-ops outside an activity.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DeviceProfile } from '../activities/device-profile.js';
import { createEngineActivities } from '../activities/engine.js';
import { createHarnessActivities } from '../activities/harness.js';
import { benchServeArgv, parseProgressLine } from '../activities/harness/vllm-bench-command.js';
import { EngineSpec, ScenarioSpec } from '../schema/experiment.js';
import { ensureSimDevice, simDeviceProfile } from '../sim/device.js';
import { TEST_MODELS } from './helpers/experiment.js';
import { typedFailure } from './helpers/failures.js';
import { freePort } from './helpers/net.js';
import { destroySimDevice } from './helpers/sim-device.js';
import { waitFor } from './helpers/wait.js';

/** The argv after the program's words, as each flag with the values that follow it (argparse does not mind order). */
function flagValues(argv: string[]): Record<string, string[]> {
  const flags: Record<string, string[]> = {};
  let current: string[] = [];
  for (const word of argv) {
    if (word.startsWith('--')) flags[word] = current = [];
    else current.push(word);
  }
  return flags;
}

describe('vllm bench serve command line', () => {
  /** What a scenario cannot leave out. */
  const required = {
    port: 8000,
    servedName: 'qwen3',
    tokenizer: '/models/Qwen/Qwen3-8B-FP8',
    inputLen: 2048,
    outputLen: 128,
    numPrompts: 100,
    seed: 4,
  };

  it('carries every scenario parameter, the percentiles and the SLOs', () => {
    const argv = benchServeArgv({
      ...required,
      maxConcurrency: 8,
      requestRate: 2.5,
      burstiness: 1,
      percentiles: [50, 90, 95, 99.9],
      goodput: { ttft: 500, tpot: 50 },
      resultFile: 'maxn.locked.qwen3.high-load.r1.json',
    });
    assert.deepEqual(argv.slice(0, 3), ['vllm', 'bench', 'serve']);
    assert.deepEqual(flagValues(argv.slice(3)), {
      '--backend': ['vllm'],
      '--base-url': ['http://127.0.0.1:8000'],
      '--endpoint': ['/v1/completions'],
      '--model': ['qwen3'],
      '--tokenizer': ['/models/Qwen/Qwen3-8B-FP8'],
      '--dataset-name': ['random'],
      '--random-input-len': ['2048'],
      '--random-output-len': ['128'],
      '--num-prompts': ['100'],
      '--max-concurrency': ['8'],
      '--request-rate': ['2.5'],
      '--burstiness': ['1'],
      '--ignore-eos': [],
      '--seed': ['4'],
      '--percentile-metrics': ['ttft,tpot,itl,e2el'],
      '--ready-check-timeout-sec': ['1'],
      '--metric-percentiles': ['50,90,95,99,99.9'],
      '--goodput': ['ttft:500', 'tpot:50'],
      '--save-result': [],
      '--save-detailed': [],
      '--result-dir': ['/tmp/thorbench-results'],
      '--result-filename': ['maxn.locked.qwen3.high-load.r1.json'],
    });
  });

  it('leaves out what the scenario does not set (rate inf, unbounded concurrency, no SLOs, nothing saved)', () => {
    const argv = benchServeArgv({ ...required, percentiles: [99] });
    const flags = Object.keys(flagValues(argv));
    for (const flag of [
      '--max-concurrency',
      '--request-rate',
      '--burstiness',
      '--goodput',
      '--save-result',
      '--result-dir',
    ])
      assert.ok(!flags.includes(flag), flag);
    assert.ok(flags.includes('--num-prompts'));
  });

  it('reads tqdm progress lines and nothing else', () => {
    assert.deepEqual(parseProgressLine(' 50%|█████     | 16/32 [00:02<00:02,  7.50it/s]'), { done: 16, total: 32 });
    assert.deepEqual(parseProgressLine('100%|██████████| 8/8 [00:04<00:00,  1.93it/s]'), { done: 8, total: 8 });
    assert.deepEqual(parseProgressLine('  0%|          | 0/128 [00:00<?, ?it/s]'), { done: 0, total: 128 });
    assert.equal(parseProgressLine('Successful requests:                     8'), null);
    assert.equal(parseProgressLine('Maximum request concurrency: 8'), null);
  });
});

describe('vllm harness activities on the simulator', () => {
  let dir: string;
  let profile: DeviceProfile;
  let port: number;
  const container = 'thorbench-vllm-harness';
  const harness = { kind: 'vllm' as const, percentiles: [50, 99] };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thorbench-harness-vllm-'));
    profile = simDeviceProfile(ensureSimDevice(dir, { speed: 10 }), path.join(dir, 'results'));
    port = await freePort();
  });
  after(() => destroySimDevice(dir));

  const activities = () => {
    const engine = createEngineActivities(profile);
    return { engine, harness: createHarnessActivities(profile, engine) };
  };

  async function startEngine(env: Record<string, string> = {}, healthy = true): Promise<void> {
    const { engine } = activities();
    await engine.startEngine({
      sweepId: 'harness-test',
      cellId: 'c1',
      engineGroup: 'vllm-harness',
      engine: EngineSpec.parse({ port, gpuMemoryUtilization: 0.8, maxModelLen: 4096 }),
      model: { ...TEST_MODELS.fp8, env, serveArgs: [] },
    });
    if (healthy) await engine.waitForHealth({ containerName: container, port, servedName: 'qwen3', timeoutMs: 60_000 });
    // A never-healthy engine still listens: wait until it answers at all.
    else
      await waitFor(
        'the engine to listen',
        () =>
          fetch(`http://127.0.0.1:${port}/v1/models`).then(
            (r) => r.ok || undefined,
            () => undefined,
          ),
        60_000,
      );
  }

  const endpoint = () => ({
    containerName: container,
    port,
    servedName: 'qwen3',
    modelPath: 'Qwen/Qwen3-8B-FP8',
    harness,
  });
  const scenario = ScenarioSpec.parse({
    name: 's',
    inputLen: 48,
    outputLen: 6,
    numPrompts: 5,
    maxConcurrency: 2,
    goodput: { ttftMs: 60_000 },
  });

  it('benchmarks through vllm bench serve, reads every metric from its JSON and keeps the arrays', async () => {
    await startEngine();
    const { harness: h } = activities();
    const warm = await h.warmup({ ...endpoint(), warmup: { inputLen: 16, outputLen: 2, numPrompts: 2 } });
    assert.deepEqual(warm, { completed: 2, failed: 0 });

    const result = await h.benchmark({ ...endpoint(), sweepId: 'harness-test', cellId: 'c1.r1', scenario, repeat: 1 });
    assert.equal(result.reused, false);
    assert.equal(result.harness.kind, 'vllm');
    assert.deepEqual(result.harness.command.slice(0, 3), ['vllm', 'bench', 'serve']);
    const m = result.metrics as Record<string, unknown>;
    const saved = JSON.parse(
      fs.readFileSync(path.join(result.artifactsDir, 'vllm-bench-result.json'), 'utf8'),
    ) as Record<string, unknown>;
    for (const key of [
      'completed',
      'total_input_tokens',
      'total_output_tokens',
      'duration',
      'mean_ttft_ms',
      'p50_itl_ms',
      'p99_e2el_ms',
      'request_goodput',
    ]) {
      assert.equal(m[key], saved[key], key);
    }
    assert.equal(m.completed, 5);
    assert.equal(m.total_output_tokens, 30);
    assert.equal(m.request_goodput, (m.completed as number) / (m.duration as number));
    assert.equal((saved.itls as number[][]).length, 5);
    const requests = JSON.parse(fs.readFileSync(path.join(result.artifactsDir, 'requests.json'), 'utf8')) as Record<
      string,
      unknown[]
    >;
    assert.deepEqual(requests.ttfts, saved.ttfts);
    assert.match(
      fs.readFileSync(path.join(result.artifactsDir, 'vllm-bench-output.txt'), 'utf8'),
      /Serving Benchmark Result/,
    );

    const again = await h.benchmark({ ...endpoint(), sweepId: 'harness-test', cellId: 'c1.r1', scenario, repeat: 1 });
    assert.equal(again.reused, true, 'a retried benchmark returns the finished result instead of running again');
    assert.deepEqual(again.metrics, result.metrics);
  });

  it("fails typed: BenchmarkFailed with vLLM's output tail when the engine is up but answers nothing", async () => {
    await activities().engine.teardownEngine({ containerName: container });
    await startEngine({ THORBENCH_SIM_FAULT: 'never-healthy' }, false);
    const { harness: h } = activities();
    await assert.rejects(
      h.benchmark({ ...endpoint(), sweepId: 'harness-test', cellId: 'c2.r1', scenario, repeat: 1 }),
      typedFailure('BenchmarkFailed', {
        nonRetryable: true,
        message: [/vllm bench serve exited with 1/, /Initial test run failed/],
      }),
    );
  });

  it("fails typed: the engine's own failure when the container is gone", async () => {
    await activities().engine.teardownEngine({ containerName: container });
    const { harness: h } = activities();
    await assert.rejects(
      h.benchmark({ ...endpoint(), sweepId: 'harness-test', cellId: 'c3.r1', scenario, repeat: 1 }),
      typedFailure('EngineCrashed'),
    );
  });
});
