/**
 * The vllm harness: the exact `vllm bench serve` command line, reading its progress bar, and the benchmark and
 * warm-up activities run for real against a simulated engine (docker exec into the simulated container, where the
 * stand-in loads the engine): metrics from vLLM's JSON, artifacts, reuse on retry, typed failures.
 * Called as plain functions (no Temporal): heartbeats are no-ops outside an activity.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DeviceProfile } from '../activities/device-profile.js';
import { createEngineActivities } from '../activities/engine.js';
import { createHarnessActivities } from '../activities/harness.js';
import { formatReapLine, parseReapOutput, REAP_PROGRAM } from '../activities/harness/reap-bench.js';
import { benchServeArgv, parseProgressLine } from '../activities/harness/vllm-bench-command.js';
import { EngineSpec, ScenarioSpec } from '../schema/experiment.js';
import { liveExecs } from '../sim/container-exec.js';
import { ensureSimDevice, simDeviceProfile } from '../sim/device.js';
import { simLayout } from '../sim/layout.js';
import { processState } from '../sim/process-util.js';
import { TEST_MODELS } from './helpers/experiment.js';
import { typedFailure } from './helpers/failures.js';
import { freePort } from './helpers/net.js';
import { destroySimDevice } from './helpers/sim-device.js';
import { waitFor } from './helpers/wait.js';

/** This process's children running `docker exec ...` of the simulator (the benchmark's docker client). */
function dockerExecClients(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (ppid === process.pid && argv[1]?.endsWith(path.join('sim', 'bin', 'docker')) && argv[2] === 'exec')
        found.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return found;
}

/** What the simulated engine's /metrics says it generated so far. */
async function generatedTokens(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^vllm:generation_tokens_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
  assert.ok(m, 'the engine reports vllm:generation_tokens_total');
  return Number(m[1]);
}

/** Whether `unshare` can give a test its own pid namespace (user namespaces may be off). */
function canUnshare(): boolean {
  const probe = spawnSync('unshare', ['-Urpf', '--mount-proc', 'python3', '-c', 'pass'], { timeout: 10_000 });
  return probe.status === 0;
}

/**
 * Runs the reap program for real, in a pid namespace of its own (it would otherwise end every `vllm bench serve` on
 * this machine): with a benchmark that ends on SIGTERM, one that ignores it, an engine (`vllm serve`) and a process
 * whose later arguments say `vllm bench`. Prints the pids and the program's output as JSON.
 */
const REAP_DRIVER = `import json, os, subprocess, sys
d, program = sys.argv[1], sys.argv[2]
fake = os.path.join(d, 'vllm')
with open(fake, 'w') as f:
    f.write('#!' + sys.executable + '\\nimport signal, sys, time\\n'
            'if "--ignore-sigterm" in sys.argv: signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n'
            'print("ready", flush=True)\\ntime.sleep(60)\\n')
os.chmod(fake, 0o755)
def start(argv):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == 'ready\\n'
    return p
polite = start([fake, 'bench', 'serve', '--num-prompts', '8'])
ignoring = start([fake, 'bench', 'serve', '--ignore-sigterm'])
engine = start([fake, 'serve', '/models/qwen3'])
other = start([sys.executable, fake, 'list', 'vllm', 'bench'])
out = subprocess.run([sys.executable, '-c', program], capture_output=True, text=True)
alive = [p.pid for p in (engine, other) if p.poll() is None]
print(json.dumps({'polite': polite.pid, 'ignoring': ignoring.pid, 'alive': alive, 'others': [engine.pid, other.pid],
                  'stdout': out.stdout, 'stderr': out.stderr, 'code': out.returncode}))
`;

