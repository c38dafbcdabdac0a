/**
 * `docker exec [-i] [-t] [-e K=V] [-w DIR] CONTAINER COMMAND...` on the simulated Thor. A simulated container has
 * no image file system, so exec knows the commands thorbench's vllm harness runs in a vLLM container:
 * - `vllm bench serve ...`: started as a process of the container (sim/exec-process.ts) whose output and exit code
 *   this client relays. Like a real Docker exec it outlives its client: a worker SIGKILLed mid-benchmark leaves it
 *   loading the engine, until the harness's reap, `docker rm -f` or a reboot ends it (sim/container-exec.ts);
 * - `python3 -c <the harness's reap program>` (activities/harness/reap-bench.ts, recognised exactly): ends the
 *   container's exec'd `vllm bench serve` processes as the program does and prints its report line;
 * - `cat FILE`: reads a file the benchmark wrote.
 * Paths inside a container live under `<device dir>/container-fs/<name>/`. The model directory is not there (no
 * weights): `--tokenizer /models/...` is served by the tokenizer the simulated engine uses (sim/tokenizer/).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatReapLine, REAP_GRACE_S, REAP_PROGRAM } from '../../activities/harness/reap-bench.js';
import { isBenchServe, reapBenchServe } from '../container-exec.js';
import { findContainer } from '../containers.js';
import { EXEC_PROCESS_JS, type SimLayout } from '../layout.js';
import type { SimContainer } from '../sim-state.js';
import type { CommandIO } from './cli.js';
import { noSuchContainer, usageError } from './docker-common.js';

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

/**
 * The docker client ends when the process that ran it is gone (a worker SIGKILLed mid-benchmark): the real one dies
 * of SIGPIPE at its next write to the gone worker. What it started in the container keeps running.
 */
function endWithParent(): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) process.exit(128 + os.constants.signals.SIGPIPE);
  }, 250);
  timer.unref();
}

/** Runs `command` as a process of container `c` and relays its output and exit code (137 when SIGKILLed). */
function execInContainer(command: string[], c: SimContainer, io: CommandIO): Promise<number> {
  endWithParent();
  return new Promise((resolve) => {
    // Detached: its own process group, which neither this client's end nor its caller's kill reaches.
    const child = spawn(process.execPath, [EXEC_PROCESS_JS, c.name, c.id, ...command], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => io.out(d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => io.err(d.toString('utf8')));
    child.on('error', (err) => {
      io.err(`thorbench simulator: cannot start ${EXEC_PROCESS_JS} in ${c.name}: ${err.message}\n`);
      resolve(126);
    });
    child.on('close', (code, sig) => resolve(code ?? (sig ? 128 + os.constants.signals[sig] : 1)));
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
  if (isBenchServe(command)) return execInContainer(command, c, io);
  if (cmd === 'python3') {
    if (rest.length !== 2 || rest[0] !== '-c' || rest[1] !== REAP_PROGRAM) {
      io.err('thorbench simulator: python3 in a simulated container runs only the vllm harness reap program\n');
      return 2;
    }
    io.out(formatReapLine(reapBenchServe(layout, c.id, REAP_GRACE_S * 1000)));
    return 0;
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
