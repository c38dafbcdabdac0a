/**
 * The fake docker and the simulated vLLM engine, driven through activities/exec.ts with a simulated profile:
 * container lifecycle, the OpenAI-compatible API, every fault, and truthful `docker inspect` state.
 * The device runs at speed 20 so loads take ~0.1 s; nothing here asserts on how long things take.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import type { DeviceProfile } from '../activities/device-profile.js';
import { run, runDevice } from '../activities/exec.js';
import { parseReapOutput, REAP_ARGV } from '../activities/harness/reap-bench.js';
import { benchServeArgv } from '../activities/harness/vllm-bench-command.js';
import { liveExecs } from '../sim/container-exec.js';
import { ensureSimDevice, listSimContainers, simDeviceProfile, writeSimFaults } from '../sim/device.js';
import { simLayout } from '../sim/layout.js';
import { LiveEngine } from '../sim/live-engine.js';
import { processState } from '../sim/process-util.js';
import { repoJson, tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { destroySimDevice, postSse, waitForHealthy } from './helpers/sim-device.js';
import { waitFor } from './helpers/wait.js';

const WAIT_MS = 30_000;

interface InspectState {
  Status: string;
  Running: boolean;
  Pid: number;
  ExitCode: number;
  OOMKilled: boolean;
  FinishedAt: string;
}
interface Inspect {
  Id: string;
  Name: string;
  State: InspectState;
  Config: { Image: string; Labels: Record<string, string>; Env: string[] };
}

describe('simulated docker + vLLM engine', () => {
  let dir: string;
  let profile: DeviceProfile;
  const docker = (args: string[], input?: string) =>
    runDevice(profile, [profile.commands.docker, ...args], { timeoutMs: WAIT_MS, allowFailure: true, input });

  const startEngine = async (name: string, port: number, opts: { env?: string[]; model?: string } = {}) => {
    const envArgs = (opts.env ?? []).flatMap((e) => ['-e', e]);
    return docker([
      'run',
      '-d',
      '--runtime=nvidia',
      '--ipc=host',
      '--net=host',
      '--name',
      name,
      '--label',
      'thorbench.sweep=sim-test',
      '--label',
      `thorbench.cell=${name}`,
      '--label',
      'thorbench.quantization=fp8',
      ...envArgs,
      '-v',
      '/data/models:/models',
      '--restart=no',
      'nvcr.io/nvidia/vllm:25.09-py3',
      'vllm',
      'serve',
      `/models/${opts.model ?? 'Qwen/Qwen3-8B-FP8'}`,
      '--served-model-name',
      'qwen3',
      '--port',
      String(port),
      '--gpu-memory-utilization',
      '0.8',
      '--max-model-len',
      '4096',
    ]);
  };
  const inspect = async (name: string): Promise<Inspect> => {
    const r = await docker(['inspect', name]);
    assert.equal(r.exitCode, 0, r.stderr);
    const parsed = JSON.parse(r.stdout) as Inspect[];
    assert.equal(parsed.length, 1);
    return parsed[0]!;
  };
  const waitExited = (name: string) =>
    waitFor(
      `${name} to exit`,
      async () => {
        const s = (await inspect(name)).State;
        return s.Status === 'exited' ? s : undefined;
      },
      WAIT_MS,
    );
  const logs = async (name: string) => (await docker(['logs', name])).stdout;

  before(() => {
    dir = tempDir('sim-docker');
    profile = simDeviceProfile(ensureSimDevice(dir, { speed: 20 }), path.join(dir, 'results'));
  });
  after(() => destroySimDevice(dir));

  it('runs an engine: inspect, /health, /v1/models, streaming with ignore_eos, rm -f leaves no process', async () => {
    const port = await freePort();
    const run = await startEngine('tb-happy', port);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /^[0-9a-f]{64}\n$/);

    const info = await inspect('tb-happy');
    assert.equal(info.Id, run.stdout.trim());
    assert.equal(info.Name, '/tb-happy');
    assert.equal(info.State.Status, 'running');
    assert.equal(info.State.Running, true);
    assert.ok(info.State.Pid > 0);
    assert.equal(info.Config.Labels['thorbench.simulated'], 'true');
    assert.equal(info.Config.Labels['thorbench.sweep'], 'sim-test');
    assert.equal(info.Config.Image, 'nvcr.io/nvidia/vllm:25.09-py3');

    await waitForHealthy(port, WAIT_MS);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), '');
    const models = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as {
      object: string;
      data: { id: string; root: string; max_model_len: number; owned_by: string }[];
    };
    assert.equal(models.object, 'list');
    assert.deepEqual(
      models.data.map((m) => [m.id, m.root, m.max_model_len, m.owned_by]),
      [['qwen3', '/models/Qwen/Qwen3-8B-FP8', 4096, 'vllm']],
    );
    const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string };
    assert.match(version.version, /\+sim/);

    const sse = await postSse(`http://127.0.0.1:${port}/v1/completions`, {
      model: 'qwen3',
      prompt: Array.from({ length: 64 }, (_, i) => i + 1),
      max_tokens: 16,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(sse.status, 200);
    assert.equal(sse.sawDone, true);
    assert.ok(sse.raw.endsWith('data: [DONE]\n\n'));
    const tokenChunks = sse.events.filter((e) => (e.choices as unknown[]).length > 0);
    assert.equal(tokenChunks.length, 16);
    const finishes = tokenChunks.map((e) => (e.choices as { finish_reason: string | null }[])[0]!.finish_reason);
    assert.deepEqual(finishes, [...Array(15).fill(null), 'length']);
    const usage = sse.events.at(-1)!;
    assert.deepEqual(usage.choices, []);
    assert.deepEqual(usage.usage, { prompt_tokens: 64, total_tokens: 80, completion_tokens: 16 });
    // vLLM 0.33's CompletionStreamResponse dumped with exclude_unset: these keys, in this order.
    assert.deepEqual(Object.keys(tokenChunks[0]!), [
      'id',
      'object',
      'created',
      'model',
      'choices',
      'kv_transfer_params',
    ]);
    assert.deepEqual(Object.keys((tokenChunks[0]!.choices as object[])[0]!), [
      'index',
      'text',
      'logprobs',
      'finish_reason',
      'stop_reason',
      'prompt_token_ids',
      'token_ids',
      'weight_versions',
    ]);

    // The tokenizer shared with vLLM's client: /tokenize and /detokenize round-trip, and text prompts count with it.
    const post = async (route: string, body: unknown) => {
      const r = await fetch(`http://127.0.0.1:${port}${route}`, { method: 'POST', body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const tok = await post('/tokenize', {
      model: 'qwen3',
      prompt: 'the  Thor module\nruns <|im_end|>zzz-not-a-word',
      add_special_tokens: false,
    });
    assert.equal(tok.status, 200);
    assert.deepEqual(tok.body, { count: 6, max_model_len: 4096, tokens: [4, 5, 6, 7, 3, 0], token_strs: null });
    const detok = await post('/detokenize', { model: 'qwen3', tokens: [4, 5, 6, 7] });
    assert.deepEqual(detok.body, { prompt: 'the Thor module runs' });
    assert.equal((await post('/detokenize', { model: 'qwen3', tokens: [999999] })).status, 400);
    assert.equal((await post('/tokenize', { model: 'other', prompt: 'x' })).status, 404);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^vllm:generation_tokens_total\{engine="0",model_name="qwen3"\} 16\.0$/m);
    assert.match(metrics, /^vllm:prompt_tokens_total\{engine="0",model_name="qwen3"\} 64\.0$/m);
    assert.match(
      metrics,
      /^vllm:request_success_total\{engine="0",model_name="qwen3",finished_reason="length"\} 1\.0$/m,
    );
    assert.match(metrics, /^vllm:time_to_first_token_seconds_count\{engine="0",model_name="qwen3"\} 1\.0$/m);
    assert.match(metrics, /^vllm:inter_token_latency_seconds_count\{engine="0",model_name="qwen3"\} 15\.0$/m);

    const plain = (await (
      await fetch(`http://127.0.0.1:${port}/v1/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'qwen3', prompt: 'hello simulated Thor', max_tokens: 5, ignore_eos: true }),
      })
    ).json()) as {
      choices: { text: string; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    assert.equal(plain.usage.prompt_tokens, 3);
    assert.equal(plain.usage.completion_tokens, 5);
    assert.equal(plain.choices[0]!.finish_reason, 'length');

    const unknown = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'other', prompt: 'x' }),
    });
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), {
      error: { message: 'The model `other` does not exist.', type: 'NotFoundError', param: null, code: 404 },
    });

    const log = await logs('tb-happy');
    assert.match(log, /Starting vLLM API server \(simulated Thor\)/);
    assert.match(log, /Application startup complete\./);
    assert.match(log, /\[thorbench simulator\]/);
    const tail = await docker(['logs', '--tail', '2', 'tb-happy']);
    assert.equal(tail.stdout.split('\n').filter(Boolean).length, 2);

    const ps = await docker(['ps', '-a', '--filter', 'label=thorbench.sweep=sim-test', '--format', '{{.Names}}']);
    assert.ok(ps.stdout.split('\n').includes('tb-happy'));

    const rm = await docker(['rm', '-f', 'tb-happy']);
    assert.equal(rm.stdout, 'tb-happy\n');
    assert.notEqual(processState(info.State.Pid), 'running', 'the engine process is gone after rm -f');
    const gone = await docker(['inspect', 'tb-happy']);
    assert.equal(gone.exitCode, 1);
    assert.equal(gone.stdout, '[]\n');
    assert.equal(gone.stderr, 'Error: No such object: tb-happy\n');
    const again = await docker(['rm', '-f', 'tb-happy']);
    assert.equal(again.exitCode, 1);
    assert.equal(again.stderr, 'Error response from daemon: No such container: tb-happy\n');
  });

  it('refuses a second container with the same name, like docker', async () => {
    const port = await freePort();
    const first = await startEngine('tb-dup', port);
    const second = await startEngine('tb-dup', port);
    assert.equal(second.exitCode, 125);
    assert.ok(
      second.stderr.startsWith(
        `docker: Error response from daemon: Conflict. The container name "/tb-dup" is already in use by container "${first.stdout.trim()}".`,
      ),
      second.stderr,
    );
    await docker(['rm', '-f', 'tb-dup']);
  });

  it('crash-on-load: exits 1 during load with a traceback', async () => {
    await startEngine('tb-crash-load', await freePort(), { env: ['THORBENCH_SIM_FAULT=crash-on-load'] });
    const s = await waitExited('tb-crash-load');
    assert.equal(s.ExitCode, 1);
    assert.equal(s.OOMKilled, false);
    assert.equal(s.Running, false);
    assert.notEqual(s.FinishedAt, '0001-01-01T00:00:00Z');
    const log = await logs('tb-crash-load');
    assert.match(log, /EngineCore failed to start\./);
    assert.match(log, /RuntimeError: Engine core initialization failed/);
    assert.doesNotMatch(log, /Application startup complete/);
  });

  it('oom-on-load: killed with exit 137 and OOMKilled', async () => {
    await startEngine('tb-oom', await freePort(), { env: ['THORBENCH_SIM_FAULT=oom-on-load'] });
    const s = await waitExited('tb-oom');
    assert.equal(s.ExitCode, 137);
    assert.equal(s.OOMKilled, true);
    assert.match(await logs('tb-oom'), /fault oom-on-load/);
  });

  it('crash-on-first-request: healthy, then dies with a CUDA error on the first completion', async () => {
    const port = await freePort();
    await startEngine('tb-crash-req', port, { env: ['THORBENCH_SIM_FAULT=crash-on-first-request'] });
    await waitForHealthy(port, WAIT_MS);
    assert.equal((await inspect('tb-crash-req')).State.Status, 'running');
    const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'qwen3', prompt: [1, 2, 3], max_tokens: 4, stream: true }),
    });
    assert.equal(res.status, 500);
    await res.arrayBuffer();
    const s = await waitExited('tb-crash-req');
    assert.equal(s.ExitCode, 1);
    assert.equal(s.OOMKilled, false);
    const log = await logs('tb-crash-req');
    assert.match(log, /CUDA error: no kernel image is available for execution on the device/);
    assert.match(log, /EngineDeadError/);
  });

  it('never-healthy: stays up while /health answers 503', async () => {
    const port = await freePort();
    await startEngine('tb-unhealthy', port, { env: ['THORBENCH_SIM_FAULT=never-healthy'] });
    const status = await waitFor(
      'the port to answer',
      async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/health`)).status;
        } catch {
          return undefined;
        }
      },
      WAIT_MS,
    );
    assert.equal(status, 503);
    assert.equal((await inspect('tb-unhealthy')).State.Status, 'running');
    await docker(['rm', '-f', 'tb-unhealthy']);
  });

  it('device faults: a missing model fails to load; an engine fault by model path', async () => {
    writeSimFaults(dir, { missingModels: ['Qwen/Missing-8B'], engineFaults: { 'Qwen/Qwen3-8B-FP4': 'crash-on-load' } });
    try {
      await startEngine('tb-missing', await freePort(), { model: 'Qwen/Missing-8B' });
      await startEngine('tb-fp4', await freePort(), { model: 'Qwen/Qwen3-8B-FP4' });
      assert.equal((await waitExited('tb-missing')).ExitCode, 1);
      assert.match(
        await logs('tb-missing'),
        /Invalid repository ID or local directory specified: '\/models\/Qwen\/Missing-8B'/,
      );
      assert.equal((await waitExited('tb-fp4')).ExitCode, 1);
      assert.match(await logs('tb-fp4'), /EngineCore failed to start/);
    } finally {
      writeSimFaults(dir, {});
    }
  });

  it('an engine that vanishes without recording an exit shows as exited 137', async () => {
    const port = await freePort();
    await startEngine('tb-killed', port);
    await waitForHealthy(port, WAIT_MS);
    const pid = (await inspect('tb-killed')).State.Pid;
    // kill(-0) would be this test's own process group (the test runner with it): only a real engine pid is killed.
    assert.ok(pid > 0, `tb-killed has a running engine (State.Pid ${pid})`);
    process.kill(-pid, 'SIGKILL');
    const s = await waitExited('tb-killed');
    assert.equal(s.ExitCode, 137);
    assert.equal(s.OOMKilled, false);
  });

  it('a simulated reboot kills running engines and leaves their containers exited', async () => {
    const port = await freePort();
    await startEngine('tb-reboot', port);
    await waitForHealthy(port, WAIT_MS);
    const pid = (await inspect('tb-reboot')).State.Pid;
    // The simulated device's power button: thorbench itself never runs reboot (nvpmodel does, after YES).
    await runDevice(profile, [path.join(ensureSimDevice(dir).binDir, 'reboot')], { timeoutMs: WAIT_MS });
    const s = (await inspect('tb-reboot')).State;
    assert.equal(s.Status, 'exited');
    assert.notEqual(processState(pid), 'running');
    const running = listSimContainers(dir).filter((c) => c.status === 'running');
    assert.deepEqual(
      running.map((c) => c.name),
      [],
    );
  });

  it("docker exec runs vllm bench serve (the stand-in) with real load and writes vLLM 0.33's JSON and block", async () => {
    const port = await freePort();
    await startEngine('tb-bench', port);
    await waitForHealthy(port, WAIT_MS);
    // The command line thorbench's vllm harness runs, with the percentiles and SLO kinds of a real vLLM 0.33 capture.
    const argv = benchServeArgv({
      port,
      servedName: 'qwen3',
      tokenizer: '/models/Qwen/Qwen3-8B-FP8',
      inputLen: 64,
      outputLen: 8,
      numPrompts: 6,
      maxConcurrency: 2,
      seed: 3,
      percentiles: [50, 90, 95, 99.9],
      goodput: { ttft: 10000, tpot: 1000, e2el: 100000 },
      resultFile: 'cell.json',
    });
    const r = await docker(['exec', 'tb-bench', ...argv]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Starting main benchmark run\.\.\./);
    assert.match(r.stdout, /^============ Serving Benchmark Result ============$/m);
    assert.match(r.stdout, /^Successful requests: {21}6 {9}$/m);
    assert.match(r.stdout, /^-{5}Time per Output Token \(excl\. 1st token\)-{6}$/m);
    assert.match(r.stdout, /^P99\.9 ITL \(ms\): +[0-9.]+ +$/m);
    assert.match(r.stderr, /100%\|█{10}\| 6\/6 \[/);

    const cat = await docker(['exec', 'tb-bench', 'cat', '/tmp/thorbench-results/cell.json']);
    assert.equal(cat.exitCode, 0, cat.stderr);
    const result = JSON.parse(cat.stdout) as Record<string, unknown>;
    // vLLM 0.33's --save-detailed keys for these flags, in its order: those of the real client's file.
    const real = repoJson('fixtures', 'vllm-0.33-client-slo', 'slo-c8.save-detailed.json') as Record<string, unknown>;
    assert.deepEqual(Object.keys(result), Object.keys(real));
    assert.equal(result.completed, 6);
    assert.equal(result.total_input_tokens, 6 * 64);
    assert.equal(result.total_output_tokens, 6 * 8);
    assert.equal(result.request_rate, 'inf');
    assert.equal(result.max_concurrency, 2);
    assert.equal((result.itls as number[][]).length, 6);
    assert.ok((result.itls as number[][]).every((gaps) => gaps.length === 7));
    assert.ok((result.ttfts as number[]).every((t) => t > 0));
    assert.ok((result.generated_texts as string[]).every((t) => t.split(' ').filter(Boolean).length === 8));
    assert.equal(result.request_goodput, (result.completed as number) / (result.duration as number));

    const missing = await docker(['exec', 'tb-bench', 'cat', '/tmp/nothing.json']);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /No such file/);
    const unknown = await docker(['exec', 'tb-bench', 'nvidia-smi']);
    assert.equal(unknown.exitCode, 127);
    assert.match(unknown.stderr, /executable file not found/);
    const otherPython = await docker(['exec', 'tb-bench', 'python3', '-c', 'print(1)']);
    assert.equal(otherPython.exitCode, 2);
    assert.match(otherPython.stderr, /runs only the vllm harness reap program/);
    const badArgs = await docker([
      'exec',
      'tb-bench',
      'vllm',
      'bench',
      'serve',
      '--model',
      'qwen3',
      '--dataset-name',
      'sharegpt',
    ]);
    assert.equal(badArgs.exitCode, 2);
    assert.match(badArgs.stderr, /random only/);
    await docker(['rm', '-f', 'tb-bench']);
    const removed = await docker(['exec', 'tb-bench', 'cat', '/tmp/thorbench-results/cell.json']);
    assert.equal(removed.exitCode, 1);
    assert.match(removed.stderr, /No such container/);
  });

  it('docker exec: the benchmark outlives its client (a killed worker) until the reap program or a reboot ends it', async () => {
    const port = await freePort();
    await startEngine('tb-orphan', port);
    await waitForHealthy(port, WAIT_MS);
    const layout = simLayout(dir);
    const orphanBenchmark = async (): Promise<number> => {
      // A parent that starts `docker exec ... vllm bench serve` with a long run, prints the client's pid and exits.
      const script = `const { spawn } = require('node:child_process');
        const c = spawn(process.argv[1], ['exec', 'tb-orphan', 'vllm', 'bench', 'serve', '--model', 'qwen3', '--base-url',
          'http://127.0.0.1:${port}', '--random-input-len', '16', '--random-output-len', '2000', '--num-prompts', '50',
          '--max-concurrency', '1', '--ignore-eos'], { stdio: 'ignore' });
        console.log(c.pid); setTimeout(() => process.exit(0), 1500);`;
      const parent = await run([process.execPath, '-e', script, profile.commands.docker], {
        timeoutMs: WAIT_MS,
        env: profile.env,
      });
      const client = Number(parent.stdout.trim());
      assert.ok(client > 0);
      await waitFor(
        'the orphaned docker client to end',
        () => processState(client) !== 'running' || undefined,
        WAIT_MS,
      );
      const [exec] = liveExecs(layout).filter((p) => p.containerName === 'tb-orphan');
      assert.ok(exec, 'what docker exec started keeps running without its client');
      return exec.pid;
    };

    const first = await orphanBenchmark();
    const reap = await docker(['exec', 'tb-orphan', ...REAP_ARGV]);
    assert.equal(reap.exitCode, 0, reap.stderr);
    assert.deepEqual(parseReapOutput(reap.stdout), { found: [first], killed: [], left: [] });
    assert.notEqual(processState(first), 'running');
    const nothingLeft = await docker(['exec', 'tb-orphan', ...REAP_ARGV]);
    assert.deepEqual(parseReapOutput(nothingLeft.stdout), { found: [], killed: [], left: [] });

    const second = await orphanBenchmark();
    await runDevice(profile, [path.join(ensureSimDevice(dir).binDir, 'reboot')], { timeoutMs: WAIT_MS });
    assert.notEqual(processState(second), 'running', 'a reboot ends what docker exec started');
    assert.deepEqual(liveExecs(layout), []);
  });

  it('leaves no engine process behind', async () => {
    for (const c of listSimContainers(dir)) await docker(['rm', '-f', c.name]);
    assert.deepEqual(listSimContainers(dir), []);
    assert.deepEqual(
      listSimContainers(dir)
        .filter((c) => processState(c.pid) === 'running' && c.status === 'running')
        .map((c) => c.name),
      [],
    );
  });
});

describe('LiveEngine timing', () => {
  it('re-reads the step parameters at every step (a clocks change takes effect mid-request)', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let now = 0;
      let locked = false;
      const engine = new LiveEngine({
        params: () => ({
          stepBaseMs: locked ? 10 : 20,
          decodePerSeqMs: 0,
          batchExponent: 1,
          prefillMsPerToken: 0,
          frontEndMs: 0,
          eagerStepMs: 0,
          contextWeight: 0.5,
        }),
        speed: () => 2,
        jitter: () => 1,
        now: () => now,
        onActivity: () => {},
        maxNumSeqs: 16,
        maxNumBatchedTokens: 8192,
      });
      const at: number[] = [];
      engine.submit({ promptTokens: 8, maxTokens: 4, eosAfter: Infinity }, () => at.push(now));
      const advance = (ms: number): void => {
        now += ms;
        mock.timers.tick(ms);
      };
      advance(10); // first step: 20 ms / speed 2
      assert.deepEqual(at, [10]);
      locked = true; // the next step is built with the new parameters...
      advance(10); // ...but the step already scheduled keeps its 10 ms
      assert.deepEqual(at, [10, 20]);
      advance(5);
      assert.deepEqual(at, [10, 20, 25]);
      advance(5);
      assert.deepEqual(at, [10, 20, 25, 30]);
      assert.equal(engine.inFlight, 0);
    } finally {
      mock.timers.reset();
    }
  });
});