describe('the reap program (python3 in the engine container)', () => {
  const why = canUnshare() ? false : 'needs `unshare -Urpf --mount-proc` (user and pid namespaces) to run safely';

  it('ends `vllm bench serve` processes, SIGKILLs one that ignores SIGTERM, spares the rest', { skip: why }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thorbench-reap-'));
    try {
      const driver = path.join(dir, 'driver.py');
      fs.writeFileSync(driver, REAP_DRIVER);
      const run = spawnSync('unshare', ['-Urpf', '--mount-proc', 'python3', driver, dir, REAP_PROGRAM], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(run.status, 0, run.stderr);
      const r = JSON.parse(run.stdout) as Record<string, unknown> & { stdout: string; others: number[] };
      assert.equal(r.code, 0, String(r.stderr));
      const report = parseReapOutput(r.stdout);
      assert.ok(report, r.stdout);
      assert.deepEqual(report, {
        found: [r.polite, r.ignoring].sort((a, b) => Number(a) - Number(b)),
        killed: [r.ignoring],
        left: [],
      });
      assert.deepEqual(r.alive, r.others, 'the engine and a process that only mentions vllm bench keep running');
      assert.equal(formatReapLine(report), r.stdout, "the simulator prints the program's line byte for byte");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads only a well-formed report line', () => {
    assert.deepEqual(parseReapOutput('noise\nthorbench-reap {"found": [7], "killed": [], "left": []}\n'), {
      found: [7],
      killed: [],
      left: [],
    });
    assert.equal(parseReapOutput('Traceback (most recent call last):\n'), null);
    assert.equal(parseReapOutput('thorbench-reap {"found": [-1], "killed": [], "left": []}'), null);
    assert.equal(parseReapOutput('thorbench-reap {"found": [1]'), null);
  });
});

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

  /** Enough requests that the benchmark outlives everything the test does while it runs. */
  const long = ScenarioSpec.parse({ name: 'long', inputLen: 48, outputLen: 32, numPrompts: 2000, maxConcurrency: 1 });

  /** Starts a benchmark, SIGKILLs its docker client mid-run, and returns what it left in the container. */
  async function orphanBenchmark(cellId: string): Promise<number> {
    const { harness: h } = activities();
    const attempt = h.benchmark({ ...endpoint(), sweepId: 'harness-test', cellId, scenario: long, repeat: 1 });
    const layout = simLayout(dir);
    const [client] = await waitFor(
      'the benchmark to run',
      async () => {
        const clients = dockerExecClients();
        return clients.length === 1 && liveExecs(layout).length === 1 && (await generatedTokens(port)) > 0
          ? clients
          : undefined;
      },
      60_000,
    );
    process.kill(client!, 'SIGKILL');
    await assert.rejects(attempt, typedFailure('CommandFailed', { nonRetryable: false }));
    const [orphan] = liveExecs(layout);
    assert.ok(orphan, 'the benchmark outlives its docker client, as on a real Docker host');
    assert.deepEqual(orphan.argv.slice(0, 3), ['vllm', 'bench', 'serve']);
    const before = await generatedTokens(port);
    await waitFor(
      'the orphan to keep loading the engine',
      async () => (await generatedTokens(port)) > before || undefined,
      30_000,
    );
    assert.equal(processState(orphan.pid), 'running');
    return orphan.pid;
  }

  it('ends the benchmark a killed attempt left running before benchmarking again, and says so', async () => {
    const orphan = await orphanBenchmark('c4.r1');
    // The retry: the cell's own scenario would do, a short one keeps the test fast.
    const { harness: h } = activities();
    const retry = await h.benchmark({ ...endpoint(), sweepId: 'harness-test', cellId: 'c4.r1', scenario, repeat: 1 });
    assert.notEqual(processState(orphan), 'running', 'the leftover benchmark was ended');
    assert.deepEqual(liveExecs(simLayout(dir)), []);
    assert.equal(retry.reused, false);
    assert.equal(retry.reapedLeftovers, 1);
    assert.equal(retry.metrics.completed, 5);
    assert.equal(retry.metrics.failed, 0);
    assert.equal(retry.metrics.total_output_tokens, 30);
    const output = fs.readFileSync(path.join(retry.artifactsDir, 'vllm-bench-output.txt'), 'utf8');
    assert.match(
      output,
      new RegExp(`^\\[thorbench\\] ended 1 leftover vllm bench serve process\\(es\\) .*\\(pid ${orphan}\\)`),
    );
    const recorded = JSON.parse(fs.readFileSync(path.join(retry.artifactsDir, 'result.json'), 'utf8')) as {
      reapedLeftovers?: number;
    };
    assert.equal(recorded.reapedLeftovers, 1);
  });

  it('ends what docker exec started in a container when the container is removed (docker rm -f)', async () => {
    const orphan = await orphanBenchmark('c5.r1');
    await activities().engine.teardownEngine({ containerName: container });
    assert.notEqual(processState(orphan), 'running');
    assert.deepEqual(liveExecs(simLayout(dir)), []);
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

  it('fails typed, saying what to change, when the image has no `vllm bench serve` (vLLM before 0.10)', async (t) => {
    const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p));
    if (!python) return t.skip('no python3 to make an argparse CLI with');
    // An argparse CLI with the subcommands vLLM had before `bench` (0.9): its error is argparse's own.
    const client = path.join(dir, 'vllm-0.9');
    fs.writeFileSync(
      client,
      `#!${python}\nimport argparse\np = argparse.ArgumentParser(prog='vllm')\ns = p.add_subparsers()\n` +
        `for c in ('chat', 'complete', 'serve'): s.add_parser(c)\np.parse_args()\n`,
      { mode: 0o755 },
    );
    // The simulated container runs the client the profile names when the engine starts (sim/exec-process.ts).
    await activities().engine.teardownEngine({ containerName: container });
    const stock = profile;
    profile = simDeviceProfile(ensureSimDevice(dir, { speed: 10 }), path.join(dir, 'results'), { vllmClient: client });
    try {
      await startEngine();
      await assert.rejects(
        activities().harness.benchmark({
          ...endpoint(),
          sweepId: 'harness-test',
          cellId: 'c5.r1',
          scenario,
          repeat: 1,
        }),
        typedFailure('BenchmarkFailed', {
          nonRetryable: true,
          message: [
            /exited with 2/,
            /has no `vllm bench serve`/,
            /harness\.kind to "builtin"/,
            /invalid choice: 'bench'/,
          ],
        }),
      );
    } finally {
      await activities().engine.teardownEngine({ containerName: container });
      profile = stock;
    }
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
