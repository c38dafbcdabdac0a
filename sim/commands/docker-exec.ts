/**
 * `docker exec [-i] [-t] [-e K=V] [-w DIR] CONTAINER COMMAND...` on the simulated Thor. A simulated container has
 * no image file system, so exec knows the commands thorbench's vllm harness runs in a vLLM container:
 * - `vllm bench serve ...`: vLLM's real client when the device is configured with one (THORBENCH_SIM_VLLM_CLIENT,
 *   the path of a `vllm` executable, set through the device profile), else the stand-in in
 *   sim/vllm-bench-standin.ts; either way real requests to the simulated engine;
 * - `cat FILE`: reads a file the benchmark wrote.
 * Paths inside a container live under `<device dir>/container-fs/<name>/`. The model directory is not there (no
 * weights): `--tokenizer /models/...` is served by the tokenizer the simulated engine uses (sim/tokenizer/).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findContainer } from '../containers.js';
import type { SimLayout } from '../layout.js';
import { type SimContainer, readDeviceState } from '../sim-state.js';
import { SIM_TOKENIZER_DIR } from '../tokenizer.js';
import { runBenchServeStandIn } from '../vllm-bench-standin.js';
import type { CommandIO } from './cli.js';
import { noSuchContainer, usageError } from './docker-common.js';

/**
 * Aborts when the process that ran `docker exec` is gone (a worker SIGKILLed mid-benchmark): the benchmark it
 * started must not keep loading the engine while the retried step benchmarks it again. (On a real device the
 * exec'd process outlives a killed docker client; the simulator keeps the device clean instead.)
 */
function parentGone(): AbortSignal {
  const controller = new AbortController();
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      controller.abort(new Error('the docker client that started this exec is gone'));
    }
  }, 250);
  timer.unref();
  return controller.signal;
}

/** Device setting: the `vllm` executable to run for `vllm bench serve` inside simulated containers. */
export const SIM_VLLM_CLIENT_ENV = 'THORBENCH_SIM_VLLM_CLIENT';

/** Where a path inside a simulated container lives on the host. */
export function containerHostPath(layout: SimLayout, container: string, inside: string): string {
  const normal = path.posix.normalize(path.posix.join('/', inside));
  return path.join(layout.dir, 'container-fs', container, normal);
}

function notFound(io: CommandIO, cmd: string): number {
  io.err(
    `OCI runtime exec failed: exec failed: unable to start container process: exec: "${cmd}": executable file not found in $PATH: unknown\n`,
  );
  return 127;
}

/** `--tokenizer` and `--result-dir` point into the container; map them to the host for a real client. */
/**
 * Inside a container, `--port N` and `--base-url http://127.0.0.1:N` reach the engine on the container's port N; a
 * simulated device of a fleet on one machine serves it on the host at N + its engine port offset (sim/device.ts).
 */
function containerPortArgs(args: string[], offset: number): string[] {
  if (offset === 0) return args;
  return args.map((a, i) => {
    const flag = args[i - 1];
    if (flag === '--port') return String(Number(a) + offset);
    if (flag === '--base-url') return a.replace(/:(\d+)(?=\/|$)/, (_, port: string) => `:${Number(port) + offset}`);
    return a;
  });
}

function hostArgs(args: string[], c: SimContainer, layout: SimLayout): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === '--tokenizer' || a === '--result-dir') && i + 1 < args.length) {
      const v = args[++i]!;
      out.push(
        a,
        a === '--tokenizer' && v.startsWith('/models/')
          ? SIM_TOKENIZER_DIR
          : v.startsWith('/')
            ? containerHostPath(layout, c.name, v)
            : v,
      );
    } else out.push(a);
  }
  return out;
}

function runRealClient(
  client: string,
  args: string[],
  c: SimContainer,
  layout: SimLayout,
  io: CommandIO,
  signal: AbortSignal,
): Promise<number> {
  const resultDir = args.indexOf('--result-dir');
  if (resultDir >= 0 && args[resultDir + 1]) fs.mkdirSync(args[resultDir + 1]!, { recursive: true });
  return new Promise((resolve) => {
    const child = spawn(client, ['bench', 'serve', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: containerHostPath(layout, c.name, '/'),
      env: { ...process.env, PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
    });
    child.stdout.on('data', (d: Buffer) => io.out(d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => io.err(d.toString('utf8')));
    child.on('error', (err) => {
      io.err(
        `thorbench simulator: cannot run the configured vLLM client ${client}: ${err.message} (${SIM_VLLM_CLIENT_ENV})\n`,
      );
      resolve(126);
    });
    signal.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
    child.on('close', (code, sig) => resolve(code ?? (sig ? 137 : 1)));
  });
}

export async function dockerExec(args: string[], layout: SimLayout, io: CommandIO): Promise<number> {
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-i' || a === '-t' || a === '-it' || a === '--interactive' || a === '--tty') continue;
    if (a === '-e' || a === '--env' || a === '-w' || a === '--workdir' || a === '-u' || a === '--user') {
      i++;
      continue;
    }
    if (a.startsWith('-')) return usageError(io, 'exec', `unknown flag: ${a}`);
    break;
  }
  const ref = args[i];
  const command = args.slice(i + 1);
  if (ref === undefined || command.length === 0)
    return usageError(io, 'exec', '"docker exec" requires at least 2 arguments.');
  const c = findContainer(layout, ref);
  if (!c) {
    noSuchContainer(io, ref);
    return 1;
  }
  if (c.status !== 'running') {
    io.err(`Error response from daemon: container ${c.id} is not running\n`);
    return 1;
  }
  fs.mkdirSync(containerHostPath(layout, c.name, '/'), { recursive: true });
  const [cmd, ...rest] = command;
  if (cmd === 'vllm' && rest[0] === 'bench' && rest[1] === 'serve') {
    const client = process.env[SIM_VLLM_CLIENT_ENV];
    const signal = parentGone();
    const args = containerPortArgs(rest.slice(2), readDeviceState(layout).enginePortOffset ?? 0);
    if (client) return runRealClient(client, hostArgs(args, c, layout), c, layout, io, signal);
    return runBenchServeStandIn(args, io, (p) => containerHostPath(layout, c.name, p), signal);
  }
  if (cmd === 'cat') {
    let status = 0;
    for (const file of rest) {
      try {
        io.out(fs.readFileSync(containerHostPath(layout, c.name, file), 'utf8'));
      } catch {
        io.err(`cat: ${file}: No such file or directory\n`);
        status = 1;
      }
    }
    return status;
  }
  return notFound(io, cmd!);
}
