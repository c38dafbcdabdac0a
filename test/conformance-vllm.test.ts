/**
 * Conformance with vLLM's own client: vLLM 0.33's real `vllm bench serve` (installed by scripts/ensure-vllm-client.sh)
 * and thorbench's builtin harness benchmark the same simulated engine at concurrency 1, 8 and 64, each through its
 * harness activity (the vllm harness runs the real client by `docker exec` into the simulated container). Then:
 * - every mean and median (TTFT, TPOT, ITL, E2EL) agrees within 2 % or 0.5 ms;
 * - the token totals are the same, and the engine counted the prompts vLLM's client sent exactly as the client did
 *   (the tokenizer both share, sim/tokenizer/);
 * - thorbench's recomputation from vLLM's --save-detailed arrays equals vLLM's own aggregates, key for key.
 *
 * It needs vLLM's client: THORBENCH_VLLM_CLIENT (what .ci/run exports), else the default cache install. Without
 * either it fails, saying how to install it; it never skips.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DeviceProfile } from '../activities/device-profile.js';
import { createEngineActivities } from '../activities/engine.js';
import { createHarnessActivities, type HarnessConfig } from '../activities/harness.js';
import { calculateMetrics } from '../metrics/calculate.js';
import { parsePythonJson, parseSaveResultRequests } from '../parsers/vllm-bench.js';
import { ScenarioSpec } from '../schema/experiment.js';
import { SIM_VLLM_CLIENT_ENV } from '../sim/commands/docker-exec.js';
import { ensureSimDevice, simDeviceProfile } from '../sim/device.js';
import { destroySimDevice, freePort } from '../sim/test-support.js';

const PERCENTILES = [50, 90, 99];

function vllmClient(): string {
  const candidates = [process.env.THORBENCH_VLLM_CLIENT, path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'thorbench', 'vllm-venv', 'bin', 'vllm')];
  const found = candidates.find((c): c is string => c !== undefined && c !== '' && fs.existsSync(c));
  if (!found) {
    assert.fail(
      `vLLM's client is not installed (THORBENCH_VLLM_CLIENT=${process.env.THORBENCH_VLLM_CLIENT ?? 'unset'}): run ` +
        'scripts/ensure-vllm-client.sh and export THORBENCH_VLLM_CLIENT=<the path it prints> (.ci/run does both)',
    );
  }
  return found;
}

/** Sum of a Prometheus counter over its label sets. */
function counter(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

describe('conformance with vLLM 0.33\'s own client', { timeout: 900_000 }, () => {
  let dir: string;
  let profile: DeviceProfile;
  let port: number;
  const container = 'thorbench-conformance';

  before(async () => {
    const client = vllmClient();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thorbench-conformance-'));
    const dev = ensureSimDevice(dir, { speed: 1, powerModeId: 0 });
    const base = simDeviceProfile(dev, path.join(dir, 'results'));
    profile = { ...base, env: { ...base.env, [SIM_VLLM_CLIENT_ENV]: client } };
    port = await freePort();
    const engine = createEngineActivities(profile);
    await engine.startEngine({
      sweepId: 'conformance',
      cellId: 'c',
      engineGroup: 'conformance',
      engine: { kind: 'vllm', image: 'nvcr.io/nvidia/vllm:25.09-py3', port, modelsDir: '/data/models', gpuMemoryUtilization: 0.8, maxModelLen: 4096, cacheDirs: {} },
      model: { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', servedName: 'qwen3', env: {}, serveArgs: [] },
    });
    await engine.waitForHealth({ containerName: container, port, servedName: 'qwen3', timeoutMs: 60_000 });
  });
  after(() => {
    if (dir) destroySimDevice(dir);
  });

  const runs: [number, number][] = [
    [1, 8],
    [8, 32],
    [64, 128],
  ];
  for (const [concurrency, numPrompts] of runs) {
    it(`concurrency ${concurrency}: the same numbers from vLLM's client and the builtin harness`, async () => {
      const engine = createEngineActivities(profile);
      const harness = createHarnessActivities(profile, engine);
      const scenario = ScenarioSpec.parse({ name: `c${concurrency}`, inputLen: 512, outputLen: 64, numPrompts, maxConcurrency: concurrency });
      const endpoint = (kind: HarnessConfig['kind']) => ({
        containerName: container,
        port,
        servedName: 'qwen3',
        modelPath: 'Qwen/Qwen3-8B-FP8',
        harness: { kind, percentiles: PERCENTILES },
      });
      const metricsText = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

      const promptTokensBefore = counter(await metricsText(), 'vllm:prompt_tokens_total');
      const vllm = await harness.benchmark({ ...endpoint('vllm'), sweepId: 'conformance', cellId: `vllm-c${concurrency}`, scenario, repeat: 1 });
      const promptTokensAfter = counter(await metricsText(), 'vllm:prompt_tokens_total');
      const builtin = await harness.benchmark({ ...endpoint('builtin'), sweepId: 'conformance', cellId: `builtin-c${concurrency}`, scenario, repeat: 1 });
      const v = vllm.metrics as unknown as Record<string, number>;
      const b = builtin.metrics as unknown as Record<string, number>;

      // Token totals: both send numPrompts × 512 prompt tokens and get 64 tokens each back.
      assert.equal(v.completed, numPrompts);
      assert.equal(b.completed, numPrompts);
      assert.equal(v.total_input_tokens, numPrompts * 512);
      assert.equal(b.total_input_tokens, v.total_input_tokens);
      assert.equal(b.total_output_tokens, v.total_output_tokens);
      // The engine's own count of what vLLM's client sent (its test prompt + the run) matches the client's count.
      assert.equal(promptTokensAfter - promptTokensBefore, v.total_input_tokens + 512, 'engine and vLLM count prompt tokens alike');
      const output = fs.readFileSync(path.join(vllm.artifactsDir, 'vllm-bench-output.txt'), 'utf8');
      assert.doesNotMatch(output, /tokenizer mismatch|skipping alignment/);

      const report: string[] = [];
      for (const metric of ['ttft', 'tpot', 'itl', 'e2el']) {
        for (const stat of ['mean', 'median']) {
          const key = `${stat}_${metric}_ms`;
          const diff = Math.abs(v[key]! - b[key]!);
          report.push(`${key} vllm ${v[key]!.toFixed(3)} builtin ${b[key]!.toFixed(3)}`);
          assert.ok(diff <= Math.max(0.02 * v[key]!, 0.5), `c=${concurrency} ${key}: vLLM ${v[key]} vs builtin ${b[key]} (differ by ${diff.toFixed(3)} ms)`);
        }
      }
      console.log(`# c=${concurrency}: ${report.join('; ')}`);

      // Recomputing vLLM's aggregates from its own per-request arrays gives vLLM's numbers, key for key.
      const saved = parsePythonJson(fs.readFileSync(path.join(vllm.artifactsDir, 'vllm-bench-result.json'), 'utf8')) as Record<string, unknown>;
      const requests = parseSaveResultRequests(saved);
      assert.ok(requests !== null && requests.length === numPrompts, 'vLLM saved its per-request arrays');
      const recomputed = calculateMetrics(requests, {
        durationS: saved.duration as number,
        maxConcurrency: concurrency,
        selectedPercentiles: PERCENTILES,
      }) as unknown as Record<string, unknown>;
      const keys = Object.keys(saved).filter((k) => k in recomputed);
      for (const k of ['max_concurrent_requests', 'max_output_tokens_per_s', 'std_itl_ms', 'p50_ttft_ms', 'p90_e2el_ms']) assert.ok(keys.includes(k), k);
      for (const k of keys) assert.equal(recomputed[k], saved[k], `c=${concurrency} ${k}: thorbench ${String(recomputed[k])} vs vLLM ${String(saved[k])}`);
    });
  }
});
