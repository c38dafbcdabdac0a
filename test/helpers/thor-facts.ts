/**
 * A real Thor as thorbench records it: the inventory its worker reports (activities/models.ts) and the device facts
 * a cell carries (activities/device.ts describeDevice), and a cell the guide measured on it, for tests of what keeps,
 * judges or shows them.
 */
import type { DeviceInventory } from '../../schema/device-inventory.js';
import type { BenchmarkMetrics } from '../../schema/metrics.js';
import type { DeviceFacts } from '../../schema/outcome.js';
import type { UnjudgedCellRecord } from '../../schema/verdict.js';

export const THOR_MODEL = 'NVIDIA Jetson AGX Thor Developer Kit';

export function thorInventory(deviceId: string, parts: Partial<DeviceInventory> = {}): DeviceInventory {
  return {
    deviceId,
    simulated: false,
    model: THOR_MODEL,
    l4tRelease: 'R38.2.1',
    memoryTotalMb: 125772,
    powerModes: [{ id: 0, name: 'MAXN', tpcPgMask: 64 }],
    powerMode: { id: 0, name: 'MAXN' },
    clockLimits: { gpuMaxMhz: 1575, emcMaxMhz: 4266, cpuMaxMhz: 2601 },
    modelsDir: '/data/models',
    modelsDirFreeBytes: 512e9,
    engineImage: 'nvcr.io/nvidia/vllm:25.09-py3',
    engineImagePresent: true,
    engineImageDigest: null,
    models: ['Qwen/Qwen3-8B-FP8'],
    modelsMissing: [],
    problems: [],
    ...parts,
  };
}

/** Device thor-01 in MAXN with its clocks locked, as a cell records it before the benchmark. */
export function thorDeviceFacts(parts: Partial<DeviceFacts> = {}): DeviceFacts {
  return {
    deviceId: 'thor-01',
    simulated: false,
    model: THOR_MODEL,
    l4tRelease: 'R38.2.1',
    bootId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    powerModeName: 'MAXN',
    powerModeId: 0,
    clocksLocked: true,
    ...parts,
  };
}

/** Metrics of the guide's MAXN + jetson_clocks, Qwen3-8B-FP8, high-load run (fixture quantization__qwen3-8b-fp8). */
export const FP8_HIGH_LOAD: BenchmarkMetrics = {
  duration: 42.94,
  completed: 100,
  failed: 0,
  max_concurrency: 8,
  request_rate: 'inf',
  total_input_tokens: 204169,
  total_output_tokens: 12800,
  request_throughput: 2.33,
  request_goodput: null,
  output_throughput: 298.07,
  total_token_throughput: 5052.48,
  mean_ttft_ms: 495.44,
  median_ttft_ms: 455.84,
  std_ttft_ms: 101.5,
  p99_ttft_ms: 912.34,
  mean_tpot_ms: 22.59,
  median_tpot_ms: 23.0,
  std_tpot_ms: 1.1,
  p99_tpot_ms: 25.05,
  mean_itl_ms: 22.59,
  median_itl_ms: 17.88,
  std_itl_ms: 9.5,
  p99_itl_ms: 150.3,
  mean_e2el_ms: 3364.2,
  median_e2el_ms: 3320.1,
  std_e2el_ms: 120.4,
  p99_e2el_ms: 3900.7,
  energy_j: 3821.5,
  avg_power_w: 89.0,
  energy_per_output_token_j: 0.2986,
  output_throughput_per_w: 3.349,
};

/**
 * That run as a cell of sweep `sweepId` that succeeded on thor-01: repeat 1, first in its plan, on an engine an earlier
 * cell started and warmed up. Not judged yet (schema/verdict.ts completeRecord).
 */
export function thorCell(sweepId: string): UnjudgedCellRecord {
  return {
    sweepId,
    experimentName: 'qwen3-8b-quantization',
    cellId: 'maxn.locked.qwen3-8b-fp8.high-load.r1',
    repeat: 1,
    position: 0,
    power: 'maxn',
    clocks: 'locked',
    modelId: 'qwen3-8b-fp8',
    quantization: 'fp8',
    modelSize: '8.9G',
    scenario: 'high-load',
    status: 'succeeded',
    failure: null,
    metrics: { ...FP8_HIGH_LOAD },
    harness: { kind: 'vllm', command: ['vllm', 'bench', 'serve', '--max-concurrency', '8', '--num-prompts', '100'] },
    device: thorDeviceFacts(),
    engine: {
      image: 'nvcr.io/nvidia/vllm:25.09-py3',
      containerName: 'thorbench-maxn-qwen3-8b-fp8',
      command: [
        'vllm',
        'serve',
        '/models/Qwen/Qwen3-8B-FP8',
        '--served-model-name',
        'qwen3',
        '--gpu-memory-utilization',
        '0.9',
      ],
      exitCode: null,
      oomKilled: false,
      logTail: null,
    },
    steps: [
      { step: 'flushCaches', startedAt: '2025-10-01T10:00:00.000Z', durationMs: 1200, result: { kind: 'done' } },
      {
        step: 'warmup',
        startedAt: '2025-10-01T10:00:01.200Z',
        durationMs: 0,
        result: { kind: 'skipped', reason: 'engine already warm' },
      },
      { step: 'benchmark', startedAt: '2025-10-01T10:03:00.000Z', durationMs: 42_940, result: { kind: 'done' } },
    ],
    artifactsDir: null,
    simulated: false,
    startedAt: '2025-10-01T10:00:00.000Z',
    finishedAt: '2025-10-01T10:03:43.000Z',
  };
}
