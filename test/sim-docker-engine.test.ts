/**
 * The fake docker and the simulated vLLM engine, driven through activities/exec.ts with a simulated profile:
 * container lifecycle, the OpenAI-compatible API, every fault, and truthful `docker inspect` state.
 * The device runs at speed 20 so loads take ~0.1 s; nothing here asserts on how long things take.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import type { DeviceProfile } from '../activities/device-profile.js';
import { runDevice, runPrivileged } from '../activities/exec.js';
import { ensureSimDevice, listSimContainers, simDeviceProfile, writeSimFaults } from '../sim/device.js';
import { LiveEngine } from '../sim/live-engine.js';
import { processState } from '../sim/process-util.js';
import { destroySimDevice, freePort, postSse, waitFor, waitForHealthy } from '../sim/test-support.js';

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
  const docker = (args: string[], input?: string) => runDevice(profile, [profile.commands.docker, ...args], { timeoutMs: WAIT_MS, allowFailure: true, input });

  const startEngine = async (name: string, port: number, opts: { env?: string[]; model?: string } = {}) => {
    const envArgs = (opts.env ?? []).flatMap((e) => ['-e', e]);
    return docker([
      'run', '-d', '--runtime=nvidia', '--ipc=host', '--net=host', '--name', name,
      '--label', 'thorbench.sweep=sim-test', '--label', `thorbench.cell=${name}`, '--label', 'thorbench.quantization=fp8',
      ...envArgs, '-v', '/data/models:/models', '--restart=no',
      'nvcr.io/nvidia/vllm:25.09-py3', 'vllm', 'serve', `/models/${opts.model ?? 'Qwen/Qwen3-8B-FP8'}`,
      '--served-model-name', 'qwen3', '--port', String(port), '--gpu-memory-utilization', '0.8', '--max-model-len', '4096',
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
    waitFor(`${name} to exit`, async () => {
      const s = (await inspect(name)).State;
      return s.Status === 'exited' ? s : undefined;
    }, WAIT_MS);
  const logs = async (name: string) => (await docker(['logs', name])).stdout;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thorbench-sim-docker-'));
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
    const models = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as { object: string; data: { id: string; root: string; max_model_len: number; owned_by: string }[] };
    assert.equal(models.object, 'list');
    assert.deepEqual(models.data.map((m) => [m.id, m.root, m.max_model_len, m.owned_by]), [['qwen3', '/models/Qwen/Qwen3-8B-FP8', 4096, 'vllm']]);
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
    assert.deepEqual(usage.usage, { prompt_tokens: 64, total_tokens: 80, completion_tokens: 16, prompt_tokens_details: null });

    const plain = (await (await fetch(`http://127.0.0.1:${port}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'qwen3', prompt: 'hello simulated Thor', max_tokens: 5, ignore_eos: true }) })).json()) as {
      choices: { text: string; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    assert.equal(plain.usage.prompt_tokens, 3);
    assert.equal(plain.usage.completion_tokens, 5);
    assert.equal(plain.choices[0]!.finish_reason, 'length');

    const unknown = await fetch(`http://127.0.0.1:${port}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'other', prompt: 'x' }) });
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { object: 'error', message: 'The model `other` does not exist.', type: 'NotFoundError', param: null, code: 404 });

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
    assert.ok(second.stderr.startsWith(`docker: Error response from daemon: Conflict. The container name "/tb-dup" is already in use by container "${first.stdout.trim()}".`), second.stderr);
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
    const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'qwen3', prompt: [1, 2, 3], max_tokens: 4, stream: true }) });
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
    const status = await waitFor('the port to answer', async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/health`)).status;
      } catch {
        return undefined;
      }
    }, WAIT_MS);
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
      assert.match(await logs('tb-missing'), /Invalid repository ID or local directory specified: '\/models\/Qwen\/Missing-8B'/);
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
    process.kill(-pid, 'SIGKILL');
    const s = await waitExited('tb-killed');
    assert.equal(s.ExitCode, 137);
    assert.equal(s.OOMKilled, false);
  });

  it('docker stop ends the engine gracefully (exit 0)', async () => {
    const port = await freePort();
    await startEngine('tb-stop', port);
    await waitForHealthy(port, WAIT_MS);
    const stop = await docker(['stop', 'tb-stop']);
    assert.equal(stop.stdout, 'tb-stop\n');
    const s = (await inspect('tb-stop')).State;
    assert.equal(s.Status, 'exited');
    assert.equal(s.ExitCode, 0);
    assert.match(await logs('tb-stop'), /Application shutdown complete/);
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
    assert.deepEqual(running.map((c) => c.name), []);
  });

  it('says clearly that docker exec is not simulated', async () => {
    const r = await docker(['exec', 'tb-reboot', 'vllm', 'bench', 'serve']);
    assert.equal(r.exitCode, 125);
    assert.equal(r.stderr, 'thorbench simulator: docker exec is not simulated; use harness "builtin"\n');
  });

  it('leaves no engine process behind', async () => {
    for (const c of listSimContainers(dir)) await docker(['rm', '-f', c.name]);
    assert.deepEqual(listSimContainers(dir), []);
    assert.deepEqual(
      listSimContainers(dir).filter((c) => processState(c.pid) === 'running' && c.status === 'running').map((c) => c.name),
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
        params: () => ({ stepBaseMs: locked ? 10 : 20, decodePerSeqMs: 0, batchExponent: 1, prefillMsPerToken: 0, frontEndMs: 0, eagerStepMs: 0, contextWeight: 0.5 }),
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
