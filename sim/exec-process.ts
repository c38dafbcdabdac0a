/**
 * The process `docker exec <container> vllm bench serve ...` starts inside a simulated container
 * (sim/commands/docker-exec.ts starts it detached: `node exec-process.js <name> <id> vllm bench serve ...`).
 *
 * As on a real Docker host it outlives the docker client that started it: once the client is gone its output has
 * nowhere to go and is dropped (the daemon drains it), while it keeps loading the engine. It ends when its command
 * does, on SIGTERM (the harness's reap, activities/harness/reap-bench.ts), or SIGKILLed when its container stops
 * (`docker rm -f`, a reboot: sim/container-exec.ts; or the engine dying, which it watches for).
 *
 * It runs vLLM's real client when the device is configured with one (THORBENCH_SIM_VLLM_CLIENT, the path of a
 * `vllm` executable, set through the device profile), else the stand-in in sim/vllm-bench-standin.ts; either way
 * real requests to the simulated engine.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { deviceFromEnv } from './commands/cli.js';
import type { CommandIO } from './commands/cli.js';
import { isBenchServe, registerSelfAsExec, unregisterExec } from './container-exec.js';
import { SIM_VLLM_CLIENT_ENV, containerHostPath } from './commands/docker-exec.js';
import { isContainerProcessAlive } from './containers.js';
import type { SimLayout } from './layout.js';
import { signalGroup } from './process-util.js';
import { type SimContainer, readContainerRecord, readDeviceState } from './sim-state.js';
import { SIM_TOKENIZER_DIR } from './tokenizer.js';
import { runBenchServeStandIn } from './vllm-bench-standin.js';

/** How often the process checks that its container still runs. */
const CONTAINER_CHECK_MS = 250;

/**
 * Writes to the docker client while it is there; once it is gone (EPIPE), output is dropped, as the Docker daemon
 * drains an exec'd process's output with no client attached.
 */
function detachableIO(): CommandIO {
  let clientGone = false;
  const write = (stream: NodeJS.WriteStream, text: string) => {
    if (clientGone) return;
    try {
      stream.write(text);
    } catch {
      clientGone = true;
    }
  };
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => (clientGone = true));
  return {
    out: (text) => write(process.stdout, text),
    err: (text) => write(process.stderr, text),
    readLine: () => '',
  };
}

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

/** `--tokenizer` and `--result-dir` point into the container; map them to the host for a real client. */
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

/** `vllm bench serve ARGS` in container `c`: the real client or the stand-in, ended early by `signal`. */
function benchServe(args: string[], c: SimContainer, layout: SimLayout, io: CommandIO, signal: AbortSignal) {
  const client = process.env[SIM_VLLM_CLIENT_ENV];
  const portArgs = containerPortArgs(args, readDeviceState(layout).enginePortOffset ?? 0);
  if (client) return runRealClient(client, hostArgs(portArgs, c, layout), c, layout, io, signal);
  return runBenchServeStandIn(portArgs, io, (p) => containerHostPath(layout, c.name, p), signal);
}

async function main(argv: string[]): Promise<void> {
  const [name, id, ...command] = argv;
  const device = deviceFromEnv(process.env);
  if ('problem' in device) throw new Error(device.problem);
  const { layout } = device;
  const container = name === undefined ? undefined : readContainerRecord(layout, name);
  if (!container || container.id !== id || !isBenchServe(command))
    throw new Error(`usage: exec-process.js <container name> <container id> vllm bench serve ...`);
  registerSelfAsExec(layout, container.id, container.name, command);
  const io = detachableIO();
  const controller = new AbortController();
  process.on('SIGTERM', () => controller.abort(new Error('SIGTERM')));
  // Docker SIGKILLs what runs in a container when the container stops.
  const watch = setInterval(() => {
    const current = readContainerRecord(layout, container.name);
    if (current?.id === container.id && current.status === 'running' && isContainerProcessAlive(current)) return;
    unregisterExec(layout, process.pid);
    signalGroup(process.pid, 'SIGKILL');
  }, CONTAINER_CHECK_MS);
  watch.unref();
  try {
    process.exitCode = await benchServe(command.slice(3), container, layout, io, controller.signal);
  } finally {
    clearInterval(watch);
    unregisterExec(layout, process.pid);
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`thorbench simulator (docker exec): ${err.message}\n`);
  process.exitCode = 1;
});
